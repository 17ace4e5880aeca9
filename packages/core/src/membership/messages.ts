/**
 * The membership wire format, hand-written on the bounded Reader/Writer.
 *
 * Guarantees: every frame is at most frameBytesMax bytes (the sender budgets piggybacked
 * entries to fit, see `encodeFrame`); every count and length is bounded before anything is
 * allocated; any malformed, oversized, truncated or unknown input makes `decodeFrame` throw a
 * WireError and nothing else. The sender of a direct frame is known from the transport, so
 * frames never repeat it.
 *
 * Frame: version u8 (1) · type u8 · fields. Entries (piggyback, gossip, sync) are
 * tag u8 · fields, and are encoded once by the sender and copied into frames as raw bytes.
 */
import type { NodeId } from '../sans-io.js'
import { Reader, stringSize, varintSize, Writer } from '../wire/codec.js'
import { WireError } from '../wire/errors.js'
import { type Claim, readClaim } from './claim.js'
import { internIdBytes } from './intern.js'
import { NODE_ID_BYTES_MAX } from './types.js'

export const WIRE_VERSION = 1
/** Bound on entries in one frame (a frame of minimal entries still fits 1200 B). */
export const ENTRIES_MAX = 128
/** Bound on digest buckets and bucket lists. */
export const BUCKETS_MAX = 1024
/** Bound on row fingerprints in one `fingerprints` or `want` frame (≤ 5 B each: fits 1200 B). */
export const FINGERPRINTS_MAX = 230

export type Entry =
  | { readonly kind: 'claim'; readonly claim: Claim }
  | {
      readonly kind: 'suspect'
      readonly id: NodeId
      readonly bootEpoch: number
      readonly incarnation: number
      readonly accuser: NodeId
    }
  | { readonly kind: 'dead'; readonly id: NodeId; readonly bootEpoch: number; readonly incarnation: number }

export type Frame =
  /** SWIM probe; also sent by a helper on behalf of a ping-req. */
  | { readonly type: 'ping'; readonly seq: number; readonly entries: readonly Entry[] }
  | { readonly type: 'ack'; readonly seq: number; readonly entries: readonly Entry[] }
  /** "Probe `target` for me, answer with ack(seq) or, late, nack(seq)" (SWIM §3.1, Lifeguard §4.3). */
  | { readonly type: 'ping-req'; readonly seq: number; readonly target: NodeId }
  | { readonly type: 'nack'; readonly seq: number }
  /** Fast gossip round and direct notices (suspicion to the suspect, refutation to accusers). */
  | { readonly type: 'gossip'; readonly entries: readonly Entry[] }
  /** A joiner's own claim to a seed; the seed answers with sync pages. */
  | { readonly type: 'join'; readonly entries: readonly Entry[] }
  /** Anti-entropy state transfer. Non-empty `buckets` asks the receiver to send back its entries of those buckets. */
  | { readonly type: 'sync'; readonly buckets: readonly number[]; readonly entries: readonly Entry[] }
  /** Anti-entropy digest: one 32-bit hash per bucket of the sender's member table. */
  | { readonly type: 'digest'; readonly hashes: readonly number[] }
  /**
   * Anti-entropy fingerprint round: the fingerprints of ALL the sender's rows in `buckets` (the
   * buckets a digest found different), so the receiver can tell exactly which rows differ.
   */
  | { readonly type: 'fingerprints'; readonly buckets: readonly number[]; readonly fps: readonly number[] }
  /** "Send me your rows with these fingerprints" (the end of a fingerprint round). */
  | { readonly type: 'want'; readonly fps: readonly number[] }

export type FrameType = Frame['type']

const TYPE_CODES: Record<FrameType, number> = {
  ping: 1,
  ack: 2,
  'ping-req': 3,
  nack: 4,
  gossip: 5,
  join: 6,
  sync: 7,
  digest: 8,
  fingerprints: 9,
  want: 10,
}
/** Frame type by code (an array: decoded on every frame). */
const TYPE_BY_CODE: ReadonlyArray<FrameType | undefined> = (() => {
  const out: Array<FrameType | undefined> = []
  for (const [k, v] of Object.entries(TYPE_CODES)) out[v] = k as FrameType
  return out
})()

