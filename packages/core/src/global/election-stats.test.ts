/**
 * The global election's counters (election-stats.ts) on a whole cluster (TestNet, virtual time):
 * they count what the trace shows, and a refusal is counted under the rule that refused it.
 */
import { describe, expect, it } from 'vitest'
import { lanConclaveConfig } from '../node/conclave-config.js'
import { TestNet, testIds } from '../node/test-net.js'
import { answerBucket, type GlobalElectionStats, RESPONSE_MS_BOUNDS } from './election-stats.js'

function sum(net: TestNet, pick: (s: GlobalElectionStats) => number): number {
  return net.live().reduce((a, id) => a + pick(net.machine(id).globalElectionStats()), 0)
}

describe('global election stats', () => {
  it('buckets an answer by ms after its round started', () => {
    expect(answerBucket(0)).toBe(0)
    expect(answerBucket(25)).toBe(0)
    expect(answerBucket(25.5)).toBe(1)
    expect(answerBucket(560)).toBe(RESPONSE_MS_BOUNDS.indexOf(560))
    expect(answerBucket(5000)).toBe(RESPONSE_MS_BOUNDS.length)
  })

  it('counts the first election of a 25-node cluster: one won round per phase, answers, not-leader drops', () => {
    const net = new TestNet({ ids: testIds(25), config: lanConclaveConfig(), seed: 3 })
    net.runFor(5000)
    const leaders = net.events('global:leader')
    expect(leaders.length).toBeGreaterThan(0)
    const winner = leaders[0]?.node
    if (winner === undefined) throw new Error('no leader')
    const w = net.machine(winner).globalElectionStats()
    expect(w.ended.prevote.won).toBeGreaterThanOrEqual(1)
    expect(w.ended.vote.won).toBeGreaterThanOrEqual(1)
    expect(w.answers.vote.granted).toBeGreaterThanOrEqual(1)
    // Every vote won is one global:leader event of that node.
    expect(sum(net, (s) => s.ended.vote.won)).toBe(leaders.length)
    // Rounds end at most once each: ended ≤ started, per phase.
    for (const phase of ['prevote', 'vote'] as const) {
      const ended = sum(net, (s) => Object.values(s.ended[phase]).reduce((a, n) => a + n, 0))
      expect(ended).toBeLessThanOrEqual(sum(net, (s) => s.started[phase]))
    }
    // Voters granted what candidates got granted in the round, or later (late).
    const grantedOut = sum(net, (s) => s.answered.vote.granted)
    const grantedIn = sum(net, (s) => s.answers.vote.granted + s.answers.vote.late)
    expect(grantedOut).toBeGreaterThanOrEqual(w.answers.vote.granted)
    expect(grantedIn).toBeGreaterThanOrEqual(1)
    // A candidate writes to every voter of every other shard; only their leaders answer.
    expect(sum(net, (s) => s.answered.prevote['not-shard-leader'])).toBeGreaterThan(0)
    // In-round answers are bucketed by latency: the buckets add up to them.
    const inRound = w.answers.prevote.granted + w.answers.prevote.refused
    expect(w.answerMs.prevote.reduce((a, n) => a + n, 0)).toBe(inRound)
  })

  it("counts a refusal under its rule: a shard leader cut off from the global leader is refused as 'sticky'", () => {
    const net = new TestNet({ ids: testIds(25), config: lanConclaveConfig(), seed: 5 })
    net.runFor(5000)
    const leader = net.globalLeaders()[0]
    if (leader === undefined) throw new Error('no leader')
    const rival = net.live().find((id) => id !== leader && net.machine(id).shardLeader()?.id === id)
    if (rival === undefined) throw new Error('no other shard leader')
    // The rival stops hearing the global leader (its own shard still hears it, so it keeps its
    // shard lease): it campaigns, and every other shard leader, which heard the leader within
    // electionTimeoutMinMs, refuses under 'sticky'.
    const r = net.machine(rival).globalElectionStats()
    const before = {
      started: r.started.prevote,
      refused: r.answers.prevote.refused,
      won: r.ended.prevote.won,
      sticky: sum(net, (s) => s.answered.prevote.sticky),
      granted: sum(net, (s) => s.answered.prevote.granted),
    }
    net.partition([rival], [leader])
    net.runFor(3000)
    expect(r.started.prevote).toBeGreaterThan(before.started)
    const refused = r.answers.prevote.refused - before.refused
    expect(refused).toBeGreaterThan(0)
    expect(r.ended.prevote.won).toBe(before.won)
    expect(sum(net, (s) => s.answered.prevote.sticky) - before.sticky).toBeGreaterThanOrEqual(refused)
    expect(sum(net, (s) => s.answered.prevote.granted)).toBe(before.granted)
  })
})
