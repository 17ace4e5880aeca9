/**
 * Wire codec of the global layer (shard leaders ↔ global candidates and leader). Bounded
 * decoding, WireError only; every frame ≤ GLOBAL_FRAME_BYTES_MAX.
 */
import { readMapState, writeMapState } from '../shard/shard-wire.js'
import { Reader, Writer } from '../wire/codec.js'
import { WireError } from '../wire/errors.js'
import type { MapState } from './global-log.js'

export const GLOBAL_WIRE_VERSION = 1
export const GLOBAL_FRAME_BYTES_MAX = 1200

export type GlobalMessage =
  /** `mapTerm, mapVersion`: the candidate's latest global-log entry (up-to-date check, Raft §5.4.1). */
  | { type: 'gprevote'; term: number; candShard: number; mapVersion: number; mapTerm: number }
  | { type: 'gprevote-resp'; term: number; shard: number; granted: boolean }
  | { type: 'gvote'; term: number; candShard: number; mapVersion: number; mapTerm: number }
  | { type: 'gvote-resp'; term: number; shard: number; granted: boolean }
  /** Global leader → shard leaders; leaseLeftMs is the sender's remaining lease (for announcements). */
  | { type: 'gheartbeat'; term: number; round: number; leaderShard: number; leaseLeftMs: number }
  /** `voters`: the shard's current voter count, so the global leader can balance assignments. */
  /** `shardLeaseLeftMs`: the acking shard leader's own lease left; the global lease never outlives it. */
  | {
      type: 'gack'
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
] as const
const NODE_ID_BYTES_MAX = 64
const VOTERS_MAX = 64

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
  }
  r.end()
  return m
}