const TAG_CLAIM = 1
const TAG_SUSPECT = 2
const TAG_DEAD = 3

/**
 * The claim encoded as a wire entry (tag · varint(body) · body · varint(sig) · sig) in one
 * exact-size buffer of its own: what a member table keeps per member, and what it copies into
 * frames as is. Claims that carry their entry already return it without a copy.
 */
export function claimEntryBytes(c: Claim): Uint8Array {
  if (c.entry) return c.entry
  // Hand-laid (no Writer, no copy on finish).
  const bodyLen = varintSize(c.body.length)
  const sigLen = varintSize(c.sig.length)
  const entry = allocEntry(1 + bodyLen + c.body.length + sigLen + c.sig.length)
  entry[0] = TAG_CLAIM
  putVarint(entry, 1, c.body.length)
  const bodyAt = 1 + bodyLen
  entry.set(c.body, bodyAt)
  putVarint(entry, bodyAt + c.body.length, c.sig.length)
  entry.set(c.sig, bodyAt + c.body.length + sigLen)
  return entry
}

/**
 * Stored entries are carved from shared 8 KB chunks (as Node's Buffer pool does): a row then
 * holds a view (~105 B of heap) instead of a view plus its own ArrayBuffer (~195 B). A chunk is
 * freed when no row views it any more; the waste is bounded by one chunk per live entry (in
 * practice small: claims change rarely). Entries above 1 KB get their own buffer.
 */
const POOL_BYTES = 8192
let pool = new Uint8Array(POOL_BYTES)
let poolUsed = 0

function allocEntry(n: number): Uint8Array {
  if (n > POOL_BYTES / 8) return new Uint8Array(n)
  if (poolUsed + n > POOL_BYTES) {
    pool = new Uint8Array(POOL_BYTES)
    poolUsed = 0
  }
  const out = pool.subarray(poolUsed, poolUsed + n)
  poolUsed += n
  return out
}

function putVarint(buf: Uint8Array, at: number, v: number): void {
  let i = at
  while (v >= 0x80) {
    buf[i++] = (v % 0x80) | 0x80
    v = Math.floor(v / 0x80)
  }
  buf[i] = v
}

/** Encodes one entry on its own (senders keep these bytes and copy them into frames). */
export function encodeEntry(e: Entry, frameBytesMax: number): Uint8Array {
  if (e.kind === 'claim') return claimEntryBytes(e.claim)
  const w = new Writer(frameBytesMax, 128)
  switch (e.kind) {
    case 'suspect':
      w.u8(TAG_SUSPECT).string(e.id).varint(e.bootEpoch).varint(e.incarnation).string(e.accuser)
      break
    case 'dead':
      w.u8(TAG_DEAD).string(e.id).varint(e.bootEpoch).varint(e.incarnation)
      break
  }
  return w.finish()
}

/** Decodes one claim entry (as `claimEntryBytes` lays it out); the claim keeps `bytes` as its entry. */
export function decodeClaimEntry(bytes: Uint8Array, frameBytesMax: number): Claim {
  const r = new Reader(bytes)
  if (r.u8() !== TAG_CLAIM) throw new WireError('bad-value', 'not a claim entry')
  const claim = readClaim(r, frameBytesMax)
  r.end()
  return { ...claim, entry: bytes }
}

function readNodeId(r: Reader, what: string): NodeId {
  const id = internIdBytes(r.bytes(NODE_ID_BYTES_MAX, what), what)
  if (id.length === 0) throw new WireError('bad-value', `empty ${what}`)
  return id
}

function readEntry(r: Reader, frameBytesMax: number): Entry {
  const tag = r.u8()
  switch (tag) {
    case TAG_CLAIM:
      return { kind: 'claim', claim: readClaim(r, frameBytesMax) }
    case TAG_SUSPECT: {
      const id = readNodeId(r, 'suspect id')
      const bootEpoch = r.varint()
      const incarnation = r.varint()
      const accuser = readNodeId(r, 'accuser id')
      return { kind: 'suspect', id, bootEpoch, incarnation, accuser }
    }
    case TAG_DEAD: {
      const id = readNodeId(r, 'dead id')
      const bootEpoch = r.varint()
      const incarnation = r.varint()
      return { kind: 'dead', id, bootEpoch, incarnation }
    }
    default:
      throw new WireError('unknown-type', `entry tag ${tag}`)
  }
}

