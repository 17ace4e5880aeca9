import { describe, expect, it } from 'vitest'
import { FAULT_KINDS, planSchedule } from './schedule.js'

const shape = { nodes: 9, driftBound: 0.01, seeds: 3 }

describe('fault schedules', () => {
  it('the same seed and index give the same schedule; another index another one', () => {
    expect(planSchedule(42, 7, shape)).toEqual(planSchedule(42, 7, shape))
    expect(planSchedule(42, 7, shape)).not.toEqual(planSchedule(42, 8, shape))
  })

  it('stay within bounds over many schedules and use every kind', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 400; i++) {
      const s = planSchedule(1, i, shape)
      expect(s.faults.length).toBeLessThanOrEqual(3)
      for (const f of s.faults) {
        seen.add(f.kind)
        expect(f.startMs).toBeLessThan(7000)
        expect(f.durationMs).toBeLessThanOrEqual(8000)
        for (const x of f.nodes) expect(x >= 0 && x < shape.nodes).toBe(true)
        if (f.kind === 'clock') expect(Math.abs(f.amount)).toBeLessThanOrEqual(9000)
        if (f.kind === 'split') expect(f.nodes.length).toBeLessThanOrEqual(4)
        if (f.kind === 'leave-join') expect(f.nodes[0]).toBeGreaterThanOrEqual(shape.seeds)
        if (f.kind === 'pause') expect(f.durationMs).toBeGreaterThan(656)
      }
    }
    expect([...seen].sort()).toEqual([...FAULT_KINDS].sort())
  })

  it('honours a kinds filter', () => {
    for (let i = 0; i < 50; i++)
      for (const f of planSchedule(3, i, { ...shape, kinds: ['pause'] }).faults) expect(f.kind).toBe('pause')
  })
})
