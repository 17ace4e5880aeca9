import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createRng, shuffle } from './rng.js'

describe('rng', () => {
  it('replays the same stream from the same seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (seed) => {
        const a = createRng(seed)
        const b = createRng(seed)
        for (let i = 0; i < 20; i++) expect(a.nextU32()).toBe(b.nextU32())
      }),
    )
  })

  it('int(n) stays in [0, n) and covers it', () => {
    const rng = createRng(7)
    const seen = new Set<number>()
    for (let i = 0; i < 2000; i++) {
      const v = rng.int(10)
      expect(v).toBeGreaterThanOrEqual(0)
      expect(v).toBeLessThan(10)
      seen.add(v)
    }
    expect(seen.size).toBe(10)
  })

  it('float() is roughly uniform', () => {
    const rng = createRng(42)
    const buckets = new Array<number>(10).fill(0)
    const n = 100_000
    for (let i = 0; i < n; i++) buckets[Math.floor(rng.float() * 10)]!++
    for (const b of buckets) expect(Math.abs(b - n / 10)).toBeLessThan(n / 100)
  })

  it('shuffle is a permutation', () => {
    const rng = createRng(1)
    const xs = Array.from({ length: 50 }, (_, i) => i)
    const ys = shuffle(rng, [...xs])
    expect([...ys].sort((a, b) => a - b)).toEqual(xs)
    expect(ys).not.toEqual(xs)
  })
})
