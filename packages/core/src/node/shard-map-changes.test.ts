/**
 * The global log of shard-map changes on the in-test network: a shard whose members all died is
 * dissolved (and the global leader stays electable with fewer live shards than a majority of the
 * bootstrap map); a shard shrunk below shardSizeMin by deaths is merged away (dissolved, its
 * members reassigned). Invariants 1–4 are checked on the whole trace (election-fuzz checks).
 */
import { describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import { lanConclaveConfig } from './conclave-config.js'
import { safetyViolations } from './safety-check.js'
import { TestNet, testIds } from './test-net.js'

function cfgFast() {
  const cfg = lanConclaveConfig()
  cfg.shardMap.deadGraceMs = 1000
  return cfg
}

/** The live shard map as the global leader's node sees it. */
function leaderShards(net: TestNet): number[] {
  const leader = net.globalLeaders()[0]
  if (!leader) return []
  return [...(net.machine(leader).shardMap()?.shards.keys() ?? [])].sort((a, b) => a - b)
}

function votersOf(net: TestNet, shard: number): NodeId[] {
  return net.live().filter((id) => net.machine(id).status(net.nowMs).shard === shard)
}

describe('global log: dissolve and merge', () => {
  it('dead shards are dissolved one at a time; the leader stays electable with 2 of 5 bootstrap shards', () => {
    const net = new TestNet({ ids: testIds(25), config: cfgFast(), seed: 31 })
    net.runFor(2000)
    expect(leaderShards(net)).toEqual([0, 1, 2, 3, 4])
    const leader = net.globalLeaders()[0] as NodeId
    const leaderShard = net.machine(leader).status(net.nowMs).shard
    const others = [0, 1, 2, 3, 4].filter((s) => s !== leaderShard)
    // Kill three whole shards, one after another; each is dissolved before the next dies.
    for (const [i, shard] of others.slice(0, 3).entries()) {
      for (const v of votersOf(net, shard)) net.crash(v)
      net.runFor(4000)
      expect(leaderShards(net)).toHaveLength(4 - i)
      expect(leaderShards(net)).not.toContain(shard)
    }
    const dissolved = net.events('shardmap:commit').filter((e) => e.change.startsWith('global dissolve'))
    expect(dissolved).toHaveLength(3)
    // 2 shards left of 5: without the dissolves there would be no majority of shards now.
    net.crash(leader)
    net.runFor(3000)
    const next = net.globalLeaders()
    expect(next).toHaveLength(1)
    expect(next[0]).not.toBe(leader)
    for (const id of net.live()) expect(net.machine(id).leader()?.id).toBe(next[0])
    expect(safetyViolations(net.trace)).toEqual([])
  })

  it('a shard shrunk below 3 by deaths is merged away: dissolved, its members reassigned', () => {
    const net = new TestNet({ ids: testIds(25), config: cfgFast(), seed: 32 })
    net.runFor(2000)
    const leader = net.globalLeaders()[0] as NodeId
    const leaderShard = net.machine(leader).status(net.nowMs).shard
    const victimShard = [0, 1, 2, 3, 4].find((s) => s !== leaderShard) as number
    // Three deaths, each removed (grace 1 s) before the next: 5 → 2 voters, never losing quorum.
    const members = votersOf(net, victimShard)
    const crashed: NodeId[] = []
    for (let i = 0; i < 3; i++) {
      const voters = votersOf(net, victimShard)
      const sl = net.machine(voters[0] as NodeId).shardLeader()?.id
      const victim = voters.find((v) => v !== sl) as NodeId
      crashed.push(victim)
      net.crash(victim)
      net.runFor(2500)
    }
    const survivors = members.filter((m) => !crashed.includes(m))
    net.runFor(4000)
    const merges = net
      .events('shardmap:commit')
      .filter((e) => e.change.startsWith(`global dissolve shard ${victimShard} `))
    expect(merges.length).toBeGreaterThan(0)
    expect(leaderShards(net)).not.toContain(victimShard)
    expect(leaderShards(net)).toHaveLength(4)
    expect(survivors.length).toBeGreaterThan(0)
    for (const s of survivors) {
      const st = net.machine(s).status(net.nowMs)
      expect(st.shard).not.toBeNull()
      expect(st.shard).not.toBe(victimShard)
      expect(net.machine(s).leader()?.id).toBe(net.globalLeaders()[0])
    }
    expect(net.globalLeaders()).toHaveLength(1)
    expect(safetyViolations(net.trace)).toEqual([])
  })

  it('with 3 shards a small shard is not merged (the shard count stays ≥ 3)', () => {
    const net = new TestNet({ ids: testIds(15), config: cfgFast(), seed: 33 })
    net.runFor(2000)
    const leader = net.globalLeaders()[0] as NodeId
    const leaderShard = net.machine(leader).status(net.nowMs).shard
    const victimShard = [0, 1, 2].find((s) => s !== leaderShard) as number
    for (let i = 0; i < 3; i++) {
      const voters = votersOf(net, victimShard)
      const sl = net.machine(voters[0] as NodeId).shardLeader()?.id
      net.crash(voters.find((v) => v !== sl) as NodeId)
      net.runFor(2500)
    }
    net.runFor(3000)
    expect(leaderShards(net)).toEqual([0, 1, 2])
    expect(safetyViolations(net.trace)).toEqual([])
  })
})
