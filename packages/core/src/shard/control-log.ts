/**
 * The shard's control log (Raft §5.3): a tiny replicated log whose state machine is the shard's
 * voter set and the shard's global votes. It guarantees, with the rules in shard-group.ts:
 *  - an entry committed by a majority is in every later leader's log (Raft §5.4 Leader Completeness),
 *    so a committed global vote binds every later shard leader (DESIGN.md Global group);
 *  - at most logEntriesMax entries are kept: committed prefixes are folded into a snapshot (Raft §7).
 * Voter changes take effect as soon as they are appended (Raft thesis §4.1, one voter at a time).
 */
import type { MapState } from '../global/global-log.js'
import type { NodeId } from '../sans-io.js'
import { assert } from '../util/assert.js'

export type LogEntry =
  | { readonly term: number; readonly kind: 'noop' }
  /** This shard's vote in the GLOBAL group: for `candidate` in global term `globalTerm`. */
  | {
      readonly term: number
      readonly kind: 'global-vote'
      readonly globalTerm: number
      readonly candidate: NodeId
    }
  /** Single-voter membership change (Raft thesis §4.1). */
  | { readonly term: number; readonly kind: 'config'; readonly op: 'add' | 'remove'; readonly node: NodeId }
  /**
   * A GLOBAL-log entry (global/global-log.ts): the whole shard-map state after the change, as the
   * global leader of `map.term` proposed it. The latest one in the log wins (a later global
   * leader's entry supersedes an earlier, globally uncommitted one).
   */
  | { readonly term: number; readonly kind: 'map'; readonly map: MapState }

/** An entry before the leader stamps its term on it. */
export type LogEntryBody = LogEntry extends infer E ? (E extends LogEntry ? Omit<E, 'term'> : never) : never

/** Everything up to `index`, folded. */
export interface LogSnapshot {
  readonly index: number
  readonly term: number
  readonly voters: readonly NodeId[]
  /** Highest global term this shard ever voted in (0 = never), and for whom. */
  readonly globalVoteTerm: number
  readonly globalVoteCandidate: NodeId
  /** Latest global-log (shard map) state folded in; undefined = none yet (the bootstrap map). */
  readonly map?: MapState
}

export class ControlLog {
  /**
   * The whole log folded (voters, global vote, latest map): nextTickAtMs, tick and every append
   * response ask for the voters, and refolding on each call was ≈ 1 % of an idle node's main
   * thread. Cleared by every mutation.
   */
  private foldCache: ReturnType<typeof foldState> | undefined

  constructor(
    private snap: LogSnapshot,
    private entries: LogEntry[] = [],
  ) {}

  get snapshot(): LogSnapshot {
    return this.snap
  }

  get lastIndex(): number {
    return this.snap.index + this.entries.length
  }

  get lastTerm(): number {
    return this.termAt(this.lastIndex) ?? this.snap.term
  }

  /** Term of the entry at index; undefined if compacted away (below the snapshot) or beyond the end. */
  termAt(index: number): number | undefined {
    if (index === this.snap.index) return this.snap.term
    if (index < this.snap.index || index > this.lastIndex) return undefined
    return this.entries[index - this.snap.index - 1]?.term
  }

  entryAt(index: number): LogEntry | undefined {
    return this.entries[index - this.snap.index - 1]
  }

  /** Entries [from, from+countMax) that are still in the log. */
  slice(from: number, countMax: number): LogEntry[] {
    const start = from - this.snap.index - 1
    assert(start >= 0, () => `slice(${from}) below snapshot ${this.snap.index}`)
    return this.entries.slice(start, start + countMax)
  }

  append(entry: LogEntry): number {
    this.foldCache = undefined
    this.entries.push(entry)
    return this.lastIndex
  }

  /** Drop every entry at index ≥ from (a follower's conflicting suffix, Raft §5.3). */
  truncateFrom(from: number, commitIndex: number): void {
    assert(from > commitIndex, () => `truncating committed entry ${from} (commit ${commitIndex})`)
    this.foldCache = undefined
    this.entries.length = Math.max(0, from - this.snap.index - 1)
  }

  /** Replace everything with a leader's snapshot (its state is committed). */
  install(snap: LogSnapshot): void {
    this.foldCache = undefined
    this.snap = snap
    this.entries = []
  }

  /** Fold committed entries beyond keepMax into the snapshot. */
  compact(commitIndex: number, keepMax: number): boolean {
    const excess = this.entries.length - keepMax
    if (excess <= 0) return false
    const upTo = Math.min(this.snap.index + excess, commitIndex)
    if (upTo <= this.snap.index) return false
    const state = foldState(this.snap, this.entries.slice(0, upTo - this.snap.index))
    const term = this.termAt(upTo)
    assert(term !== undefined, 'compact term')
    this.entries = this.entries.slice(upTo - this.snap.index)
    this.snap = { index: upTo, term, ...state }
    this.foldCache = undefined
    return true
  }

  /** The voter set per the latest config entry, committed or not (Raft thesis §4.1). */
  voters(): NodeId[] {
    return [...this.folded().voters]
  }

  /** Highest global vote anywhere in the log (committed or not): never append a second vote for it. */
  globalVote(): { term: number; candidate: NodeId } {
    const s = this.folded()
    return { term: s.globalVoteTerm, candidate: s.globalVoteCandidate }
  }

  /** Latest shard-map state in the log, committed or not (what this shard's leader must present). */
  latestMap(): MapState | undefined {
    return this.folded().map
  }

  private folded(): ReturnType<typeof foldState> {
    this.foldCache ??= foldState(this.snap, this.entries)
    return this.foldCache
  }

  /** Latest shard-map state among entries up to `commitIndex`. */
  committedMap(commitIndex: number): MapState | undefined {
    const upTo = Math.max(0, Math.min(this.entries.length, commitIndex - this.snap.index))
    return foldState(this.snap, this.entries.slice(0, upTo)).map
  }

  /** Highest global vote among entries up to `index` (what this shard has durably promised). */
  committedGlobalVote(commitIndex: number): { term: number; candidate: NodeId } {
    const upTo = Math.max(0, Math.min(this.entries.length, commitIndex - this.snap.index))
    const s = foldState(this.snap, this.entries.slice(0, upTo))
    return { term: s.globalVoteTerm, candidate: s.globalVoteCandidate }
  }

  allEntries(): readonly LogEntry[] {
    return this.entries
  }
}

function foldState(
  snap: LogSnapshot,
  entries: readonly LogEntry[],
): { voters: NodeId[]; globalVoteTerm: number; globalVoteCandidate: NodeId; map?: MapState } {
  const voters = [...snap.voters]
  let map = snap.map
  let globalVoteTerm = snap.globalVoteTerm
  let globalVoteCandidate = snap.globalVoteCandidate
  for (const e of entries) {
    if (e.kind === 'global-vote' && e.globalTerm > globalVoteTerm) {
      globalVoteTerm = e.globalTerm
      globalVoteCandidate = e.candidate
    } else if (e.kind === 'config') {
      const at = voters.indexOf(e.node)
      if (e.op === 'add' && at < 0) voters.push(e.node)
      if (e.op === 'remove' && at >= 0) voters.splice(at, 1)
    } else if (e.kind === 'map') {
      map = e.map
    }
  }
  voters.sort()
  return map
    ? { voters, globalVoteTerm, globalVoteCandidate, map }
    : { voters, globalVoteTerm, globalVoteCandidate }
}
