import { describe, expect, it } from 'vitest'
import { canonical, TraceHasher } from './trace.js'

describe('canonical', () => {
  it('sorts keys, drops undefined, writes bytes as hex', () => {
    expect(canonical({ b: 1, a: [2, 'x'], c: undefined, d: Uint8Array.of(1, 255) })).toBe(
      '{"a":[2,"x"],"b":1,"d":"0x01ff"}',
    )
    expect(canonical({ a: Number.POSITIVE_INFINITY })).toBe('{"a":"Infinity"}')
  })

  it('hashes the same records to the same digest, and any change to a different one', () => {
    const ev = { kind: 'health:change', node: 'n1', atMs: 5, score: 1 } as const
    const a = new TraceHasher()
    const b = new TraceHasher()
    const c = new TraceHasher()
    a.event({ trueMs: 1, event: ev })
    b.event({ trueMs: 1, event: { score: 1, atMs: 5, node: 'n1', kind: 'health:change' } })
    c.event({ trueMs: 1.5, event: ev })
    expect(a.digest()).toBe(b.digest())
    expect(a.digest()).not.toBe(c.digest())
    expect(a.digest()).toMatch(/^[0-9a-f]{64}$/)
  })
})
