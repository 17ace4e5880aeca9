/**
 * The heartbeat relay in a whole cluster (TestNet, virtual time): the global leader's load drops
 * to ≈ 2√S frames per round, its lease never lapses while relays come and go, and a crashed relay
 * costs nothing but its chunk's acks for a round.
 */
import { describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import { type ConclaveConfig, lanConclaveConfig } from './conclave-config.js'
import { safetyViolations } from './safety-check.js'
import { TestNet, testIds } from './test-net.js'

/** 60 nodes → 13 shards; 2 ranked successors stay direct, the other 10 go through ⌈√10⌉ = 4 relays. */
function config(relay: boolean): ConclaveConfig {
  const c = lanConclaveConfig()
  c.global = { ...c.global, rankedCandidatesMax: 2, relayMinShards: relay ? 2 : Number.POSITIVE_INFINITY }
  return c
}

/** Global frames the node sent in [fromMs, toMs), by type. */
function shardCount(net: TestNet): number {
  return new Set(net.live().map((id) => net.machine(id).status(net.nowMs).shard)).size
}

function globalSends(net: TestNet, node: NodeId, fromMs: number, toMs: number): Map<string, number> {
  const out = new Map<string, number>()
  for (const d of net.drains) {
    if (d.node !== node || d.trueMs < fromMs || d.trueMs >= toMs) continue
    for (const s of d.sends) if (s.layer === 'global') out.set(s.type, (out.get(s.type) ?? 0) + 1)
  }
  return out
}

/** isLeader(now) of `leader` every ms over `ms`: the count of ms it was false. */
function leaseGapsMs(net: TestNet, leader: NodeId, ms: number): number {
  let gaps = 0
  for (let i = 0; i < ms; i++) {
    net.runFor(1)
    if (!net.machine(leader).isLeader(net.nowMs)) gaps++
  }
  return gaps
}

describe('global heartbeat relay', () => {
  it('the leader sends one frame per chunk, not per shard; every shard still acks; the lease holds', () => {
    const counts: Record<string, number> = {}
    let shards = 0
    for (const relay of [false, true]) {
      const net = new TestNet({ ids: testIds(60), config: config(relay), seed: 5 })
      net.runFor(4000)
      const [leader] = net.globalLeaders()
      expect(leader).toBeDefined()
      shards = shardCount(net)
      const from = net.nowMs
      expect(leaseGapsMs(net, leader as NodeId, 1200)).toBe(0)
      const sends = globalSends(net, leader as NodeId, from, net.nowMs)
      const rounds = 1200 / config(relay).global.heartbeatIntervalMs
      counts[String(relay)] = ((sends.get('gheartbeat') ?? 0) + (sends.get('grelay') ?? 0)) / rounds
      // Every shard leader in the cluster heard this leader within the last round (no one campaigns).
      expect(net.events('global:leader')).toHaveLength(1)
      expect(safetyViolations(net.trace)).toEqual([])
    }
    expect(shards).toBe(13)
    expect(counts.false).toBeCloseTo(shards - 1, 0) // direct: every other shard
    expect(counts.true).toBeCloseTo(2 + 4, 0) // 2 ranked successors + 4 relays
  })

  it('a crashed relay: its chunk goes direct for a round, the lease never lapses, no election', () => {
    const net = new TestNet({ ids: testIds(60), config: config(true), seed: 7 })
    net.runFor(4000)
    const [leader] = net.globalLeaders()
    expect(leader).toBeDefined()
    // A node the leader sends grelay to is a relay.
    const relays = new Set<NodeId>()
    for (const d of net.drains)
      if (d.node === leader && d.trueMs >= net.nowMs - 500)
        for (const s of d.sends) if (s.type === 'grelay') relays.add(s.to)
    expect(shardCount(net)).toBe(13)
    expect(relays.size).toBe(4)
    for (const relay of relays) {
      net.crash(relay)
      expect(leaseGapsMs(net, leader as NodeId, 1500)).toBe(0)
    }
    expect(net.events('global:leader')).toHaveLength(1)
    // New relays took over (the chunks' next live shards).
    const after = new Set<NodeId>()
    for (const d of net.drains)
      if (d.node === leader && d.trueMs >= net.nowMs - 300)
        for (const s of d.sends) if (s.type === 'grelay') after.add(s.to)
    expect(after.size).toBe(4)
    for (const r of relays) expect(after.has(r)).toBe(false)
    expect(safetyViolations(net.trace)).toEqual([])
  })
})
