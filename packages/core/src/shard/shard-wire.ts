/**
 * Wire codec of the shard layer. Every frame: version byte, type byte, fields. Decoding is
 * bounded (Reader) and every failure is a WireError; every encoded frame is ≤ SHARD_FRAME_BYTES_MAX.
 */

import { FORMING_SEEDS_MAX, type MapState, REMOVED_SHARDS_MAX } from '../global/global-log.js'
import type { NodeId } from '../sans-io.js'
import { Reader, Writer } from '../wire/codec.js'
import { WireError } from '../wire/errors.js'
import type { LogEntry, LogSnapshot } from './control-log.js'

export const SHARD_WIRE_VERSION = 1
export const SHARD_FRAME_BYTES_MAX = 1200
export const NODE_ID_BYTES_MAX = 64
export const ENTRIES_PER_FRAME_MAX = 8
export const SNAPSHOT_VOTERS_MAX = 12
/** Upper bound on shards in a map (≈ 100,000 nodes at 5 per shard). */
export const SHARDS_MAX = 20_000

/** What a shard leader tells its followers (and observers) about the global leader. */
export interface Announce {
  readonly globalLeader: NodeId
  readonly globalTerm: number
  /** Lease left at send time, on the sender's clock (clocks are not comparable, durations are). */
  readonly leaseLeftMs: number
  /** Shards in the map (ids 0..shardCount−1), so late joiners learn the global voter set. */
  readonly shardCount: number
}

export type ShardMessage =
  | { type: 'prevote'; shard: number; term: number; lastIndex: number; lastTerm: number }
  | { type: 'prevote-resp'; shard: number; term: number; granted: boolean }
  | { type: 'vote'; shard: number; term: number; lastIndex: number; lastTerm: number; transfer: boolean }
  | { type: 'vote-resp'; shard: number; term: number; granted: boolean }
  | {
      type: 'append'
      shard: number
      term: number
      round: number
      prevIndex: number
      prevTerm: number
      commit: number
      entries: LogEntry[]
      announce: Announce | undefined
    }
  | { type: 'append-resp'; shard: number; term: number; round: number; success: boolean; matchIndex: number }
  | { type: 'snapshot'; shard: number; term: number; round: number; snapshot: LogSnapshot }
  | { type: 'timeout-now'; shard: number; term: number }
  /** Shard leader → observers attached to its shard: who leads the shard and the world. */
  | { type: 'announce'; shard: number; term: number; announce: Announce | undefined }

const TYPES = [
  'prevote',
  'prevote-resp',
  'vote',
  'vote-resp',
  'append',
  'append-resp',
  'snapshot',
  'timeout-now',
  'announce',
] as const

export function encodeShardMessage(m: ShardMessage): Uint8Array {
  const w = new Writer(SHARD_FRAME_BYTES_MAX)
  w.u8(SHARD_WIRE_VERSION).u8(TYPES.indexOf(m.type)).varint(m.shard).varint(m.term)
  switch (m.type) {
    case 'prevote':
      w.varint(m.lastIndex).varint(m.lastTerm)
      break
    case 'vote':
      w.varint(m.lastIndex).varint(m.lastTerm).bool(m.transfer)
      break
    case 'prevote-resp':
    case 'vote-resp':
      w.bool(m.granted)
      break
    case 'append':
      w.varint(m.round).varint(m.prevIndex).varint(m.prevTerm).varint(m.commit).varint(m.entries.length)
      for (const e of m.entries) writeEntry(w, e)
      writeAnnounce(w, m.announce)
      break
    case 'append-resp':
      w.varint(m.round).bool(m.success).varint(m.matchIndex)
      break
    case 'snapshot':
      w.varint(m.round)
      writeSnapshot(w, m.snapshot)
      break
    case 'timeout-now':
      break
    case 'announce':
      writeAnnounce(w, m.announce)
      break
  }
  return w.finish()
}

export function decodeShardMessage(bytes: Uint8Array): ShardMessage {
  if (bytes.length > SHARD_FRAME_BYTES_MAX) throw new WireError('oversized', `shard frame ${bytes.length} B`)
  const r = new Reader(bytes)
  const version = r.u8()
  if (version !== SHARD_WIRE_VERSION) throw new WireError('bad-version', `shard v${version}`)
  const type = TYPES[r.u8()]
  if (type === undefined) throw new WireError('unknown-type', 'shard message type')
  const shard = r.varint()
  const term = r.varint()
  let m: ShardMessage
  switch (type) {
    case 'prevote':
      m = { type, shard, term, lastIndex: r.varint(), lastTerm: r.varint() }
      break
    case 'vote':
      m = { type, shard, term, lastIndex: r.varint(), lastTerm: r.varint(), transfer: r.bool() }
      break
    case 'prevote-resp':
    case 'vote-resp':
      m = { type, shard, term, granted: r.bool() }
      break
    case 'append': {
      const round = r.varint()
      const prevIndex = r.varint()
      const prevTerm = r.varint()
      const commit = r.varint()
      const n = r.varintMax(ENTRIES_PER_FRAME_MAX, 'entries')
      const entries: LogEntry[] = []
      for (let i = 0; i < n; i++) entries.push(readEntry(r))
      m = { type, shard, term, round, prevIndex, prevTerm, commit, entries, announce: readAnnounce(r) }
      break
    }
    case 'append-resp':
      m = { type, shard, term, round: r.varint(), success: r.bool(), matchIndex: r.varint() }
      break
    case 'snapshot':
      m = { type, shard, term, round: r.varint(), snapshot: readSnapshot(r) }
      break
    case 'timeout-now':
      m = { type, shard, term }
      break
    case 'announce':
      m = { type, shard, term, announce: readAnnounce(r) }
      break
  }
  r.end()
  return m
}