/** The parts of a frame other than its entries; entries are passed pre-encoded. */
export type FrameHead =
  | { readonly type: 'ping' | 'ack'; readonly seq: number }
  | { readonly type: 'ping-req'; readonly seq: number; readonly target: NodeId }
  | { readonly type: 'nack'; readonly seq: number }
  | { readonly type: 'gossip' | 'join' }
  | { readonly type: 'sync'; readonly buckets: readonly number[] }
  | { readonly type: 'digest'; readonly hashes: readonly number[] }
  | { readonly type: 'fingerprints'; readonly buckets: readonly number[]; readonly fps: readonly number[] }
  | { readonly type: 'want'; readonly fps: readonly number[] }

/** Encoded size of a frame head (everything before the entry count). */
export function frameHeadBytes(head: FrameHead): number {
  switch (head.type) {
    case 'ping':
    case 'ack':
    case 'nack':
      return 2 + varintSize(head.seq)
    case 'ping-req':
      return 2 + varintSize(head.seq) + stringSize(head.target)
    case 'gossip':
    case 'join':
      return 2
    case 'sync': {
      let n = 2 + varintSize(head.buckets.length)
      for (const b of head.buckets) n += varintSize(b)
      return n
    }
    case 'digest': {
      let n = 2 + varintSize(head.hashes.length)
      for (const h of head.hashes) n += varintSize(h)
      return n
    }
    case 'fingerprints': {
      let n = 2 + varintSize(head.buckets.length) + varintSize(head.fps.length)
      for (const b of head.buckets) n += varintSize(b)
      for (const f of head.fps) n += varintSize(f)
      return n
    }
    case 'want': {
      let n = 2 + varintSize(head.fps.length)
      for (const f of head.fps) n += varintSize(f)
      return n
    }
  }
}

/** Frames that carry entries. */
export function carriesEntries(type: FrameType): boolean {
  return type === 'ping' || type === 'ack' || type === 'gossip' || type === 'join' || type === 'sync'
}

/**
 * Encodes a frame head into a Writer bounded by frameBytesMax, leaving room for entries: the
 * caller then calls `appendEntries`. Throws WireError('oversized') if the head alone does not fit
 * (a bug in the caller).
 */
export function beginFrame(
  head: FrameHead,
  frameBytesMax: number,
  initialBytes = frameHeadBytes(head) + 1,
): Writer {
  const w = new Writer(frameBytesMax, Math.max(initialBytes, 8))
  w.u8(WIRE_VERSION).u8(TYPE_CODES[head.type])
  switch (head.type) {
    case 'ping':
    case 'ack':
    case 'nack':
      w.varint(head.seq)
      break
    case 'ping-req':
      w.varint(head.seq).string(head.target)
      break
    case 'gossip':
    case 'join':
      break
    case 'sync':
      w.varint(head.buckets.length)
      for (const b of head.buckets) w.varint(b)
      break
    case 'digest':
      w.varint(head.hashes.length)
      for (const h of head.hashes) w.varint(h)
      break
    case 'fingerprints':
      w.varint(head.buckets.length)
      for (const b of head.buckets) w.varint(b)
      w.varint(head.fps.length)
      for (const f of head.fps) w.varint(f)
      break
    case 'want':
      w.varint(head.fps.length)
      for (const f of head.fps) w.varint(f)
      break
  }
  return w
}

/**
 * Appends as many of `entries` (pre-encoded, in priority order) as fit, behind a count, and
 * returns how many were taken. A frame that carries entries must call this exactly once.
 */
export function appendEntries(w: Writer, entries: readonly Uint8Array[]): number {
  const room = w.remaining() - 1 // the count fits one byte (ENTRIES_MAX < 128)
  let n = 0
  let used = 0
  for (const e of entries) {
    if (n === ENTRIES_MAX || used + e.length > room) break
    used += e.length
    n++
  }
  w.varint(n)
  for (let i = 0; i < n; i++) w.raw(entries[i] as Uint8Array)
  return n
}

