/**
 * Wire codec of the global layer (shard leaders ↔ global candidates and leader). Bounded
 * decoding, WireError only; every frame ≤ GLOBAL_FRAME_BYTES_MAX.
 */
import { readMapState, writeMapState } from '../shard/shard-wire.js'
import { Reader, varintSize, Writer } from '../wire/codec.js'
import { WireError } from '../wire/errors.js'
import type { MapState } from './global-log.js'

export const GLOBAL_WIRE_VERSION = 1
export const GLOBAL_FRAME_BYTES_MAX = 1200
/** Shards one relay forwards a round to (`grelay.shards`), and acks in one `gacks` frame. */
export const RELAY_SHARDS_MAX = 64

/**
 * One shard leader's ack of a relayed round, passed on unchanged by the relay (the `gack` fields),
 * plus `leaderTag`: a 32-bit hash of the acking node's id (relay.ts `leaderTag`), so the global
 * leader can tell which voter of the shard leads it without 52-byte ids in the frame.
 */
export interface RelayedAck extends GackFields {
  leaderTag: number
}

/**
 * A shard leader's ack of a global heartbeat round. `voters`: the shard's current voter count, so
 * the global leader can balance assignments; `shardLeaseLeftMs`: the acking shard leader's own
 * lease left (the global lease never outlives it).
 */
export interface GackFields {
  term: number
  round: number
  shard: number
  ok: boolean
  voters: number
  shardLeaseLeftMs: number
  /** The latest global-log entry COMMITTED in the acking shard's control log. */
  mapTerm: number
  mapVersion: number
}

export type GlobalMessage =
  /** `mapTerm, mapVersion`: the candidate's latest global-log entry (up-to-date check, Raft §5.4.1). */
  | { type: 'gprevote'; term: number; candShard: number; mapVersion: number; mapTerm: number }
  | { type: 'gprevote-resp'; term: number; shard: number; granted: boolean }
  | { type: 'gvote'; term: number; candShard: number; mapVersion: number; mapTerm: number }
  | { type: 'gvote-resp'; term: number; shard: number; granted: boolean }
  /** Global leader → shard leaders; leaseLeftMs is the sender's remaining lease (for announcements). */
  | { type: 'gheartbeat'; term: number; round: number; leaderShard: number; leaseLeftMs: number }
  | ({ type: 'gack' } & GackFields)
  /**
   * Global leader → a relay shard leader: this round's heartbeat for its own shard, and the
   * shards it forwards it to (`gfwd`); it returns their acks, and its own, in `gacks`.
   */
  | {
      type: 'grelay'
      term: number
      round: number
      leaderShard: number
      leaseLeftMs: number
      shards: number[]
    }
  /** Relay → a shard leader (or the voters of a shard whose leader it does not know): `leader`'s heartbeat. */
  | { type: 'gfwd'; term: number; round: number; leaderShard: number; leaseLeftMs: number; leader: string }
  /** Relay → global leader: the acks of round `round` it received, each as its shard leader sent it. */
  | { type: 'gacks'; term: number; round: number; acks: RelayedAck[] }
  /** Global leader → a shard leader: add `node` to your shard as a voter (one voter at a time). */
  | { type: 'gassign'; term: number; shard: number; node: string }
  /**
   * Global leader → a shard leader: append this global-log entry to your control log
   * (`committed` false); or → a member of a dissolved shard: this map is committed (`committed` true).
   */
  | { type: 'gmap'; term: number; map: MapState; committed: boolean }

const TYPES = [
  'gprevote',
  'gprevote-resp',
  'gvote',
  'gvote-resp',
  'gheartbeat',
  'gack',
  'gassign',
  'gmap',
  'grelay',
  'gfwd',
  'gacks',
] as const
const NODE_ID_BYTES_MAX = 64
const VOTERS_MAX = 64
const LEADER_TAG_MAX = 0xffff_ffff

/** Encoded size of one entry of a `gacks` frame (the relay packs frames under the bound). */
export function relayedAckBytes(a: RelayedAck): number {
  return (
    varintSize(a.term) +
    varintSize(a.round) +
    varintSize(a.shard) +
    1 +
    varintSize(a.voters) +
    varintSize(Math.max(0, Math.floor(a.shardLeaseLeftMs))) +
    varintSize(a.mapTerm) +
    varintSize(a.mapVersion) +
    varintSize(a.leaderTag)
  )
}

/** Bytes of a `gacks` frame besides its entries: version, type, term, round, count. */
export const GACKS_HEADER_BYTES_MAX = 2 + 8 + 8 + 1

