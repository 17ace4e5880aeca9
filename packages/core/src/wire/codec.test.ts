import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Reader, stringSize, utf8Length, varintSize, Writer } from './codec.js'
import { WireError } from './errors.js'

describe('wire codec primitives', () => {
  it('round-trips varints, bytes and strings', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ maxLength: 64 }),
        fc.string({ maxLength: 40 }),
        (n, b, s) => {
          const w = new Writer(1024).varint(n).bytes(b).string(s)
          expect(w.length).toBe(varintSize(n) + varintSize(b.length) + b.length + stringSize(s))
          const r = new Reader(w.finish())
          expect(r.varint()).toBe(n)
          expect(r.bytes(64)).toEqual(b)
          expect(r.string(200)).toBe(s)
          r.end()
        },
      ),
    )
  })

  it('utf8Length matches TextEncoder', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (s) => {
        expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length)
      }),
    )
  })

  it('rejects non-minimal and overlong varints', () => {
    expect(() => new Reader(Uint8Array.of(0x80, 0x00)).varint()).toThrow(WireError)
    expect(() => new Reader(new Uint8Array(9).fill(0xff)).varint()).toThrow(/bad-varint/)
    expect(() => new Reader(Uint8Array.of(0x80)).varint()).toThrow(/truncated/)
  })

  it('enforces length bounds before allocating', () => {
    const w = new Writer(64).varint(1_000_000)
    expect(() => new Reader(w.finish()).bytes(100)).toThrow(/oversized/)
    expect(() => new Writer(4).bytes(new Uint8Array(10))).toThrow(/oversized/)
  })

  it('never throws anything but WireError on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const r = new Reader(bytes)
        try {
          r.varint()
          r.string(32)
          r.bytes(32)
          r.bool()
          r.end()
        } catch (e) {
          expect(e).toBeInstanceOf(WireError)
        }
      }),
      { numRuns: 10_000 },
    )
  })
})