/** Bytes left for entries in a frame begun with `beginFrame`. */
export function entryRoom(w: Writer): number {
  return w.remaining() - 1
}

/** Whole-frame convenience (tests, small frames): head plus all entries, which must fit. */
export function encodeFrame(f: Frame, frameBytesMax: number): Uint8Array {
  const w = beginFrame(f as FrameHead, frameBytesMax)
  if ('entries' in f) {
    const raw = f.entries.map((e) => encodeEntry(e, frameBytesMax))
    const n = appendEntries(w, raw)
    if (n !== raw.length) throw new WireError('oversized', `${raw.length - n} entries do not fit`)
  }
  return w.finish()
}

/** Decodes one frame; throws WireError on any malformed, oversized or unknown input. */
export function decodeFrame(bytes: Uint8Array, frameBytesMax: number): Frame {
  if (bytes.length > frameBytesMax)
    throw new WireError('oversized', `frame ${bytes.length} B > ${frameBytesMax} B`)
  const r = new Reader(bytes)
  const version = r.u8()
  if (version !== WIRE_VERSION) throw new WireError('bad-version', `membership wire version ${version}`)
  const code = r.u8()
  const type = TYPE_BY_CODE[code]
  if (type === undefined) throw new WireError('unknown-type', `membership frame type ${code}`)
  let frame: Frame
  switch (type) {
    case 'ping':
    case 'ack': {
      const seq = r.varint()
      frame = { type, seq, entries: readEntries(r, frameBytesMax) }
      break
    }
    case 'ping-req': {
      const seq = r.varint()
      frame = { type, seq, target: readNodeId(r, 'target id') }
      break
    }
    case 'nack':
      frame = { type, seq: r.varint() }
      break
    case 'gossip':
    case 'join':
      frame = { type, entries: readEntries(r, frameBytesMax) }
      break
    case 'sync': {
      const n = r.varintMax(BUCKETS_MAX, 'bucket count')
      const buckets: number[] = []
      for (let i = 0; i < n; i++) buckets.push(r.varintMax(BUCKETS_MAX - 1, 'bucket'))
      frame = { type, buckets, entries: readEntries(r, frameBytesMax) }
      break
    }
    case 'digest': {
      const n = r.varintMax(BUCKETS_MAX, 'bucket count')
      if (n === 0) throw new WireError('bad-value', 'empty digest')
      const hashes: number[] = []
      for (let i = 0; i < n; i++) hashes.push(r.varintMax(0xffffffff, 'bucket hash'))
      frame = { type, hashes }
      break
    }
    case 'fingerprints': {
      const n = r.varintMax(BUCKETS_MAX, 'bucket count')
      if (n === 0) throw new WireError('bad-value', 'fingerprints of no bucket')
      const buckets: number[] = []
      for (let i = 0; i < n; i++) buckets.push(r.varintMax(BUCKETS_MAX - 1, 'bucket'))
      frame = { type, buckets, fps: readFingerprints(r, 0) }
      break
    }
    case 'want':
      frame = { type, fps: readFingerprints(r, 1) }
      break
  }
  r.end()
  return frame
}

function readFingerprints(r: Reader, countMin: number): number[] {
  const n = r.varintMax(FINGERPRINTS_MAX, 'fingerprint count')
  if (n < countMin) throw new WireError('bad-value', 'no fingerprints')
  const fps: number[] = []
  for (let i = 0; i < n; i++) fps.push(r.varintMax(0xffffffff, 'fingerprint'))
  return fps
}

/** Shared by every decoded frame without entries (frozen: never added to). */
const NO_ENTRIES: readonly Entry[] = Object.freeze([])

function readEntries(r: Reader, frameBytesMax: number): readonly Entry[] {
  const n = r.varintMax(ENTRIES_MAX, 'entry count')
  if (n === 0) return NO_ENTRIES // most pings and acks
  const out: Entry[] = []
  for (let i = 0; i < n; i++) out.push(readEntry(r, frameBytesMax))
  return out
}
