/**
 * Id interning: every decoded node id would be a fresh string (~70 B for a libp2p peer id), and
 * a node decodes each member's id many times (every claim, suspicion and dead notice naming it).
 * `internIdBytes` maps the id's UTF-8 bytes straight to one canonical string per distinct id:
 * a known id costs a hash and a compare, no decoding and no allocation, and a member table row,
 * its ring slot and its queue entries share one copy.
 *
 * Guarantees: the result is exactly the UTF-8 decoding of the bytes (interning never changes
 * meaning); invalid UTF-8 throws WireError('bad-value'); the table is bounded (`INTERN_MAX`
 * ids; past that, ids are decoded and returned uninterned, which costs only memory). It is
 * process-wide: a real process runs one node, whose table is the bound that matters; the
 * simulator runs many nodes in one process and they share it.
 */
import type { NodeId } from '../sans-io.js'
import { WireError } from '../wire/errors.js'

/** Bound on interned ids: 4× the largest cluster we simulate (the table costs ~100 B per id). */
export const INTERN_MAX = 20_000

const byHash = new Map<number, NodeId | NodeId[]>()
let count = 0
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * FNV-1a over the length and the last 16 bytes: peer ids share a long fixed prefix and end in
 * key material, so the tail tells them apart; the full compare below makes collisions harmless.
 */
function hashBytes(b: Uint8Array): number {
  let h = Math.imul(0x811c9dc5 ^ b.length, 0x01000193)
  for (let i = Math.max(0, b.length - 16); i < b.length; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193)
  return h >>> 0
}

/** True when `s` equals the ASCII bytes (compared from the end, where ids differ). */
function sameAscii(s: string, b: Uint8Array): boolean {
  if (s.length !== b.length) return false
  for (let i = b.length - 1; i >= 0; i--) if (s.charCodeAt(i) !== b[i]) return false
  return true
}

/** The canonical string for the id whose UTF-8 encoding is `bytes`. */
export function internIdBytes(bytes: Uint8Array, what: string): NodeId {
  // Only ASCII ids are interned, so a match below also proves the bytes are ASCII.
  const h = hashBytes(bytes)
  const have = byHash.get(h)
  if (typeof have === 'string') {
    if (sameAscii(have, bytes)) return have
  } else if (have) {
    for (const s of have) if (sameAscii(s, bytes)) return s
  }
  const id = decode(bytes, what)
  if (count >= INTERN_MAX || id.length !== bytes.length) return id // full, or not ASCII (rare: peer ids are base58)
  count++
  if (have === undefined) byHash.set(h, id)
  else if (typeof have === 'string') byHash.set(h, [have, id])
  else have.push(id)
  return id
}

function decode(bytes: Uint8Array, what: string): NodeId {
  try {
    return utf8.decode(bytes)
  } catch {
    throw new WireError('bad-value', `${what}: invalid utf-8`)
  }
}
