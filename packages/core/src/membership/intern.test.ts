import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { WireError } from '../wire/errors.js'
import { internIdBytes } from './intern.js'

const enc = new TextEncoder()

describe('internIdBytes', () => {
  it('returns the UTF-8 decoding of the bytes, one shared string per distinct ascii id', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), (s) => {
        const a = internIdBytes(enc.encode(s), 'id')
        const b = internIdBytes(Uint8Array.from(enc.encode(s)), 'id')
        expect(a).toBe(s)
        expect(b).toBe(s)
      }),
      { numRuns: 2000 },
    )
  })

  it('decodes non-ASCII ids exactly (not interned) and tells ids with a common tail apart', () => {
    expect(internIdBytes(enc.encode('nœud-é-🙂'), 'id')).toBe('nœud-é-🙂')
    const tail = 'x'.repeat(20)
    expect(internIdBytes(enc.encode(`a${tail}`), 'id')).toBe(`a${tail}`)
    expect(internIdBytes(enc.encode(`b${tail}`), 'id')).toBe(`b${tail}`)
    expect(internIdBytes(enc.encode(`a${tail}`), 'id')).toBe(`a${tail}`)
  })

  it('rejects invalid UTF-8 with a WireError', () => {
    expect(() => internIdBytes(Uint8Array.of(0x41, 0xff, 0x42), 'id')).toThrow(WireError)
  })
})