export function encodeGlobalMessage(m: GlobalMessage): Uint8Array {
  const w = new Writer(GLOBAL_FRAME_BYTES_MAX, 32)
  w.u8(GLOBAL_WIRE_VERSION).u8(TYPES.indexOf(m.type)).varint(m.term)
  switch (m.type) {
    case 'gprevote':
    case 'gvote':
      w.varint(m.candShard).varint(m.mapVersion).varint(m.mapTerm)
      break
    case 'gprevote-resp':
    case 'gvote-resp':
      w.varint(m.shard).bool(m.granted)
      break
    case 'gheartbeat':
      w.varint(m.round)
        .varint(m.leaderShard)
        .varint(Math.max(0, Math.floor(m.leaseLeftMs)))
      break
    case 'gack':
      w.varint(m.round)
        .varint(m.shard)
        .bool(m.ok)
        .varint(m.voters)
        .varint(Math.max(0, Math.floor(m.shardLeaseLeftMs)))
        .varint(m.mapTerm)
        .varint(m.mapVersion)
      break
    case 'gassign':
      w.varint(m.shard).string(m.node)
      break
    case 'gmap':
      writeMapState(w.bool(m.committed), m.map)
      break
    case 'grelay':
      w.varint(m.round)
        .varint(m.leaderShard)
        .varint(Math.max(0, Math.floor(m.leaseLeftMs)))
        .varint(m.shards.length)
      for (const shard of m.shards) w.varint(shard)
      break
    case 'gfwd':
      w.varint(m.round)
        .varint(m.leaderShard)
        .varint(Math.max(0, Math.floor(m.leaseLeftMs)))
        .string(m.leader)
      break
    case 'gacks':
      w.varint(m.round).varint(m.acks.length)
      for (const a of m.acks)
        w.varint(a.term)
          .varint(a.round)
          .varint(a.shard)
          .bool(a.ok)
          .varint(a.voters)
          .varint(Math.max(0, Math.floor(a.shardLeaseLeftMs)))
          .varint(a.mapTerm)
          .varint(a.mapVersion)
          .varint(a.leaderTag)
      break
  }
  return w.finish()
}

export function decodeGlobalMessage(bytes: Uint8Array): GlobalMessage {
  if (bytes.length > GLOBAL_FRAME_BYTES_MAX)
    throw new WireError('oversized', `global frame ${bytes.length} B`)
  const r = new Reader(bytes)
  const version = r.u8()
  if (version !== GLOBAL_WIRE_VERSION) throw new WireError('bad-version', `global v${version}`)
  const type = TYPES[r.u8()]
  if (type === undefined) throw new WireError('unknown-type', 'global message type')
  const term = r.varint()
  let m: GlobalMessage
  switch (type) {
    case 'gprevote':
    case 'gvote':
      m = { type, term, candShard: r.varint(), mapVersion: r.varint(), mapTerm: r.varint() }
      break
    case 'gprevote-resp':
    case 'gvote-resp':
      m = { type, term, shard: r.varint(), granted: r.bool() }
      break
    case 'gheartbeat':
      m = { type, term, round: r.varint(), leaderShard: r.varint(), leaseLeftMs: r.varint() }
      break
    case 'gack':
      m = {
        type,
        term,
        round: r.varint(),
        shard: r.varint(),
        ok: r.bool(),
        voters: r.varintMax(VOTERS_MAX, 'voters'),
        shardLeaseLeftMs: r.varint(),
        mapTerm: r.varint(),
        mapVersion: r.varint(),
      }
      break
    case 'gassign': {
      const shard = r.varint()
      const node = r.string(NODE_ID_BYTES_MAX, 'node id')
      if (node.length === 0) throw new WireError('bad-value', 'empty node id')
      m = { type, term, shard, node }
      break
    }
    case 'gmap': {
      const committed = r.bool()
      m = { type, term, committed, map: readMapState(r) }
      break
    }
    case 'grelay': {
      const round = r.varint()
      const leaderShard = r.varint()
      const leaseLeftMs = r.varint()
      const count = r.varintMax(RELAY_SHARDS_MAX, 'relay shards')
      const shards: number[] = []
      for (let i = 0; i < count; i++) shards.push(r.varint())
      m = { type, term, round, leaderShard, leaseLeftMs, shards }
      break
    }
    case 'gfwd': {
      const round = r.varint()
      const leaderShard = r.varint()
      const leaseLeftMs = r.varint()
      const leader = r.string(NODE_ID_BYTES_MAX, 'node id')
      if (leader.length === 0) throw new WireError('bad-value', 'empty node id')
      m = { type, term, round, leaderShard, leaseLeftMs, leader }
      break
    }
    case 'gacks': {
      const round = r.varint()
      const count = r.varintMax(RELAY_SHARDS_MAX, 'relayed acks')
      const acks: RelayedAck[] = []
      for (let i = 0; i < count; i++)
        acks.push({
          term: r.varint(),
          round: r.varint(),
          shard: r.varint(),
          ok: r.bool(),
          voters: r.varintMax(VOTERS_MAX, 'voters'),
          shardLeaseLeftMs: r.varint(),
          mapTerm: r.varint(),
          mapVersion: r.varint(),
          leaderTag: r.varintMax(LEADER_TAG_MAX, 'leader tag'),
        })
      m = { type, term, round, acks }
      break
    }
  }
  r.end()
  return m
}
