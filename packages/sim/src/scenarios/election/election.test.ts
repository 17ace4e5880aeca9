import { describe, expect, it } from 'vitest'
import { runElection } from './run-election.js'
import { scenarioNamed } from './scenarios.js'
import { subjectFor } from './subjects.js'

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
