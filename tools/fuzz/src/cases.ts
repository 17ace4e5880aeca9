/**
 * Fuzz cases, generated from a seeded Rng and the seed corpus: each is the exact bytes written to
 * one protocol stream (length prefix included), so the transport's framing is fuzzed as well as
 * the decoders behind it. The same seed and corpus give the same cases.
 */
import type { Layer, Rng } from '@conclave/core'
import type { SeedFrame } from './corpus.js'

export type CaseKind =
  | 'valid' // a real frame replayed unchanged (a relay of someone else's traffic)
  | 'mutated' // a real frame with 1–4 byte-level mutations
  | 'forged-claim' // a real membership frame with one bit of its last claim's signature flipped
  | 'cross-layer' // a real frame of another layer
  | 'random' // random bytes, 0–1300 long
  | 'oversized' // a well-framed body above the decoders' 1200-byte bound
  | 'bad-prefix' // a broken length prefix: overlong, non-minimal, or above the transport's frame bound

export interface FuzzCase {
  kind: CaseKind
  layer: Layer
  /** Bytes to write on the stream, length prefix included. */
  wire: Uint8Array
}

const LAYERS: readonly Layer[] = ['membership', 'shard', 'global']
const KIND_WEIGHTS: ReadonlyArray<[CaseKind, number]> = [
  ['valid', 8],
  ['mutated', 52],
  ['forged-claim', 8],
  ['cross-layer', 8],
  ['random', 14],
  ['oversized', 5],
  ['bad-prefix', 5],
]
export const CASE_KINDS: readonly CaseKind[] = KIND_WEIGHTS.map(([k]) => k)

export function varint(n: number): Uint8Array {
  const out: number[] = []
  let v = n
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80)
    v >>>= 7
  }
  out.push(v)
  return Uint8Array.from(out)
}

export function framed(body: Uint8Array): Uint8Array {
  const prefix = varint(body.length)
  const out = new Uint8Array(prefix.length + body.length)
  out.set(prefix)
  out.set(body, prefix.length)
  return out
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = rng.int(256)
  return out
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[rng.int(items.length)]
  if (item === undefined) throw new Error('pick from an empty list')
  return item
}

/** One byte-level mutation of `b` (a new array). */
function mutateOnce(rng: Rng, b: Uint8Array, corpus: readonly SeedFrame[]): Uint8Array {
  const at = b.length > 0 ? rng.int(b.length) : 0
  switch (rng.int(8)) {
    case 0: {
      const out = b.slice()
      if (out.length > 0) out[at] = (out[at] as number) ^ (1 << rng.int(8))
      return out
    }
    case 1: {
      const out = b.slice()
      if (out.length > 0) out[at] = rng.int(256)
      return out
    }
    case 2:
      return b.slice(0, at) // truncate
    case 3: {
      const ins = randomBytes(rng, 1 + rng.int(16))
      const out = new Uint8Array(b.length + ins.length)
      out.set(b.subarray(0, at))
      out.set(ins, at)
      out.set(b.subarray(at), at + ins.length)
      return out
    }
    case 4: {
      const len = Math.min(b.length - at, 1 + rng.int(16))
      const out = new Uint8Array(b.length - len)
      out.set(b.subarray(0, at))
      out.set(b.subarray(at + len), at)
      return out
    }
    case 5: {
      // splice: our head, another frame's tail
      const other = pick(rng, corpus).bytes
      const cut = other.length > 0 ? rng.int(other.length) : 0
      const out = new Uint8Array(at + other.length - cut)
      out.set(b.subarray(0, at))
      out.set(other.subarray(cut), at)
      return out
    }
    case 6: {
      // an extreme value where a varint or count is likely
      const out = b.slice()
      for (let i = at; i < Math.min(out.length, at + 1 + rng.int(5)); i++)
        out[i] = rng.int(2) === 0 ? 0xff : 0x00
      return out
    }
    default: {
      const out = b.slice()
      if (out.length > 1) out[1] = rng.int(256) // the type byte (after the version byte)
      return out
    }
  }
}

/** The next case; `kinds` restricts the mix (default: all, weighted as KIND_WEIGHTS). */
export function nextCase(
  rng: Rng,
  corpus: readonly SeedFrame[],
  frameBytesMax: number,
  kinds: readonly CaseKind[] = CASE_KINDS,
): FuzzCase {
  const weights = KIND_WEIGHTS.filter(([k]) => kinds.includes(k))
  let r = rng.int(weights.reduce((s, [, w]) => s + w, 0))
  let kind: CaseKind = 'mutated'
  for (const [k, w] of weights) {
    if (r < w) {
      kind = k
      break
    }
    r -= w
  }
  const seed = pick(rng, corpus)
  switch (kind) {
    case 'valid':
      return { kind, layer: seed.layer, wire: framed(seed.bytes) }
    case 'mutated': {
      let b = seed.bytes
      const n = 1 + rng.int(4)
      for (let i = 0; i < n; i++) b = mutateOnce(rng, b, corpus)
      return { kind, layer: seed.layer, wire: framed(b) }
    }
    case 'forged-claim': {
      const withClaims = corpus.filter((f) => f.layer === 'membership' && f.bytes.length > 100)
      const base = (withClaims.length > 0 ? pick(rng, withClaims) : seed).bytes.slice()
      // Entries end with their Ed25519 signature (64 bytes): flip a bit in the last one.
      const at = base.length - 1 - rng.int(Math.min(64, base.length))
      base[at] = (base[at] as number) ^ (1 << rng.int(8))
      return { kind, layer: 'membership', wire: framed(base) }
    }
    case 'cross-layer': {
      const others = LAYERS.filter((l) => l !== seed.layer)
      return { kind, layer: pick(rng, others), wire: framed(seed.bytes) }
    }
    case 'random':
      return { kind, layer: pick(rng, LAYERS), wire: framed(randomBytes(rng, rng.int(1301))) }
    case 'oversized': {
      const body = randomBytes(rng, 1201 + rng.int(Math.min(frameBytesMax, 64 * 1024) - 1201))
      body.set(seed.bytes.subarray(0, Math.min(seed.bytes.length, body.length)))
      return { kind, layer: seed.layer, wire: framed(body) }
    }
    case 'bad-prefix': {
      const prefixes = [
        Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), // longer than 4 bytes
        Uint8Array.of(0x81, 0x00), // non-minimal
        varint(frameBytesMax + 1 + rng.int(1 << 20)), // above the frame bound
      ]
      return { kind, layer: pick(rng, LAYERS), wire: pick(rng, prefixes) }
    }
  }
}
