/**
 * Split: a cluster that grows past shards × shardSizeMax forms new shards through the global log
 * (reserve with seeds → seeds start the shard → it becomes a global voter), one at a time, so
 * every shard keeps between shardSizeMin and shardSizeMax voters and every joiner gets a vote.
 * Invariants 1–4 are checked on the whole trace.
 */
import { describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import { lanConclaveConfig } from './conclave-config.js'
import { safetyViolations } from './safety-check.js'
import { TestNet, testIds } from './test-net.js'

/** Voter sets per shard, read from the shard leaders' control logs. */
function shardVoters(net: TestNet): Map<number, NodeId[]> {
  const out = new Map<number, NodeId[]>()
  for (const id of net.live()) {
    const st = net.machine(id).status(net.nowMs)
    if (st.shard === null || st.shardLeader !== id) continue
    out.set(st.shard, net.machine(id).shardVoters() ?? [])
  }
  return out
}

function grow(net: TestNet, count: number, everyMs: number): NodeId[] {
  const added: NodeId[] = []
  for (let i = 0; i < count; i++) {
    const id = `join-${String(i).padStart(3, '0')}`
    net.addNode(id)
    added.push(id)
    net.runFor(everyMs)
  }
  return added
}

describe('global log: split', () => {
  it('a 5-node cluster grown by 40 joiners forms new shards; every shard stays within 3–9 voters', () => {
    const net = new TestNet({ ids: testIds(5), config: lanConclaveConfig(), seed: 41 })
    net.runFor(1500)
    expect(net.globalLeaders()).toHaveLength(1)
    grow(net, 40, 100)
    net.runFor(15_000)
    const shards = shardVoters(net)
    const live = net.live()
    // Every node votes in exactly one shard, and the leaders' logs agree with what nodes say.
    const placed = [...shards.values()].flat()
    expect(new Set(placed).size).toBe(placed.length)
    expect([...placed].sort()).toEqual([...live].sort())
    for (const voters of shards.values()) {
      expect(voters.length).toBeGreaterThanOrEqual(3)
      expect(voters.length).toBeLessThanOrEqual(9)
    }
    expect(shards.size).toBeGreaterThanOrEqual(5)
    // The leader's committed map lists exactly the shards that have a leader.
    const leader = net.globalLeaders()[0] as NodeId
    expect([...(net.machine(leader).shardMap()?.shards.keys() ?? [])].sort()).toEqual(
      [...shards.keys()].sort(),
    )
    const changes = net.events('shardmap:commit').map((e) => e.change)
    const formed = changes.filter((c) => c.startsWith('global') && c.includes('form shard'))
    const added = changes.filter((c) => c.startsWith('global add shard'))
    expect(formed.length).toBe(shards.size - 1)
    expect(added.length).toBe(shards.size - 1)
    for (const id of live) expect(net.machine(id).leader()?.id).toBe(leader)
    expect(safetyViolations(net.trace)).toEqual([])
  })

  it('a global leader crash while shards form: a new leader finishes the splits, safety holds', () => {
    const cfg = lanConclaveConfig()
    cfg.shardMap.deadGraceMs = 1500
    const net = new TestNet({ ids: testIds(9), config: cfg, seed: 42 })
    net.runFor(1500)
    grow(net, 15, 20)
    // Crash the global leader right after the first reservation appears in the trace.
    for (
      let i = 0;
      i < 200 && !net.events('shardmap:commit').some((e) => e.change.includes('form shard'));
      i++
    )
      net.runFor(10)
    const first = net.globalLeaders()[0] as NodeId
    net.crash(first)
    net.runFor(20_000)
    const shards = shardVoters(net)
    const placed = [...shards.values()].flat()
    expect(new Set(placed).size).toBe(placed.length)
    expect([...placed].sort()).toEqual([...net.live()].sort())
    for (const voters of shards.values()) {
      expect(voters.length).toBeGreaterThanOrEqual(3)
      expect(voters.length).toBeLessThanOrEqual(9)
    }
    expect(shards.size).toBeGreaterThanOrEqual(3)
    const next = net.globalLeaders()
    expect(next).toHaveLength(1)
    expect(next[0]).not.toBe(first)
    expect(safetyViolations(net.trace)).toEqual([])
  })
})
