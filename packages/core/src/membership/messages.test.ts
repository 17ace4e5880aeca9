import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Writer } from '../wire/codec.js'
import { WireError } from '../wire/errors.js'
import { type Claim, simSigner, writeClaimBody } from './claim.js'
import { decodeFrame, type Entry, encodeFrame, type Frame } from './messages.js'

const FRAME = 1200
const signer = simSigner()

const nodeId = fc.string({ minLength: 1, maxLength: 52, unit: 'grapheme-ascii' })
const u = fc.nat({ max: 2 ** 31 })
const meta = fc.record({
  priority: fc.nat({ max: 1000 }),
  shard: fc.option(fc.nat({ max: 500 }), { nil: null }),
  roles: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  addrs: fc.array(fc.string({ maxLength: 30 }), { maxLength: 2 }),
  version: u,
})

const claim: fc.Arbitrary<Claim> = fc
  .record({ id: nodeId, bootEpoch: u, incarnation: u, left: fc.boolean(), meta })
  .map((c) => {
    const w = new Writer(FRAME)
    writeClaimBody(w, c)
    const body = w.finish()
    return { ...c, body, sig: signer.sign(body) }
  })

const entry: fc.Arbitrary<Entry> = fc.oneof(
  claim.map((c) => ({ kind: 'claim' as const, claim: c })),
  fc
    .record({ id: nodeId, bootEpoch: u, incarnation: u, accuser: nodeId })
    .map((s) => ({ kind: 'suspect' as const, ...s })),
  fc.record({ id: nodeId, bootEpoch: u, incarnation: u }).map((d) => ({ kind: 'dead' as const, ...d })),
)
const entries = fc.array(entry, { maxLength: 4 })

const frames: Record<Frame['type'], fc.Arbitrary<Frame>> = {
  ping: fc.record({ type: fc.constant('ping' as const), seq: u, entries }),
  ack: fc.record({ type: fc.constant('ack' as const), seq: u, entries }),
  'ping-req': fc.record({ type: fc.constant('ping-req' as const), seq: u, target: nodeId }),
  nack: fc.record({ type: fc.constant('nack' as const), seq: u }),
  gossip: fc.record({ type: fc.constant('gossip' as const), entries }),
  join: fc.record({ type: fc.constant('join' as const), entries }),
  sync: fc.record({
    type: fc.constant('sync' as const),
    buckets: fc.array(fc.nat({ max: 1023 }), { maxLength: 40 }),
    entries,
  }),
  digest: fc.record({
    type: fc.constant('digest' as const),
    hashes: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 128 }),
  }),
  fingerprints: fc.record({
    type: fc.constant('fingerprints' as const),
    buckets: fc.array(fc.nat({ max: 1023 }), { minLength: 1, maxLength: 20 }),
    fps: fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 150 }),
  }),
  want: fc.record({
    type: fc.constant('want' as const),
    fps: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 150 }),
  }),
}
const frame: fc.Arbitrary<Frame> = fc.oneof(...Object.values(frames))

/** Decoding `bytes` either succeeds or throws a WireError; anything else fails the test. */
function decodesOrWireError(bytes: Uint8Array): void {
  try {
    decodeFrame(bytes, FRAME)
  } catch (err) {
    if (!(err instanceof WireError)) throw err
  }
}

