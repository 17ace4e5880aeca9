import { performance } from 'node:perf_hooks'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { skewedClock } from './clock.js'

describe('skewedClock (test-only clock of the chaos harness)', () => {
  let realMs = 1000
  afterEach(() => vi.restoreAllMocks())
  const useFakeNow = () => vi.spyOn(performance, 'now').mockImplementation(() => realMs)

  it('runs driftPpm fast and starts offsetMs ahead', () => {
    useFakeNow()
    const c = skewedClock(500, 10_000)
    const t0 = c.nowMs()
    realMs += 1000
    expect(c.nowMs() - t0).toBeCloseTo(1010, 6)
    expect(c.offsetMs()).toBe(500)
  })

  it('set() changes the rate without a jump and steps by the change in offset only', () => {
    useFakeNow()
    const c = skewedClock(0, 0)
    realMs += 100
    const before = c.nowMs()
    c.set(0, -5000)
    expect(c.nowMs()).toBeCloseTo(before, 9)
    realMs += 1000
    expect(c.nowMs() - before).toBeCloseTo(995, 6)
    const mid = c.nowMs()
    c.set(250, -5000)
    expect(c.nowMs() - mid).toBeCloseTo(250, 9)
  })
})
