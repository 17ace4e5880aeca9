/**
 * The append-only side of the model: the timeline (leader changes, elections, suspicions,
 * deaths, joins, leaves, faults, failovers with their measured duration) and the chart series
 * (failover durations, messages per second cluster-wide and for the busiest node, members by
 * state over time). Entries are appended in true-time order, so "everything up to t" is a binary
 * search; the replay index builds the journal once and every scrub position reads a prefix of it.
 * Every array is bounded (oldest entries dropped first) so a long live session stays bounded.
 */
import type { FailoverScope, MemberCounts } from './cluster-state.js'
import type { NodeId } from './trace-record.js'

export type TimelineKind =
  | 'global-leader'
  | 'shard-leader'
  | 'election'
  | 'failover'
  | 'suspect'
  | 'dead'
  | 'left'
  | 'join'
  | 'rejoin'
  | 'refute'
  | 'fault'
  | 'shardmap'
  | 'lease-end'

export interface TimelineEntry {
  readonly trueMs: number
  readonly kind: TimelineKind
  /** 1 = cluster-level (global leader, failover, fault, death); 2 = shard- or member-level. */
  readonly level: 1 | 2
  readonly node: NodeId | null
  readonly text: string
  readonly durationMs?: number
}

export interface FailoverEntry {
  /** When every live node knew the new leader (the end of the failover). */
  readonly trueMs: number
  readonly scope: FailoverScope
  readonly shard: number | null
  readonly durationMs: number
  /** From the first sign of loss until the new leader was elected. */
  readonly electedAfterMs: number
  readonly oldLeader: NodeId | null
  readonly newLeader: NodeId
  readonly cause: string
}

export interface MembersPoint extends MemberCounts {
  readonly trueMs: number
}

export interface RatePoint {
  /** Start of the one-second bucket. */
  readonly trueMs: number
  /** Messages per second, all nodes together. */
  readonly clusterPerSec: number
  /** Messages per second of the busiest node in the bucket. */
  readonly busiestPerSec: number
  readonly busiestNode: NodeId | null
}

/** Where the reducer writes what it noticed (null when re-folding during a seek). */
export interface JournalSink {
  timeline(entry: TimelineEntry): void
  failover(entry: FailoverEntry): void
  /** Called with the counts just before the record at trueMs is folded in. */
  advance(trueMs: number, counts: MemberCounts): void
  netSample(trueMs: number, node: NodeId, msgs: number, windowMs: number): void
}

export interface JournalLimits {
  /** Timeline entries kept (default 100 000; a 1000-node bootstrap writes ~1 per node). */
  timelineMax: number
  /** Points kept per chart series (default 36 000 = 10 h at one point per second). */
  seriesMax: number
  /** Spacing of the members-by-state samples (default 1000 ms). */
  sampleEveryMs: number
}

export const DEFAULT_JOURNAL_LIMITS: JournalLimits = {
  timelineMax: 100_000,
  seriesMax: 36_000,
  sampleEveryMs: 1000,
}

function pushBounded<T>(array: T[], item: T, max: number): void {
  array.push(item)
  if (array.length > max) array.splice(0, array.length - max)
}

/** Index of the first element with trueMs > t (so `slice(0, i)` is everything up to t). */
export function upperBound(array: readonly { trueMs: number }[], t: number): number {
  let lo = 0
  let hi = array.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (array[mid]!.trueMs <= t) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class Journal implements JournalSink {
  readonly timelineEntries: TimelineEntry[] = []
  readonly failovers: FailoverEntry[] = []
  readonly members: MembersPoint[] = []
  readonly rates: RatePoint[] = []
  private nextSampleMs: number | null = null
  private bucketStartMs: number | null = null
  /** Per node in the open one-second bucket: messages and the window they were counted over. */
  private bucketNodes = new Map<NodeId, { msgs: number; windowMs: number }>()

  constructor(readonly limits: JournalLimits = DEFAULT_JOURNAL_LIMITS) {}

  timeline(entry: TimelineEntry): void {
    pushBounded(this.timelineEntries, entry, this.limits.timelineMax)
  }

  failover(entry: FailoverEntry): void {
    pushBounded(this.failovers, entry, this.limits.seriesMax)
  }

  advance(trueMs: number, counts: MemberCounts): void {
    const every = this.limits.sampleEveryMs
    if (this.nextSampleMs === null) this.nextSampleMs = Math.floor(trueMs / every) * every
    // One sample per period; a long quiet gap is drawn as two points (before and after), not thousands.
    if (trueMs >= this.nextSampleMs) {
      pushBounded(this.members, { trueMs: this.nextSampleMs, ...counts }, this.limits.seriesMax)
      const skipped = Math.floor((trueMs - this.nextSampleMs) / every)
      if (skipped > 1) {
        pushBounded(
          this.members,
          { trueMs: this.nextSampleMs + skipped * every, ...counts },
          this.limits.seriesMax,
        )
      }
      this.nextSampleMs += (skipped + 1) * every
    }
    this.closeBucketBefore(trueMs)
  }

  netSample(trueMs: number, node: NodeId, msgs: number, windowMs: number): void {
    this.closeBucketBefore(trueMs)
    if (this.bucketStartMs === null) this.bucketStartMs = Math.floor(trueMs / 1000) * 1000
    const acc = this.bucketNodes.get(node) ?? { msgs: 0, windowMs: 0 }
    acc.msgs += msgs
    acc.windowMs += windowMs
    this.bucketNodes.set(node, acc)
  }

  /** Flushes the open message-rate bucket (end of a replay, or a live tick). */
  flush(): void {
    this.closeBucketBefore(Number.POSITIVE_INFINITY)
  }

  private closeBucketBefore(trueMs: number): void {
    if (this.bucketStartMs === null || trueMs < this.bucketStartMs + 1000) return
    let cluster = 0
    let busiest = 0
    let busiestNode: NodeId | null = null
    for (const [node, acc] of this.bucketNodes) {
      const rate = acc.windowMs > 0 ? (acc.msgs * 1000) / acc.windowMs : 0
      cluster += rate
      if (rate > busiest) {
        busiest = rate
        busiestNode = node
      }
    }
    pushBounded(
      this.rates,
      { trueMs: this.bucketStartMs, clusterPerSec: cluster, busiestPerSec: busiest, busiestNode },
      this.limits.seriesMax,
    )
    this.bucketStartMs = null
    this.bucketNodes = new Map()
  }
}
