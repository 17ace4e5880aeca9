import { describe, expect, it } from 'vitest'
import { UsageError } from '../options.js'
import { probeIntervalMs } from './chaos-probe.js'

describe('chaos probe interval (CONCLAVE_TEST_CHAOS_INTERVAL_MS)', () => {
  it('defaults to 25 ms and accepts integers in [5, 1000]', () => {
    expect(probeIntervalMs(undefined)).toBe(25)
    expect(probeIntervalMs('')).toBe(25)
    expect(probeIntervalMs('5')).toBe(5)
    expect(probeIntervalMs('1000')).toBe(1000)
  })

  it('refuses 0, NaN, fractions and out-of-range values instead of spinning the event loop', () => {
    for (const bad of ['0', 'NaN', 'abc', '2.5', '4', '1001', '-25'])
      expect(() => probeIntervalMs(bad)).toThrow(UsageError)
  })
})
