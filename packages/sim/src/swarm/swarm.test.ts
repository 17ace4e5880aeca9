import { describe, expect, it } from 'vitest'
import { runSwarm } from './swarm.js'

// The fixed CI sample: small clusters, short fault phases. The big runs are `pnpm sim swarm`.
const SAMPLE_SEEDS = 100

describe('swarm (fixed sample)', () => {
  it(`${SAMPLE_SEEDS} seeds of 3–9 Conclave nodes under random faults: no violation, always a leader after`, () => {
    const report = runSwarm({ seeds: SAMPLE_SEEDS, firstSeed: 1, nodesMax: 9, safetyMs: 5000 })
    const failing = report.failingSeeds.map((f) => `${f.replay}  # ${f.rules.join(' ')} ${f.first}`)
    expect(failing).toEqual([])
    expect(report.seeds).toBe(SAMPLE_SEEDS)
  })

  it('growth seeds (3–9 founders, the rest joining under faults) split shards with no violation', () => {
    // 15 seeds, 3 of them growth seeds: with the LAN rank slack at 0 (session 7) seed 11's split
    // no longer completes within its run (seeds 1–120: 12 shards added in 24 growth seeds, 16
    // with the old 15 ms slack, per-seed differences both ways); seed 14 splits with either.
    const report = runSwarm({ seeds: 15, firstSeed: 1, nodesMax: 40, safetyMs: 5000 })
    const failing = report.failingSeeds.map((f) => `${f.replay}  # ${f.rules.join(' ')} ${f.first}`)
    expect(failing).toEqual([])
    expect(report.growthSeeds).toBeGreaterThan(0)
    expect(report.shardsAdded).toBeGreaterThan(0)
  })

  it('relay seeds (odd seeds, global heartbeats through relays from 4 shards) stay safe and live', () => {
    const report = runSwarm({ seeds: 12, firstSeed: 41, nodesMax: 60, safetyMs: 5000 })
    const failing = report.failingSeeds.map((f) => `${f.replay}  # ${f.rules.join(' ')} ${f.first}`)
    expect(failing).toEqual([])
    expect(report.relaySeeds).toBeGreaterThan(1)
  })

  it('founder-cap seeds (all expect N, only the smallest ids found the cluster, the rest join under faults) stay safe and live', () => {
    // The `local` preset founds from 25 of the N expected (bootstrapFoundersMax); these seeds run
    // that path at LAN timing with 3..N−1 founders.
    const report = runSwarm({ seeds: 20, firstSeed: 1, nodesMax: 60, safetyMs: 5000 })
    const failing = report.failingSeeds.map((f) => `${f.replay}  # ${f.rules.join(' ')} ${f.first}`)
    expect(failing).toEqual([])
    expect(report.foundersSeeds).toBeGreaterThan(1)
  })

  it('seed 1513 (20 nodes, growth): a split seed that crashes and restarts resumes its forming shard', () => {
    // Failed (no leader known to all) on 1f2fe96: the restarted seed refused its shard's appends
    // as not-in-shard for good, and no one announced the leader to it.
    const report = runSwarm({ seeds: 1, firstSeed: 1513, nodesMax: 200 })
    expect(report.failingSeeds.map((f) => `${f.replay}  # ${f.first}`)).toEqual([])
    expect(report.growthSeeds).toBe(1)
  })

  it.each([
    [835, 'a cut-off node and the global leader each held the other dead while 148 joiners arrived'],
    [1998, '60 joiners stayed observers, refusing announcements from a leader not yet in their member table'],
  ])('seed %i (3–200 nodes): %s, and still every node knows the leader in time', (seed) => {
    // Both failed (a leader known to all only 11.8 s and 13 s after the faults stopped; bound 10 s)
    // from c6df9aa, whose shard leaders skipped their announcement scans while the last found no
    // observer; they pass with a scan every global heartbeat again.
    const report = runSwarm({ seeds: 1, firstSeed: seed, nodesMax: 200 })
    expect(report.failingSeeds.map((f) => `${f.replay}  # ${f.first}`)).toEqual([])
    expect(report.seeds).toBe(1)
  })

  it('seed 805 (120 nodes, growth): joiners whose view misses their announcer pull its claim from the announcement they refuse', () => {
    // Failed (no leader known to all) with the LAN rank slack 0 when session 6 tried it (it landed
    // in session 7, with the stranger sync this test covers): the 96 nodes added as
    // the faults stopped lacked the global leader, their announcer, in their membership views and
    // refused its 20 announcements each as not-a-member for 12 s. A refused frame from a stranger
    // now starts an anti-entropy exchange with it (membership.ts syncWithStranger).
    const report = runSwarm({ seeds: 1, firstSeed: 805, nodesMax: 200 })
    expect(report.failingSeeds.map((f) => `${f.replay}  # ${f.first}`)).toEqual([])
    expect(report.growthSeeds).toBe(1)
  })

  it('seed 556 (26 nodes, growth): a node picked for a new shard that crashed before joining is taken in when it returns', () => {
    // Failed (no leader known to all) on 85aef17: the committed map listed it in shard 1, shard 1
    // had removed it after the grace period, and it came back with no shard state; the global
    // leader assigns and shard leaders announce only to members the map lists nowhere. Shard 1's
    // leader now re-admits it (conclave-machine.ts readmitClaimants).
    const report = runSwarm({ seeds: 1, firstSeed: 556, nodesMax: 200 })
    expect(report.failingSeeds.map((f) => `${f.replay}  # ${f.first}`)).toEqual([])
    expect(report.growthSeeds).toBe(1)
  })

  it('catches a leader acting without a valid lease (--break lease) as an invariant 2 violation', () => {
    const report = runSwarm({ seeds: 30, firstSeed: 1, nodesMax: 9, safetyMs: 5000, unsafeBreak: 'lease' })
    const leaseRules = Object.keys(report.seedsByRule).filter((r) => r.startsWith('2:'))
    expect(leaseRules.length).toBeGreaterThan(0)
  })
})
