import { describe, expect, it } from 'vitest'
import { bridge, components, loss, oneWay, ring, rulesFor, split } from './network-faults.js'

const hears = (drops: Array<[number, number]>, to: number, from: number) =>
  !drops.some(([f, t]) => f === from && t === to)

describe('network faults', () => {
  it('split cuts both ways between the sides only', () => {
    const { drops } = split([0, 1], 5)
    expect(hears(drops, 0, 1)).toBe(true)
    expect(hears(drops, 2, 0)).toBe(false)
    expect(hears(drops, 0, 2)).toBe(false)
    expect(hears(drops, 3, 4)).toBe(true)
  })

  it('bridge: the bridge node hears both halves, the halves do not hear each other', () => {
    const { drops } = bridge([2, 0, 1, 3, 4])
    for (const x of [0, 1, 3, 4]) expect(hears(drops, 2, x) && hears(drops, x, 2)).toBe(true)
    expect(hears(drops, 0, 3)).toBe(false)
    expect(hears(drops, 0, 1)).toBe(true)
  })

  it('majorities ring: every node hears a bare majority (itself included), no two the same', () => {
    const n = 7
    const order = [3, 6, 0, 2, 5, 1, 4]
    const { drops } = ring(order)
    const views = order.map((x) =>
      order
        .filter((y) => y === x || hears(drops, x, y))
        .sort()
        .join(','),
    )
    for (const v of views) expect(v.split(',').length).toBeGreaterThan(n / 2)
    expect(new Set(views).size).toBe(n)
  })

  it('one-way: the others stop hearing the side; the side still hears them', () => {
    const { drops } = oneWay([0], 3)
    expect(hears(drops, 1, 0)).toBe(false)
    expect(hears(drops, 0, 1)).toBe(true)
  })

  it('rules: accept the resource first, drop cut peers, loss from the subnet with the highest probability', () => {
    const ip = (i: number) => `10.77.0.${10 + i}`
    const rules = rulesFor(
      0,
      [split([0], 3), loss([0, 1], 0.1), loss([0], 0.25)],
      ip,
      '10.77.0.1',
      '10.77.0.0/24',
    )
    const lines = rules.split('\n')
    expect(lines.indexOf('-A INPUT -s 10.77.0.1/32 -j ACCEPT')).toBeLessThan(
      lines.indexOf('-A INPUT -s 10.77.0.11/32 -j DROP'),
    )
    expect(lines).toContain('-A INPUT -s 10.77.0.12/32 -j DROP')
    expect(lines).toContain(
      '-A INPUT -s 10.77.0.0/24 -m statistic --mode random --probability 0.2500 -j DROP',
    )
    expect(rulesFor(2, [], ip, '10.77.0.1', '10.77.0.0/24')).not.toContain('DROP')
  })
})

describe('components (who can still talk over TCP under one fault)', () => {
  it('a split and a one-way cut both isolate their side; ring and bridge keep everyone connected', () => {
    expect(components(5, split([1, 3], 5))).toEqual([
      [0, 2, 4],
      [1, 3],
    ])
    expect(components(5, oneWay([2], 5))).toEqual([[0, 1, 3, 4], [2]])
    expect(components(5, ring([0, 1, 2, 3, 4]))).toEqual([[0, 1, 2, 3, 4]])
    expect(components(5, bridge([0, 1, 2, 3, 4]))).toEqual([[0, 1, 2, 3, 4]])
  })
})
