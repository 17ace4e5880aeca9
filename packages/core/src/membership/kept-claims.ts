/**
 * Claim sharing: a member table row keeps a claim as its wire entry and its decoded meta. Every
 * node that knows a member holds the same claim byte for byte; in the simulator, where N nodes
 * share one process, that was N copies of each of N claims (at 1000 nodes ~230 B of entry view
 * and bytes plus a meta object per row; at 5000 nodes 25 M rows).
 * `keptClaim` hands out one canonical (entry, meta) per distinct claim, so the rows of every
 * node in the process share it, as `internIdBytes` does for ids.
 *
 * Guarantees: the entry returned is byte-identical to `claimEntryBytes(c)`; the meta was decoded
 * from the same body bytes, so it equals `c.meta` field by field (a match compares the whole body
 * and signature, never just the hash); nothing handed out is ever mutated (rows replace their
 * entry and meta, they do not edit them). The table is bounded (`KEPT_CLAIMS_MAX` claims): when
 * full it is emptied — rows keep what they hold, later claims start a fresh table — so stale
 * claims (older incarnations) are not pinned for long. Process-wide, like the id table: a real
 * process runs one node, whose table is the bound that matters.
 */

import { varintSize } from '../wire/codec.js'
import type { Claim } from './claim.js'
import { claimEntryBytes } from './messages.js'
import type { MemberMeta } from './types.js'

/** Bound on distinct claims shared: 3 per member of the largest cluster simulated (5000). */
export const KEPT_CLAIMS_MAX = 16_384

interface Kept {
  readonly entry: Uint8Array
  readonly meta: MemberMeta
  /** Where the body and the signature lie in `entry`, for the compare. */
  readonly bodyAt: number
  readonly bodyLen: number
  readonly sigAt: number
  readonly sigLen: number
}

const byHash = new Map<number, Kept | Kept[]>()
let count = 0

/** FNV-1a over the signature and the body's length and last 16 bytes (where ids and metas differ). */
function hashClaim(body: Uint8Array, sig: Uint8Array): number {
  let h = Math.imul(0x811c9dc5 ^ body.length, 0x01000193)
  for (let i = 0; i < sig.length; i++) h = Math.imul(h ^ (sig[i] as number), 0x01000193)
  for (let i = Math.max(0, body.length - 16); i < body.length; i++)
    h = Math.imul(h ^ (body[i] as number), 0x01000193)
  return h >>> 0
}

function sameAt(entry: Uint8Array, at: number, b: Uint8Array): boolean {
  for (let i = b.length - 1; i >= 0; i--) if (entry[at + i] !== b[i]) return false
  return true
}

/** Equal body and signature: the entries (tag · varint(body) · body · varint(sig) · sig) are equal. */
function matches(k: Kept, c: Claim): boolean {
  return (
    k.sigLen === c.sig.length &&
    k.bodyLen === c.body.length &&
    sameAt(k.entry, k.sigAt, c.sig) &&
    sameAt(k.entry, k.bodyAt, c.body)
  )
}

/** The shared (entry, meta) for claim `c` (verified by the caller before it is kept in a row). */
export function keptClaim(c: Claim): { readonly entry: Uint8Array; readonly meta: MemberMeta } {
  const h = hashClaim(c.body, c.sig)
  const have = byHash.get(h)
  if (have !== undefined) {
    if (!Array.isArray(have)) {
      if (matches(have, c)) return have
    } else {
      for (const k of have) if (matches(k, c)) return k
    }
  }
  const entry = claimEntryBytes(c)
  const sigAt = entry.length - c.sig.length
  const bodyAt = sigAt - varintSize(c.sig.length) - c.body.length
  const kept: Kept = {
    entry,
    meta: c.meta,
    bodyAt,
    bodyLen: c.body.length,
    sigAt,
    sigLen: c.sig.length,
  }
  if (count >= KEPT_CLAIMS_MAX) {
    byHash.clear()
    count = 0
  }
  count++
  const now = byHash.get(h)
  if (now === undefined) byHash.set(h, kept)
  else if (Array.isArray(now)) now.push(kept)
  else byHash.set(h, [now, kept])
  return kept
}
