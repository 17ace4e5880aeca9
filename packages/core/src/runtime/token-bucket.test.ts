import { describe, expect, it } from 'vitest'
import { TokenBucket } from './token-bucket.js'

describe('TokenBucket', () => {
  it('allows the burst, then refills at the rate, never above the burst', () => {
    const b = new TokenBucket(5, 10, 0)
    for (let i = 0; i < 5; i++) expect(b.take(0)).toBe(true)
    expect(b.take(0)).toBe(false)
    expect(b.take(50)).toBe(false) // 0.5 token
    expect(b.take(100)).toBe(true) // 1 token after 100 ms at 10/s
    expect(b.available(10_000)).toBe(5)
    expect(b.take(10_000, 6)).toBe(false) // more than the burst: nothing taken
    expect(b.available(10_000)).toBe(5)
  })

  it('property: over any run, taken ≤ burst + rate · elapsed', () => {
    let seed = 7
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (let run = 0; run < 50; run++) {
      const burst = 1 + Math.floor(rnd() * 20)
      const perSecond = 1 + Math.floor(rnd() * 100)
      const b = new TokenBucket(burst, perSecond, 0)
      let t = 0
      let taken = 0
      for (let i = 0; i < 500; i++) {
        t += Math.floor(rnd() * 20)
        const n = 1 + Math.floor(rnd() * 3)
        if (b.take(t, n)) taken += n
      }
      expect(taken).toBeLessThanOrEqual(burst + (perSecond * t) / 1000 + 1e-9)
    }
  })
})
