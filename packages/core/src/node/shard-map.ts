/**
 * The shard map: which voters form which shard. The bootstrap map is a pure function of the
 * sorted member list, so every node that sees the same members computes the same map
 * (DESIGN.md Shape: one shard up to shardSizeMax nodes, else ≥ 3 shards, odd counts preferred).
 */
import type { FormingShard } from '../global/global-log.js'
import type { NodeId, PersistOp } from '../sans-io.js'
import { Reader, Writer } from '../wire/codec.js'
import type { ShardMapConfig } from './conclave-config.js'

export interface ShardMap {
  /** Bumped by every committed change; candidates with an older map get no global vote. */
  readonly version: number
  /** shard id → sorted voters. */
  readonly shards: ReadonlyMap<number, readonly NodeId[]>
  /** Global term of the leader that committed this version (global-log.ts; bootstrap 0). */
  readonly term?: number
  /** Bootstrap shards dissolved so far (global-log.ts). */
  readonly removed?: readonly number[]
  /** Shard ids handed out so far (bootstrap shards 0 … k−1, then one per split). */
  readonly shardsTotal?: number
  /** A split in progress (global-log.ts): reserved id and seeds, not yet a global voter. */
  readonly forming?: FormingShard
}

export const SHARD_MAP_KEY = 'global/map'

/** How many shards for n nodes: 1 up to sizeMax, else round(n/target) made odd and ≥ 3. */
export function shardCountFor(n: number, cfg: ShardMapConfig): number {
  if (n <= cfg.shardSizeMax) return 1
  let k = Math.max(3, Math.round(n / cfg.shardSizeTarget))
  if (k % 2 === 0) k = n / (k + 1) >= cfg.shardSizeMin ? k + 1 : k - 1
  while (n / k > cfg.shardSizeMax) k += 2
  return Math.max(3, k)
}

/** Deterministic bootstrap map: sort ids, deal them round-robin into shardCountFor(n) shards. */
export function bootstrapShardMap(members: readonly NodeId[], cfg: ShardMapConfig): ShardMap {
  const k0 = lastBootstrap
  if (k0 !== undefined && sameCfg(k0.cfg, cfg) && sameIds(k0.members, members)) return k0.map
  const ids = [...new Set(members)].sort()
  const k = shardCountFor(ids.length, cfg)
  const shards = new Map<number, NodeId[]>()
  for (let s = 0; s < k; s++) shards.set(s, [])
  ids.forEach((id, i) => {
    shards.get(i % k)?.push(id)
  })
  for (const [s, v] of shards) shards.set(s, v.sort().slice()) // exact-size arrays (no push slack)
  const map: ShardMap = { version: 1, shards, term: 0, removed: [], shardsTotal: k }
  lastBootstrap = { members: members.slice(), cfg: { ...cfg }, map }
  return map
}

/**
 * The last bootstrap map built and its input. A map is read-only once built, and a pure function
 * of (members, cfg): in the simulator every founder builds the same one from the same member
 * list — N maps of N ids plus a shardOf index each (at 5000 nodes ≈ 1 GB) — so an identical
 * call hands back the same map. Process-wide, one entry: a real process builds its map once.
 */
let lastBootstrap: { members: readonly NodeId[]; cfg: ShardMapConfig; map: ShardMap } | undefined

function sameCfg(a: ShardMapConfig, b: ShardMapConfig): boolean {
  return (
    a.shardSizeMin === b.shardSizeMin &&
    a.shardSizeTarget === b.shardSizeTarget &&
    a.shardSizeMax === b.shardSizeMax
  )
}

function sameIds(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const shardIndexCache = new WeakMap<ShardMap, Map<NodeId, number>>()

/** The shard a node was put in by this map (O(1) after the first call per map). */
export function shardOf(map: ShardMap, id: NodeId): number | undefined {
  let index = shardIndexCache.get(map)
  if (!index) {
    index = new Map()
    for (const [s, voters] of map.shards) for (const v of voters) index.set(v, s)
    shardIndexCache.set(map, index)
  }
  return index.get(id)
}

/** An observer's attachment: the shard whose leader tells it who leads (a stable hash of its id). */
export function attachedShard(map: ShardMap, id: NodeId): number | undefined {
  const shards = [...map.shards.keys()].sort((a, b) => a - b)
  if (shards.length === 0) return undefined
  let h = 2166136261
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619) >>> 0
  return shards[h % shards.length]
}

/**
 * Which shard leader announces to `id`: its attached shard, or for a member of a leaderless shard
 * (an orphan), the next shard after its own in cyclic order.
 */
