/**
 * The incremental, time-indexed model behind both modes. Records are appended in true-time
 * order (a replay loads a whole file, a live session appends as events arrive); the head state
 * and the journal are folded as they come. Every `keyframeEvery` records a clone of the state is
 * kept, so the state at any earlier instant t is: the last keyframe at or before t, cloned, plus
 * at most keyframeEvery records folded forward (RaftScope-style scrubbing). Playing forward reuses
 * the last seek result, so a replay playing at speed folds each record once.
 *
 * Bounds: at most recordsMax records are kept; past that the oldest half (and its keyframes) is
 * dropped, so a long live session cannot be scrubbed back to its very beginning.
 */
import { applyRecord } from './apply-record.js'
import { type ClusterState, cloneClusterState, createClusterState } from './cluster-state.js'
import { DEFAULT_JOURNAL_LIMITS, Journal, type JournalLimits, upperBound } from './journal.js'
import type { TraceRecord } from './trace-record.js'

export interface TraceModelOptions {
  /**
   * Least records between keyframes; the actual spacing is max(keyframeEvery, 16 × nodes), so
   * a keyframe (one clone per node) costs at most 1/16 of the records it spans. Default 4000:
   * a seek folds at most max(4000, 16 × nodes) records (measured ~3 ms at 1000 nodes).
   * Smaller = faster scrubbing, more memory.
   */
  keyframeEvery: number
  /** The 16 in max(keyframeEvery, 16 × nodes); 0 = a fixed spacing (tests). */
  keyframeNodesFactor: number
  /** Records kept in memory (default 4 000 000, ~1 GB of parsed records at worst). */
  recordsMax: number
  journal: JournalLimits
}

export const DEFAULT_TRACE_MODEL_OPTIONS: TraceModelOptions = {
  keyframeEvery: 4000,
  keyframeNodesFactor: 16,
  recordsMax: 4_000_000,
  journal: DEFAULT_JOURNAL_LIMITS,
}

interface Keyframe {
  /** Number of records folded into `state`. */
  readonly index: number
  readonly state: ClusterState
}

export class TraceModel {
  readonly options: TraceModelOptions
  readonly journal: Journal
  /** The state after every record so far (what a live view shows). */
  readonly head: ClusterState = createClusterState()
  private records: TraceRecord[] = []
  private keyframes: Keyframe[] = [{ index: 0, state: createClusterState() }]
  private cursor: Keyframe | null = null
  /** Records that arrived with a trueMs earlier than the last one (clamped to keep the order). */
  outOfOrder = 0
  /** Records dropped from the front to stay under recordsMax. */
  droppedRecords = 0

  constructor(options: Partial<TraceModelOptions> = {}) {
    this.options = { ...DEFAULT_TRACE_MODEL_OPTIONS, ...options }
    this.journal = new Journal(this.options.journal)
  }

  get size(): number {
    return this.records.length
  }

  get startMs(): number {
    return this.records[0]?.trueMs ?? 0
  }

  get endMs(): number {
    return this.records[this.records.length - 1]?.trueMs ?? 0
  }

  append(record: TraceRecord): void {
    let r = record
    const last = this.records[this.records.length - 1]
    if (last && r.trueMs < last.trueMs) {
      this.outOfOrder++
      r = { ...r, trueMs: last.trueMs }
    }
    this.records.push(r)
    applyRecord(this.head, r, this.journal)
    const lastKeyframe = this.keyframes[this.keyframes.length - 1]!.index
    const spacing = Math.max(
      this.options.keyframeEvery,
      this.options.keyframeNodesFactor * this.head.nodes.size,
    )
    if (this.records.length - lastKeyframe >= spacing) {
      this.keyframes.push({ index: this.records.length, state: cloneClusterState(this.head) })
    }
    if (this.records.length > this.options.recordsMax) this.dropOldest()
  }

  /** Ends a replay load: flushes the open chart bucket. */
  finish(): void {
    this.journal.flush()
  }

  /**
   * The state after every record with trueMs ≤ t. The result is shared: read it, never mutate it.
   */
  stateAt(tMs: number): ClusterState {
    const target = upperBound(this.records, tMs)
    if (target === this.records.length) return this.head
    let from: Keyframe = this.keyframes[0]!
    for (let lo = 0, hi = this.keyframes.length - 1; lo <= hi; ) {
      const mid = (lo + hi) >>> 1
      const k = this.keyframes[mid]!
      if (k.index <= target) {
        from = k
        lo = mid + 1
      } else {
        hi = mid - 1
      }
    }
    const cursor = this.cursor
    let state: ClusterState
    let index: number
    if (cursor && cursor.index >= from.index && cursor.index <= target) {
      state = cursor.state
      index = cursor.index
    } else {
      state = cloneClusterState(from.state)
      index = from.index
    }
    for (; index < target; index++) applyRecord(state, this.records[index]!, null)
    this.cursor = { index, state }
    return state
  }

  private dropOldest(): void {
    const half = Math.floor(this.records.length / 2)
    const keep = this.keyframes.filter((k) => k.index >= half)
    const first = keep[0]
    if (!first) return
    const cut = first.index
    this.records = this.records.slice(cut)
    this.keyframes = keep.map((k) => ({ index: k.index - cut, state: k.state }))
    this.cursor = null
    this.droppedRecords += cut
  }
}
