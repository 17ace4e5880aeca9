/**
 * Signed claims: only a member may say it is alive (join, refutation, meta change) or that it
 * left. The claim body is encoded canonically and signed by the member's own key; relays
 * forward body and signature untouched and every receiver verifies before believing it, so a
 * relay cannot forge or alter a claim (DESIGN.md: "alive claims are signed").
 *
 * Suspect and dead are accusations, not claims: anyone may make them, and incarnation
 * precedence (SWIM §4.2) is what limits their power.
 */
import type { NodeId } from '../sans-io.js'
import { Reader, varintSize, type Writer } from '../wire/codec.js'
import { WireError } from '../wire/errors.js'
import { internIdBytes } from './intern.js'
import {
  META_ADDR_BYTES_MAX,
  META_ADDRS_MAX,
  META_ROLE_BYTES_MAX,
  META_ROLES_MAX,
  type MemberMeta,
  NODE_ID_BYTES_MAX,
  SIGNATURE_BYTES_MAX,
} from './types.js'

export interface ClaimSigner {
  /** Sign with this node's own key. */
  sign(payload: Uint8Array): Uint8Array
  /** True when sig is `node`'s signature of payload. */
  verify(node: NodeId, payload: Uint8Array, sig: Uint8Array): boolean
}

/** A member's own statement about itself at (bootEpoch, incarnation). */
export interface Claim {
  readonly id: NodeId
  readonly bootEpoch: number
  readonly incarnation: number
  /** true: a graceful leave, final for this incarnation. false: an alive claim. */
  readonly left: boolean
  readonly meta: MemberMeta
  /** The canonical body bytes that `sig` signs (kept so relays re-send them byte for byte). */
  readonly body: Uint8Array
  readonly sig: Uint8Array
  /**
   * The claim encoded as a wire entry (tag, body, signature), when known: body and sig are then
   * views into it (see messages.ts `claimEntryBytes`).
   */
  readonly entry?: Uint8Array
}

/** Shared empty list for decoded metadata (most members have no roles or addrs); never mutated. */
const NO_STRINGS: string[] = Object.freeze([]) as unknown as string[]

const CLAIM_DOMAIN = 0xc1 // first body byte: keeps claim signatures from meaning anything else

export function writeClaimBody(
  w: Writer,
  c: { id: NodeId; bootEpoch: number; incarnation: number; left: boolean; meta: MemberMeta },
): void {
  w.u8(CLAIM_DOMAIN)
  w.string(c.id)
  w.varint(c.bootEpoch)
  w.varint(c.incarnation)
  w.bool(c.left)
  w.varint(c.meta.priority)
  w.varint(c.meta.shard === null ? 0 : c.meta.shard + 1)
  w.varint(c.meta.roles.length)
  for (const r of c.meta.roles) w.string(r)
  w.varint(c.meta.addrs.length)
  for (const a of c.meta.addrs) w.string(a)
  w.varint(c.meta.version)
}

export function readClaimBody(r: Reader): Omit<Claim, 'body' | 'sig'> {
  if (r.u8() !== CLAIM_DOMAIN) throw new WireError('bad-value', 'claim domain byte')
  const id = internIdBytes(r.bytes(NODE_ID_BYTES_MAX, 'node id'), 'node id')
  if (id.length === 0) throw new WireError('bad-value', 'empty node id')
  const bootEpoch = r.varint()
  const incarnation = r.varint()
  const left = r.bool()
  const priority = r.varint()
  const shardPlus1 = r.varint()
  const rolesN = r.varintMax(META_ROLES_MAX, 'roles count')
  const roles: string[] = rolesN === 0 ? NO_STRINGS : []
  for (let i = 0; i < rolesN; i++) roles.push(r.string(META_ROLE_BYTES_MAX, 'role'))
  const addrsN = r.varintMax(META_ADDRS_MAX, 'addrs count')
  const addrs: string[] = addrsN === 0 ? NO_STRINGS : []
  for (let i = 0; i < addrsN; i++) addrs.push(r.string(META_ADDR_BYTES_MAX, 'addr'))
  const version = r.varint()
  const shard = shardPlus1 === 0 ? null : shardPlus1 - 1
  const meta =
    rolesN === 0 && addrsN === 0
      ? plainMeta(priority, shard, version)
      : { priority, shard, roles, addrs, version }
  return { id, bootEpoch, incarnation, left, meta }
}