export function announcerShard(map: ShardMap, id: NodeId, ownShard: number | null): number | undefined {
  const attached = attachedShard(map, id)
  if (attached === undefined || ownShard === null || attached !== ownShard) return attached
  const shards = [...map.shards.keys()].sort((a, b) => a - b)
  if (shards.length < 2) return attached // one shard: its leader announces to its own orphans
  return shards[(shards.indexOf(ownShard) + 1) % shards.length]
}

export function shardMapOp(map: ShardMap): PersistOp {
  const last = lastEncoded
  if (last !== undefined && sameMap(last.map, map)) return { key: SHARD_MAP_KEY, value: last.value }
  const op = encodeShardMap(map)
  lastEncoded = { map, value: op.value }
  return op
}

/**
 * The last map encoded and its bytes. Every node persists every committed map version, and in
 * the simulator N nodes persist the same one in turn: at 5000 nodes ≈ 265 KB of encoding (and
 * ≈ 1 MB of buffer growth) per node per version, whose external-memory churn set off a full
 * mark of the multi-GB heap again and again. An equal map (same content) gets the same bytes,
 * which are never written to. Process-wide, one entry.
 */
let lastEncoded: { map: ShardMap; value: Uint8Array } | undefined

function sameVoters(a: readonly NodeId[] | undefined, b: readonly NodeId[] | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function sameMap(a: ShardMap, b: ShardMap): boolean {
  if (a === b) return true
  if (
    a.version !== b.version ||
    (a.term ?? 0) !== (b.term ?? 0) ||
    (a.shardsTotal ?? a.shards.size) !== (b.shardsTotal ?? b.shards.size) ||
    a.shards.size !== b.shards.size ||
    (a.forming === undefined) !== (b.forming === undefined) ||
    (a.forming !== undefined &&
      (a.forming.shard !== b.forming?.shard || !sameVoters(a.forming.seeds, b.forming.seeds)))
  )
    return false
  const ra = a.removed ?? []
  const rb = b.removed ?? []
  if (ra.length !== rb.length || ra.some((s, i) => s !== rb[i])) return false
  // same shards in the same order (the encoding follows the Map's order)
  const ib = b.shards.entries()
  for (const [s, voters] of a.shards) {
    const e = ib.next()
    if (e.done === true || e.value[0] !== s || !sameVoters(voters, e.value[1])) return false
  }
  return true
}

function encodeShardMap(map: ShardMap): PersistOp {
  const w = new Writer(1 << 20).varint(map.version).varint(map.shards.size)
  for (const [s, voters] of map.shards) {
    w.varint(s).varint(voters.length)
    for (const v of voters) w.string(v)
  }
  // Global-log fields (appended; a map written before them reads as term 0, nothing removed).
  w.varint(map.term ?? 0)
    .varint(map.shardsTotal ?? map.shards.size)
    .varint(map.removed?.length ?? 0)
  for (const s of map.removed ?? []) w.varint(s)
  w.bool(map.forming !== undefined)
  if (map.forming) {
    w.varint(map.forming.shard).varint(map.forming.seeds.length)
    for (const v of map.forming.seeds) w.string(v)
  }
  return { key: SHARD_MAP_KEY, value: w.finish() }
}

export function readShardMap(bytes: Uint8Array | undefined): ShardMap | undefined {
  if (!bytes) return undefined
  const r = new Reader(bytes)
  const version = r.varint()
  const n = r.varintMax(100_000, 'shards')
  const shards = new Map<number, NodeId[]>()
  for (let i = 0; i < n; i++) {
    const s = r.varint()
    const m = r.varintMax(64, 'voters')
    const voters: NodeId[] = []
    for (let j = 0; j < m; j++) voters.push(r.string(256))
    shards.set(s, voters)
  }
  if (r.remaining() === 0) return { version, shards }
  const term = r.varint()
  const shardsTotal = r.varint()
  const k = r.varintMax(100_000, 'removed shards')
  const removed: number[] = []
  for (let i = 0; i < k; i++) removed.push(r.varint())
  if (r.remaining() === 0) return { version, shards, term, removed, shardsTotal }
  let forming: FormingShard | undefined
  if (r.bool()) {
    const shard = r.varint()
    const n = r.varintMax(64, 'seeds')
    const seeds: NodeId[] = []
    for (let i = 0; i < n; i++) seeds.push(r.string(256))
    forming = { shard, seeds }
  }
  r.end()
  return forming
    ? { version, shards, term, removed, shardsTotal, forming }
    : { version, shards, term, removed, shardsTotal }
}
