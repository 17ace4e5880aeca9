import { describe, expect, it } from 'vitest'
import { runMembershipScenario } from './run.js'
import { membershipScenarios } from './types.js'

describe('membership scenarios on real Membership machines', () => {
  it('crash: every crash is detected everywhere, with no false deaths and no invariant-7 break', () => {
    const r = runMembershipScenario({ nodes: 40, seed: 11, scenario: 'crash', durationS: 12 })
    expect(r.warmupMs).not.toBeNull()
    expect(r.detectSamples).toBeGreaterThanOrEqual(4)
    expect(r.undetected).toBe(0)
    expect(r.detectFirstP50Ms).toBeGreaterThan(0)
    expect(r.detectAllP99Ms).toBeGreaterThanOrEqual(r.detectFirstP99Ms ?? Number.POSITIVE_INFINITY)
    expect(r.falseDeaths).toBe(0)
    expect(r.invariant7Violations).toBe(0)
    expect(r.msgsPerNodePerSecMean).toBeGreaterThan(0)
    expect(r.msgsPerNodePerSecMax).toBeGreaterThanOrEqual(r.msgsPerNodePerSecMean)
  })

  it('converged warm-up starts from the view a real join reaches; both warm-ups detect crashes', () => {
    const conv = runMembershipScenario({ nodes: 30, seed: 4, scenario: 'crash', durationS: 8 })
    const join = runMembershipScenario({
      nodes: 30,
      seed: 4,
      scenario: 'crash',
      durationS: 8,
      warmup: 'join',
    })
    expect(conv.warmup).toBe('converged')
    expect(join.warmup).toBe('join')
    // Converged at the first check (the end of the 1 s bootstrap); a real join takes longer.
    expect(conv.warmupMs).toBe(1000)
    expect(join.warmupMs).toBeGreaterThan(1000)
    for (const r of [conv, join]) {
      expect(r.detectSamples).toBeGreaterThanOrEqual(2)
      expect(r.undetected).toBe(0)
      expect(r.falseDeaths).toBe(0)
    }
  })

  it('the same seed gives the same trace hash; another seed another', () => {
    const a = runMembershipScenario({ nodes: 25, seed: 5, scenario: 'churn', durationS: 10 })
    const b = runMembershipScenario({ nodes: 25, seed: 5, scenario: 'churn', durationS: 10 })
    const c = runMembershipScenario({ nodes: 25, seed: 6, scenario: 'churn', durationS: 10 })
    expect(b.traceHash).toBe(a.traceHash)
    expect(c.traceHash).not.toBe(a.traceHash)
  })

  it.each(membershipScenarios.filter((s) => s !== 'crash'))(
    '%s runs to the end and keeps invariant 7',
    (scenario) => {
      const r = runMembershipScenario({
        nodes: 25,
        seed: 2,
        scenario,
        durationS: scenario === 'partition' ? 25 : 12,
      })
      expect(r.invariant7Violations).toBe(0)
      expect(r.simSeconds).toBeGreaterThan(0)
      if (scenario === 'join') expect(r.joinAllSeeAllMs).not.toBeNull()
      if (scenario === 'partition') expect(r.healConvergeMs).not.toBeNull()
      if (scenario === 'loss') expect(r.dropped.loss).toBeGreaterThan(0)
      if (scenario === 'pause') expect(r.pausedDeclaredDead).not.toBeNull()
    },
  )
})
