/**
 * The global log of shard-map changes (DESIGN.md Global group). Its state is small — which of
 * the bootstrap shards have been dissolved — so every entry carries the WHOLE state after its
 * change (`MapState`), and the latest entry in a shard's control log is that shard's view.
 *
 * Guarantees, with global-group.ts (docs/protocol.md §Global log):
 *  - an entry is committed once a majority of the shards of ITS map hold it committed in their own
 *    control logs; a candidate whose map is older (by (term, version), Raft §5.4.1) gets no global
 *    vote, so every later global leader has every committed entry (Leader Completeness);
 *  - consecutive committed maps differ by at most one shard (Raft thesis §4.1 single-server
 *    change), and a new global leader first commits a no-change entry of its own term (§4.1 fix),
 *    so any majority of the old and of the new shard set intersect.
 */
import type { ShardMap } from '../node/shard-map.js'

/** The shard-map state after a global-log entry. */
export interface MapState {
  /** Global term of the leader that proposed the entry. */
  readonly term: number
  /** Position in the global log (bootstrap map = 1). */
  readonly version: number
  /** Bootstrap shards dissolved so far (sorted, bounded by REMOVED_SHARDS_MAX). */
  readonly removed: readonly number[]
}

/** At most this many shards are ever dissolved (keeps a map entry within one shard frame). */
export const REMOVED_SHARDS_MAX = 32

/** Raft §5.4.1 "at least as up-to-date", on (term, version). */
export function isMapAtLeast(
  a: { term: number; version: number },
  b: { term: number; version: number },
): boolean {
  return a.term !== b.term ? a.term > b.term : a.version >= b.version
}

/** The state a map already has (bootstrap: term 0, version 1, nothing removed). */
export function mapStateOf(map: ShardMap): MapState {
  return { term: map.term ?? 0, version: map.version, removed: map.removed ?? [] }
}

/**
 * Apply a state to a map: the live shards are the bootstrap shards (0 … shardsTotal−1) minus the
 * removed ones. Voter lists are kept from `base` (routing hints only; voter sets live in the
 * shard logs); a shard brought back by a superseding entry gets an empty hint list.
 */
export function withMapState(base: ShardMap, state: MapState): ShardMap {
  const total = base.shardsTotal ?? base.shards.size
  const removed = new Set(state.removed)
  const shards = new Map<number, readonly string[]>()
  for (let s = 0; s < total; s++) if (!removed.has(s)) shards.set(s, base.shards.get(s) ?? [])
  return { version: state.version, term: state.term, removed: [...state.removed], shardsTotal: total, shards }
}

/** The change from one state to the next, for the `shardmap:commit` trace event. */
export function describeChange(prev: MapState | undefined, next: MapState): string {
  const before = new Set(prev?.removed ?? [])
  const gone = next.removed.filter((s) => !before.has(s))
  const back = [...before].filter((s) => !next.removed.includes(s))
  if (gone.length > 0) return `dissolve shard ${gone.join(',')} (map v${next.version})`
  if (back.length > 0) return `restore shard ${back.join(',')} (map v${next.version})`
  return `map v${next.version} term ${next.term} (no change)`
}
