import type { ConclaveMachine } from '@conclave/core'
import { describe, expect, it } from 'vitest'
import { idsFor } from '../../peer-ids.js'
import { ElectionRun } from './harness.js'
import { runElection } from './run-election.js'
import { scenarioNamed } from './scenarios.js'
import { bullySubject, conclaveSubject, subjectFor } from './subjects.js'

const scenario = (name: string) => {
  const s = scenarioNamed(name)
  if (s === undefined) throw new Error(`no scenario ${name}`)
  return s
}

describe('election harness on the baselines', () => {
  it('measures flat Raft failovers from the trace, with no violation when only crashes happen', () => {
    const r = runElection({
      algo: 'raft',
      nodes: 7,
      seed: 3,
      scenario: scenario('crash-global-leader'),
      makeSubject: subjectFor('raft'),
      repeats: 3,
    })
    expect(r.violations).toBe(0)
    expect(r.globalFailovers).toBe(3)
    expect(r.globalFailoversUnrecovered).toBe(0)
    // Raft §5.2: a follower waits 150–300 ms, so no failover beats the shortest timeout.
    expect(r.globalFailoverP50Ms).toBeGreaterThanOrEqual(150)
    expect(r.globalFailoverMaxMs).toBeLessThan(2000)
    expect(r.livenessOk).toBe(true)
    expect(r.fencedWritesAccepted).toBeGreaterThan(0)
  })

  it('replays exactly: same seed, same trace hash', () => {
    const run = () =>
      runElection({
        algo: 'bully',
        nodes: 6,
        seed: 11,
        scenario: scenario('pause-leader'),
        makeSubject: subjectFor('bully'),
        repeats: 2,
      })
    expect(run().traceHash).toBe(run().traceHash)
  })

  it('catches a real algorithm breaking the invariants: Bully elects one leader per side of a partition', () => {
    const r = runElection({
      algo: 'bully',
      nodes: 9,
      seed: 5,
      scenario: scenario('partition-majority'),
      makeSubject: subjectFor('bully'),
      repeats: 2,
    })
    expect(r.violationsByRule['2:two-acting-leaders']).toBeGreaterThan(0)
    expect(r.violationsByRule['5:minority-acting-leader']).toBeGreaterThan(0)
  })

  it('Bully elects its first leader with at most one ELECTION per (node, higher node) pair', () => {
    // ELECTIONs still in flight when the highest node won used to restart an election at every
    // follower they reached, wave after wave: 66,489 ELECTIONs for the first leader at N = 100
    // (O(N³); N = 1000 never finished). Each node now asks its higher nodes at most once here.
    const n = 100
    const ids = idsFor(n, 1)
    const run = new ElectionRun({ subject: bullySubject({ ids }), ids, seed: 1 })
    expect(run.runUntilAgreed(2000)).toBeDefined()
    run.sim.runFor(500)
    const elections = run.sim.accounting.byType().get('global/bully-election')?.sentMsgs ?? 0
    expect(elections).toBeGreaterThan(0)
    expect(elections).toBeLessThanOrEqual((n * (n - 1)) / 2)
  })

  it('counts the disruptions flat Raft suffers without PreVote when a partitioned minority returns', () => {
    const r = runElection({
      algo: 'raft',
      nodes: 9,
      seed: 2,
      scenario: scenario('partition-majority'),
      makeSubject: subjectFor('raft'),
      repeats: 3,
    })
    expect(r.disruptions).toBeGreaterThan(0)
  })
})

describe('election harness on Conclave: growth', () => {
  it('60 nodes joining a 5-node cluster split into shards of 3–9 voters, every node voting', () => {
    const r = runElection({
      algo: 'conclave',
      nodes: 60,
      seed: 2,
      scenario: scenario('growth'),
      makeSubject: subjectFor('conclave'),
      repeats: 1,
      steadySettleMs: 1000,
    })
    expect(r.violations).toBe(0)
    expect(r.nodesWithoutShard).toBe(0)
    expect(r.shards).toBeGreaterThanOrEqual(7)
    expect(r.shardVotersMin).toBeGreaterThanOrEqual(3)
    expect(r.shardVotersMax).toBeLessThanOrEqual(9)
  })
})

describe('election harness on Conclave: converged start', () => {
  it('founders that start from the converged view elect a leader known to all without joining', () => {
    const n = 40
    const ids = idsFor(n, 4)
    const run = new ElectionRun({ subject: conclaveSubject({ ids, convergedStart: true }), ids, seed: 4 })
    // every founder holds every founder before the first message is delivered
    for (const id of ids) expect(run.sim.machine<ConclaveMachine>(id)?.membership.aliveCount()).toBe(n)
    expect(run.runUntilAgreed(5000)).toBeDefined()
    expect(run.sim.accounting.byType().get('membership/join')?.sentMsgs ?? 0).toBe(0)
    const r = runElection({
      algo: 'conclave',
      nodes: n,
      seed: 4,
      start: 'converged',
      scenario: scenario('crash-global-leader'),
      makeSubject: subjectFor('conclave'),
      repeats: 2,
      steadySettleMs: 1000,
    })
    expect(r.start).toBe('converged')
    expect(r.violations).toBe(0)
    expect(r.globalFailovers).toBe(2)
    expect(r.globalFailoversUnrecovered).toBe(0)
    expect(r.livenessOk).toBe(true)
  })
})

describe('a starved host (ElectionRunInit.starve)', () => {
  const launch = (starve?: { pauseMsMean: number; runMsMean: number }) =>
    runElection({
      algo: 'conclave',
      nodes: 15,
      seed: 2,
      scenario: scenario('crash-global-leader'),
      makeSubject: subjectFor('conclave'),
      repeats: 1,
      warmupMaxMs: 120_000,
      ...(starve ? { starve } : {}),
    })

  it('replays exactly, delays the launch, and stops at the first leader (the failovers after run unstarved)', () => {
    const calm = launch()
    const a = launch({ pauseMsMean: 150, runMsMean: 100 })
    const b = launch({ pauseMsMean: 150, runMsMean: 100 })
    expect(a.traceHash).toBe(b.traceHash)
    expect(a.traceHash).not.toBe(calm.traceHash)
    expect(a.firstLeaderMs).not.toBeNull()
    expect(a.firstLeaderMs ?? 0).toBeGreaterThan(calm.firstLeaderMs ?? Number.POSITIVE_INFINITY)
    // The counters are summed at the first leader: its won vote is among them.
    expect(a.launchGlobalElection['vote.ended.won'] ?? 0).toBeGreaterThanOrEqual(1)
    expect(a.violations).toBe(0)
    expect(a.globalFailoversUnrecovered).toBe(0)
  })
})