describe('membership wire codec', () => {
  it('round-trips every frame type (property)', () => {
    fc.assert(
      fc.property(frame, (f) => {
        const bytes = encodeFrame(f, FRAME)
        expect(bytes.length).toBeLessThanOrEqual(FRAME)
        expect(normalise(decodeFrame(bytes, FRAME))).toEqual(normalise(f))
      }),
      { numRuns: 2000 },
    )
  })

  it('10,000 random byte strings: only WireError is ever thrown', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => decodesOrWireError(b)),
      { numRuns: 10_000 },
    )
  })

  // Every frame type is its own decoder path: 10,000 random and 10,000 mutated cases each
  // (codes 1..10 in this order).
  const types = [
    'ping',
    'ack',
    'ping-req',
    'nack',
    'gossip',
    'join',
    'sync',
    'digest',
    'fingerprints',
    'want',
  ] as const
  for (const [i, type] of types.entries()) {
    it(`${type}: 10,000 random bodies behind its header, only WireError`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (rest) =>
          decodesOrWireError(new Uint8Array([1, i + 1, ...rest])),
        ),
        { numRuns: 10_000 },
      )
    })

    it(`${type}: 10,000 mutated valid frames (flips, truncations, insertions), only WireError`, () => {
      const mutated = fc
        .tuple(
          frames[type],
          fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 }), fc.nat({ max: 2 })), {
            minLength: 1,
            maxLength: 4,
          }),
        )
        .map(([f, muts]) => {
          let b = Array.from(encodeFrame(f, FRAME))
          for (const [pos, val, op] of muts) {
            const at = b.length === 0 ? 0 : pos % b.length
            if (op === 0) b[at] = val
            else if (op === 1) b = b.slice(0, at)
            else b.splice(at, 0, val)
          }
          return new Uint8Array(b)
        })
      let rejected = 0
      fc.assert(
        fc.property(mutated, (b) => {
          try {
            decodeFrame(b, FRAME)
          } catch (err) {
            if (!(err instanceof WireError)) throw err
            rejected++
          }
        }),
        { numRuns: 10_000 },
      )
      // Mutations must actually be caught (a decoder that accepted everything would pass above).
      expect(rejected).toBeGreaterThan(2000)
    })
  }

  it('rejects oversized frames, unknown versions, types and tags, bad counts and trailing bytes', () => {
    const code = (b: Uint8Array) => {
      try {
        decodeFrame(b, FRAME)
        return 'ok'
      } catch (err) {
        return err instanceof WireError ? err.code : 'other'
      }
    }
    expect(code(new Uint8Array(FRAME + 1))).toBe('oversized')
    expect(code(new Uint8Array([2, 1, 0, 0]))).toBe('bad-version')
    expect(code(new Uint8Array([1, 99]))).toBe('unknown-type')
    expect(code(new Uint8Array([1, 5, 1, 77]))).toBe('unknown-type') // entry tag 77
    expect(code(new Uint8Array([1, 5, 0x81, 0x01]))).toBe('oversized') // 129 entries > ENTRIES_MAX
    expect(code(new Uint8Array([1, 4, 5, 0]))).toBe('trailing-bytes')
    expect(code(new Uint8Array([1, 8, 0]))).toBe('bad-value') // empty digest
    expect(code(new Uint8Array([1, 4, 5]))).toBe('ok')
  })

  it('a claim whose body was altered no longer verifies', () => {
    fc.assert(
      fc.property(claim, fc.nat(), (c, pos) => {
        const body = c.body.slice()
        const i = pos % body.length
        body[i] = (body[i] as number) ^ 0x01
        expect(signer.verify(c.id, body, c.sig)).toBe(false)
        expect(signer.verify(c.id, c.body, c.sig)).toBe(true)
      }),
      { numRuns: 500 },
    )
  })
})

/** Decoded claims carry their body as a subarray view; compare by value. */
function normalise(f: Frame): Frame {
  // Claims are compared by their fields (a decoded claim also carries its entry encoding).
  const plain = (v: unknown): unknown =>
    v && typeof v === 'object' && 'claim' in v
      ? {
          ...v,
          claim: (({ id, bootEpoch, incarnation, left, meta, body, sig }: Claim) => ({
            id,
            bootEpoch,
            incarnation,
            left,
            meta,
            body,
            sig,
          }))((v as { claim: Claim }).claim),
        }
      : v
  const g = 'entries' in f ? { ...f, entries: f.entries.map(plain) } : f
  return JSON.parse(JSON.stringify(g, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v)))
}