/**
 * Metadata without roles or addrs (the common case) is shared: one frozen object per
 * (priority, shard, version), so a member table row does not carry its own copy. Bounded
 * (PLAIN_META_MAX distinct values; past that, fresh objects). Frozen: a reader that tried to
 * change a member's metadata in place would throw instead of changing it for every row.
 */
const PLAIN_META_MAX = 4096
const plainMetas = new Map<number, MemberMeta>()

function plainMeta(priority: number, shard: number | null, version: number): MemberMeta {
  const shardPlus1 = shard === null ? 0 : shard + 1
  // One exact number per (priority, shard, version) below 2^20 / 2^10 / 2^20 (< 2^53); others are not shared.
  const shareable = priority < 0x100000 && shardPlus1 < 0x400 && version < 0x100000
  const key = shareable ? (priority * 0x400 + shardPlus1) * 0x100000 + version : -1
  let m = shareable ? plainMetas.get(key) : undefined
  if (m === undefined) {
    m = Object.freeze({ priority, shard, roles: NO_STRINGS, addrs: NO_STRINGS, version }) as MemberMeta
    if (shareable && plainMetas.size < PLAIN_META_MAX) plainMetas.set(key, m)
  }
  return m
}

/** Writes a claim: body as length-prefixed bytes, then the signature. */
export function writeClaim(w: Writer, c: Claim): void {
  w.bytes(c.body)
  w.bytes(c.sig)
}

/** Reads a claim (body parsed and checked, signature NOT verified: see verifyClaim). */
export function readClaim(r: Reader, frameBytesMax: number): Claim {
  // Views into the frame; a receiver copies out only the claims it keeps (messages.ts
  // `claimEntryBytes`), so a stored claim does not pin the frame and a duplicate costs no copy.
  const body = r.bytes(frameBytesMax, 'claim body')
  const sig = r.bytes(SIGNATURE_BYTES_MAX, 'signature')
  const inner = new Reader(body)
  const p = readClaimBody(inner)
  inner.end()
  return {
    id: p.id,
    bootEpoch: p.bootEpoch,
    incarnation: p.incarnation,
    left: p.left,
    meta: p.meta,
    body,
    sig,
  }
}

export function claimSize(c: Claim): number {
  return varintSize(c.body.length) + c.body.length + varintSize(c.sig.length) + c.sig.length
}

export function verifyClaim(signer: ClaimSigner, c: Claim): boolean {
  return signer.verify(c.id, c.body, c.sig)
}

/**
 * A deterministic, INSECURE signer for the simulator and tests: the "signature" is an 8-byte
 * FNV-1a-64 of the payload, so anyone can compute it. It catches tampering and mixed-up claims
 * (the body names the member), not forgery. Real nodes use runtime/signer.ts (Ed25519).
 */
export function simSigner(): ClaimSigner {
  return {
    sign(payload) {
      fnv64(payload)
      return bigEndian2x32(lanes[0] as number, lanes[1] as number)
    },
    verify(_node, payload, sig) {
      if (sig.length !== 8) return false
      fnv64(payload)
      return readBigEndian(sig, 0) === lanes[0] && readBigEndian(sig, 4) === lanes[1]
    },
  }
}

/** fnv64's result (no allocation per call: the simulator verifies every claim N times). */
const lanes = new Uint32Array(2)

function fnv64(data: Uint8Array): void {
  // Two independent 32-bit FNV-1a lanes (different offset bases) make 64 bits without BigInt.
  let a = 0x811c9dc5
  let b = 0x01000193 ^ 0x5bd1e995
  for (let i = 0; i < data.length; i++) {
    const x = data[i] as number
    a = Math.imul(a ^ x, 0x01000193)
    b = Math.imul(b ^ x ^ (i & 0xff), 0x01000193)
  }
  lanes[0] = a
  lanes[1] = b
}

function readBigEndian(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) |
      ((b[at + 1] as number) << 16) |
      ((b[at + 2] as number) << 8) |
      (b[at + 3] as number)) >>>
    0
  )
}

function bigEndian2x32(a: number, b: number): Uint8Array {
  const out = new Uint8Array(8)
  out[0] = a >>> 24
  out[1] = (a >>> 16) & 0xff
  out[2] = (a >>> 8) & 0xff
  out[3] = a & 0xff
  out[4] = b >>> 24
  out[5] = (b >>> 16) & 0xff
  out[6] = (b >>> 8) & 0xff
  out[7] = b & 0xff
  return out
}
