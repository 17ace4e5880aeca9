/**
 * Durable shard state (Raft Figure 2 "persistent state"): `shard/hard` = (shard, term, votedFor),
 * `shard/log` = snapshot + entries. Written by persist ops before any message that depends on
 * them leaves the node; read back from `stored` after a restart.
 */
import type { NodeId, PersistOp } from '../sans-io.js'
import { Reader, Writer } from '../wire/codec.js'
import { ControlLog, type LogEntry } from './control-log.js'
import { readMapState, readSnapshot, writeMapState, writeSnapshot } from './shard-wire.js'

export const HARD_STATE_KEY = 'shard/hard'
export const LOG_KEY = 'shard/log'
const STORE_BYTES_MAX = 64 * 1024

export interface HardState {
  shard: number
  term: number
  votedFor: NodeId | undefined
}

export function hardStateOp(h: HardState): PersistOp {
  const w = new Writer(STORE_BYTES_MAX)
    .varint(h.shard)
    .varint(h.term)
    .string(h.votedFor ?? '')
  return { key: HARD_STATE_KEY, value: w.finish() }
}

export function readHardState(bytes: Uint8Array | undefined): HardState | undefined {
  if (!bytes) return undefined
  const r = new Reader(bytes)
  const shard = r.varint()
  const term = r.varint()
  const voted = r.string(256)
  r.end()
  return { shard, term, votedFor: voted === '' ? undefined : voted }
}

export function logOp(log: ControlLog): PersistOp {
  const w = new Writer(STORE_BYTES_MAX)
  writeSnapshot(w, log.snapshot)
  const entries = log.allEntries()
  w.varint(entries.length)
  for (const e of entries) {
    w.varint(e.term)
    if (e.kind === 'noop') w.u8(0)
    else if (e.kind === 'global-vote') w.u8(1).varint(e.globalTerm).string(e.candidate)
    else if (e.kind === 'map') writeMapState(w.u8(3), e.map)
    else
      w.u8(2)
        .bool(e.op === 'add')
        .string(e.node)
  }
  return { key: LOG_KEY, value: w.finish() }
}

export function readLog(bytes: Uint8Array | undefined): ControlLog | undefined {
  if (!bytes) return undefined
  const r = new Reader(bytes)
  const snap = readSnapshot(r)
  const n = r.varintMax(4096, 'stored entries')
  const entries: LogEntry[] = []
  for (let i = 0; i < n; i++) {
    const term = r.varint()
    const kind = r.u8()
    if (kind === 0) entries.push({ term, kind: 'noop' })
    else if (kind === 1)
      entries.push({ term, kind: 'global-vote', globalTerm: r.varint(), candidate: r.string(256) })
    else if (kind === 3) entries.push({ term, kind: 'map', map: readMapState(r) })
    else entries.push({ term, kind: 'config', op: r.bool() ? 'add' : 'remove', node: r.string(256) })
  }
  r.end()
  return new ControlLog(snap, entries)
}
