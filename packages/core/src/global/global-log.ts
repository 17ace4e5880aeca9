/**
 * The global log of shard-map changes (DESIGN.md Global group). Its state is small — how many
 * shard ids were handed out, which were dissolved, and the one new shard being formed (split) —
 * so every entry carries the WHOLE state after its change (`MapState`), and the latest entry in a
 * shard's control log is that shard's view.
 *
 * Guarantees, with global-group.ts (docs/protocol.md §Global log):
 *  - an entry is committed once a majority of the shards of ITS map hold it committed in their own
 *    control logs; a candidate whose map is older (by (term, version), Raft §5.4.1) gets no global
 *    vote, so every later global leader has every committed entry (Leader Completeness);
 *  - consecutive committed maps differ by at most one shard (Raft thesis §4.1 single-server
 *    change), and a new global leader first commits a no-change entry of its own term (§4.1 fix),
 *    so any majority of the old and of the new shard set intersect;
 *  - a split is two entries: `form` reserves a fresh shard id with its seed voters WITHOUT making
 *    it a global voter (a learner, Raft thesis §4.2.1), and only once that is committed are the
 *    seeds told; a later `add` makes the formed shard a voter (the one-shard change). A shard id is
 *    therefore never handed to two different seed sets (a reservation the log lost was never
 *    acted on), and the seeds hold no vote anywhere (they were unassigned).
 */
import type { ShardMap } from '../node/shard-map.js'
import type { NodeId } from '../sans-io.js'

/** The shard-map state after a global-log entry. */
export interface MapState {
  /** Global term of the leader that proposed the entry. */
  readonly term: number
  /** Position in the global log (bootstrap map = 1). */
  readonly version: number
  /** Shards dissolved so far (sorted, bounded by REMOVED_SHARDS_MAX). */
  readonly removed: readonly number[]
  /** Shard ids handed out so far: the bootstrap shards 0 … k−1, then one per split. */
  readonly shardsTotal: number
  /** The split in progress: a reserved shard id and its seed voters, not yet a global voter. */
  readonly forming?: FormingShard
}

/** A new shard being formed by a split (reserved in the global log, not yet a global voter). */
export interface FormingShard {
  readonly shard: number
  /** Its initial voters (the shard log's base voter set), sorted; bounded by FORMING_SEEDS_MAX. */
  readonly seeds: readonly NodeId[]
}

/** At most this many shards are ever dissolved (keeps a map entry within one shard frame). */
export const REMOVED_SHARDS_MAX = 32
/** Seed voters of a new shard (keeps a map entry within one shard frame). */
export const FORMING_SEEDS_MAX = 5

/** Raft §5.4.1 "at least as up-to-date", on (term, version). */
export function isMapAtLeast(
  a: { term: number; version: number },
  b: { term: number; version: number },
): boolean {
  return a.term !== b.term ? a.term > b.term : a.version >= b.version
}

/** The state a map already has (bootstrap: term 0, version 1, nothing removed). */
export function mapStateOf(map: ShardMap): MapState {
  const base = {
    term: map.term ?? 0,
    version: map.version,
    removed: map.removed ?? [],
    shardsTotal: map.shardsTotal ?? map.shards.size,
  }
  return map.forming ? { ...base, forming: map.forming } : base
}

/** Is `shard` a global voter in this state (handed out, not dissolved, not still forming)? */
export function isLiveShard(state: MapState, shard: number): boolean {
  return (
    shard >= 0 &&
    shard < state.shardsTotal &&
    !state.removed.includes(shard) &&
    state.forming?.shard !== shard
  )
}

/** Is `shard` live or the one being formed (its members belong where they are)? */
export function isKnownShard(state: MapState, shard: number): boolean {
  return isLiveShard(state, shard) || state.forming?.shard === shard
}

/**
 * Apply a state to a map: the live shards are the ids 0 … shardsTotal−1 minus the removed ones
 * and the forming one. Voter lists are kept from `base` (routing hints only; voter sets live in
 * the shard logs); a formed shard's hint is its seeds; a shard brought back by a superseding
 * entry gets an empty hint list.
 */
export function withMapState(base: ShardMap, state: MapState): ShardMap {
  const shards = new Map<number, readonly string[]>()
  for (let s = 0; s < state.shardsTotal; s++) {
    if (!isLiveShard(state, s)) continue
    shards.set(s, base.shards.get(s) ?? (base.forming?.shard === s ? base.forming.seeds : []))
  }
  const map: ShardMap = {
    version: state.version,
    term: state.term,
    removed: [...state.removed],
    shardsTotal: state.shardsTotal,
    shards,
  }
  return state.forming ? { ...map, forming: state.forming } : map
}

/** The change from one state to the next, for the `shardmap:commit` trace event. */
export function describeChange(prev: MapState | undefined, next: MapState): string {
  const parts: string[] = []
  const formed = prev?.forming
  if (formed && next.forming?.shard !== formed.shard && isLiveShard(next, formed.shard))
    parts.push(`add shard ${formed.shard}`)
  if (next.forming && next.forming.shard !== formed?.shard)
    parts.push(`form shard ${next.forming.shard} seeds ${next.forming.seeds.join(',')}`)
  if (parts.length > 0) return `${parts.join(', ')} (map v${next.version})`
  const before = new Set(prev?.removed ?? [])
  const gone = next.removed.filter((s) => !before.has(s))
  const back = [...before].filter((s) => !next.removed.includes(s))
  if (gone.length > 0) return `dissolve shard ${gone.join(',')} (map v${next.version})`
  if (back.length > 0) return `restore shard ${back.join(',')} (map v${next.version})`
  return `map v${next.version} term ${next.term} (no change)`
}

/** The whole state, for a new leadership's first commit: `state total 3 removed 1 forming none (map v9)`. */
export function describeState(state: MapState): string {
  const removed = state.removed.length > 0 ? state.removed.join(',') : 'none'
  return `state total ${state.shardsTotal} removed ${removed} forming ${state.forming?.shard ?? 'none'} (map v${state.version})`
}

/** Same shard set and the same split in progress (a no-change entry differs only in term/version). */
export function sameShards(a: MapState, b: MapState): boolean {
  return (
    a.shardsTotal === b.shardsTotal &&
    a.removed.join() === b.removed.join() &&
    a.forming?.shard === b.forming?.shard
  )
}
