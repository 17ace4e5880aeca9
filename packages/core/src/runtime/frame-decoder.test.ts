import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { WireError } from '../wire/errors.js'
import { encodeFrame, FrameDecoder } from './frame-decoder.js'

describe('FrameDecoder', () => {
  it('reassembles any frames split at any points', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 30 }),
        (frames, cuts) => {
          const all = Buffer.concat(frames.map(encodeFrame))
          const dec = new FrameDecoder(300)
          const out: Uint8Array[] = []
          let pos = 0
          let c = 0
          while (pos < all.length) {
            const step = cuts[c++ % cuts.length] as number
            out.push(...dec.push(new Uint8Array(all.subarray(pos, pos + step))))
            pos += step
          }
          expect(out.map((f) => Buffer.from(f).toString('hex'))).toEqual(
            frames.map((f) => Buffer.from(f).toString('hex')),
          )
          expect(dec.pendingBytes).toBe(0)
        },
      ),
    )
  })

  it('rejects a frame above the bound from its header alone', () => {
    const dec = new FrameDecoder(100)
    expect(() => dec.push(encodeFrame(new Uint8Array(101)).subarray(0, 2))).toThrow(WireError)
  })

  it('rejects a non-minimal or overlong length', () => {
    expect(() => new FrameDecoder(100).push(Uint8Array.of(0x81, 0x00))).toThrow(/non-minimal/)
    expect(() => new FrameDecoder(1 << 30).push(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x01))).toThrow(
      /longer/,
    )
  })

  it('never buffers more than one bounded frame, whatever the input', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 40 }), (chunks) => {
        const dec = new FrameDecoder(128)
        for (const chunk of chunks) {
          try {
            dec.push(chunk)
          } catch (err) {
            expect(err).toBeInstanceOf(WireError)
            return
          }
          expect(dec.pendingBytes).toBeLessThanOrEqual(128 + 4)
        }
      }),
    )
  })
})
