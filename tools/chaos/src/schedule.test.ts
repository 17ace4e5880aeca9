import { optionsIn, parseFlags } from '@conclave/flags'
import { describe, expect, it } from 'vitest'
import { CHAOS_USAGE, replayCommand } from './cli-args.js'
import { globalLeaseMs } from './run.js'
import { FAULT_KINDS, type FaultKind, planSchedule } from './schedule.js'

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
        if (f.kind === 'pause') expect(f.durationMs).toBeGreaterThan(globalLeaseMs().leaseMs)
      }
    }
    expect([...seen].sort()).toEqual([...FAULT_KINDS].sort())
  })

  it('honours a kinds filter', () => {
    for (let i = 0; i < 50; i++)
      for (const f of planSchedule(3, i, { ...shape, kinds: ['pause'] }).faults) expect(f.kind).toBe('pause')
  })
})

describe('the printed replay command', () => {
  it('parses back to the same schedule (nodes, seed, index, fault kinds) and keeps --break', () => {
    const spec = {
      nodes: 7,
      seed: 2,
      schedule: 5,
      faults: ['pause', 'isolate-leader'] as FaultKind[],
      breakRules: ['lease'],
      livenessMs: 12_000,
      warmupMs: 60_000,
    }
    const words = replayCommand(spec).split(' ')
    expect(words.slice(0, 2)).toEqual(['pnpm', 'chaos'])
    // Parsed as the CLI parses them: every replay flag is one the CLI accepts.
    const flags = parseFlags(words.slice(2), optionsIn(CHAOS_USAGE), CHAOS_USAGE)
    const kinds = flags.get('faults')?.split(',') as FaultKind[]
    const replayed = planSchedule(Number(flags.get('seed')), Number(flags.get('schedule')), {
      ...shape,
      nodes: Number(flags.get('nodes')),
      kinds,
    })
    const original = planSchedule(spec.seed, spec.schedule, {
      ...shape,
      nodes: spec.nodes,
      kinds: spec.faults,
    })
    expect(replayed).toEqual(original)
    // Without --faults the replay would draw from every kind: a different schedule.
    expect(planSchedule(2, 5, { ...shape, nodes: 7 })).not.toEqual(original)
    expect(flags.get('break')).toBe('lease')
    expect(Number(flags.get('liveness-ms'))).toBe(12_000)
    expect(Number(flags.get('warmup-ms'))).toBe(60_000)
  })
})