function writeEntry(w: Writer, e: LogEntry): void {
  w.varint(e.term)
  if (e.kind === 'noop') w.u8(0)
  else if (e.kind === 'global-vote') w.u8(1).varint(e.globalTerm).string(e.candidate)
  else if (e.kind === 'map') writeMapState(w.u8(3), e.map)
  else
    w.u8(2)
      .bool(e.op === 'add')
      .string(e.node)
}

/**
 * Encode an AppendEntries with as many of its entries as fit one frame (halving until it fits;
 * one entry always fits). Map entries carry a split's seeds (≈ 300 B each), so ENTRIES_PER_FRAME_MAX
 * small entries fit but several map entries do not (swarm seed 146, ≤ 200 nodes: `oversized:
 * encoding needs 1217 B`). The follower asks for the rest with its next response.
 */
export function encodeAppendFitting(m: ShardMessage & { type: 'append' }): Uint8Array {
  let entries = m.entries
  for (;;) {
    try {
      return encodeShardMessage(entries === m.entries ? m : { ...m, entries })
    } catch (err) {
      if (!(err instanceof WireError) || entries.length <= 1) throw err
      entries = entries.slice(0, Math.ceil(entries.length / 2))
    }
  }
}

/**
 * A global-log state (global/global-log.ts): term, version, removed shards (bounded), shard ids
 * handed out, and the shard being formed with its seeds (bounded).
 */
export function writeMapState(w: Writer, m: MapState): void {
  w.varint(m.term).varint(m.version).varint(m.removed.length)
  for (const s of m.removed) w.varint(s)
  w.varint(m.shardsTotal).bool(m.forming !== undefined)
  if (m.forming) {
    w.varint(m.forming.shard).varint(m.forming.seeds.length)
    for (const v of m.forming.seeds) w.string(v)
  }
}

export function readMapState(r: Reader): MapState {
  const term = r.varint()
  const version = r.varint()
  const n = r.varintMax(REMOVED_SHARDS_MAX, 'removed shards')
  const removed: number[] = []
  for (let i = 0; i < n; i++) removed.push(r.varint())
  const shardsTotal = r.varintMax(SHARDS_MAX, 'shards total')
  if (!r.bool()) return { term, version, removed, shardsTotal }
  const shard = r.varintMax(SHARDS_MAX, 'forming shard')
  if (shard >= shardsTotal) throw new WireError('bad-value', `forming shard ${shard} ≥ ${shardsTotal}`)
  const k = r.varintMax(FORMING_SEEDS_MAX, 'seeds')
  const seeds: NodeId[] = []
  for (let i = 0; i < k; i++) seeds.push(readId(r))
  return { term, version, removed, shardsTotal, forming: { shard, seeds } }
}

function readEntry(r: Reader): LogEntry {
  const term = r.varint()
  const kind = r.u8()
  if (kind === 0) return { term, kind: 'noop' }
  if (kind === 1) return { term, kind: 'global-vote', globalTerm: r.varint(), candidate: readId(r) }
  if (kind === 2) return { term, kind: 'config', op: r.bool() ? 'add' : 'remove', node: readId(r) }
  if (kind === 3) return { term, kind: 'map', map: readMapState(r) }
  throw new WireError('unknown-type', `log entry kind ${kind}`)
}

function writeAnnounce(w: Writer, a: Announce | undefined): void {
  if (!a) {
    w.bool(false)
    return
  }
  w.bool(true)
    .string(a.globalLeader)
    .varint(a.globalTerm)
    .varint(Math.max(0, Math.floor(a.leaseLeftMs)))
    .varint(a.shardCount)
}

function readAnnounce(r: Reader): Announce | undefined {
  if (!r.bool()) return undefined
  return {
    globalLeader: readId(r),
    globalTerm: r.varint(),
    leaseLeftMs: r.varint(),
    shardCount: r.varintMax(SHARDS_MAX, 'shard count'),
  }
}

export function writeSnapshot(w: Writer, s: LogSnapshot): void {
  w.varint(s.index).varint(s.term).varint(s.voters.length)
  for (const v of s.voters) w.string(v)
  w.varint(s.globalVoteTerm).string(s.globalVoteCandidate)
  w.bool(s.map !== undefined)
  if (s.map) writeMapState(w, s.map)
}

export function readSnapshot(r: Reader): LogSnapshot {
  const index = r.varint()
  const term = r.varint()
  const n = r.varintMax(SNAPSHOT_VOTERS_MAX, 'voters')
  const voters: NodeId[] = []
  for (let i = 0; i < n; i++) voters.push(readId(r))
  const globalVoteTerm = r.varint()
  const globalVoteCandidate = r.string(NODE_ID_BYTES_MAX, 'candidate')
  const snap = { index, term, voters, globalVoteTerm, globalVoteCandidate }
  return r.bool() ? { ...snap, map: readMapState(r) } : snap
}

export function readId(r: Reader): NodeId {
  const id = r.string(NODE_ID_BYTES_MAX, 'node id')
  if (id.length === 0) throw new WireError('bad-value', 'empty node id')
  return id
}
