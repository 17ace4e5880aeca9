/**
 * Global election fan-out (TestNet, virtual time, local preset as real processes use): a
 * campaigning shard leader writes its PreVote, its vote request and the new leader's first
 * heartbeats to the leaders of the other shards (global/leader-book.ts), not to every voter of
 * every shard. Measured as the distinct (sender → receiver) pairs of global frames, which on
 * real nodes is the connections the global election opens. Before the leader book every shard
 * leader that campaigned wrote to every node of the cluster.
 */
import { describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import { localConclaveConfig } from './conclave-config.js'
import { safetyViolations } from './safety-check.js'
import { TestNet, testIds } from './test-net.js'

const ELECTION_FRAMES = new Set(['gprevote', 'gvote', 'gheartbeat'])

interface FanOut {
  frames: number
  pairs: number
  /** The most distinct receivers of election frames from one node. */
  receiversMax: number
}

function fanOut(net: TestNet, fromMs: number, toMs: number): FanOut {
  const pairs = new Set<string>()
  const receivers = new Map<NodeId, Set<NodeId>>()
  let frames = 0
  for (const d of net.drains) {
    if (d.trueMs < fromMs || d.trueMs >= toMs) continue
    for (const s of d.sends) {
      if (s.layer !== 'global' || !ELECTION_FRAMES.has(s.type)) continue
      frames++
      pairs.add(`${d.node}|${s.to}`)
      const r = receivers.get(d.node) ?? new Set<NodeId>()
      r.add(s.to)
      receivers.set(d.node, r)
    }
  }
  return {
    frames,
    pairs: pairs.size,
    receiversMax: Math.max(0, ...[...receivers.values()].map((r) => r.size)),
  }
}

function knownByAll(net: TestNet, leader: NodeId): boolean {
  return net.live().every((id) => net.machine(id).leader()?.id === leader)
}

/** Runs until one global leader is known by every live node (1 ms steps), at most `ms`. */
function runUntilKnown(net: TestNet, ms: number): NodeId | undefined {
  for (let i = 0; i < ms; i++) {
    net.runFor(1)
    const [leader, ...more] = net.globalLeaders()
    if (leader !== undefined && more.length === 0 && knownByAll(net, leader)) return leader
  }
  return undefined
}

describe('global election fan-out', () => {
  for (const n of [30, 100]) {
    it(`${n} nodes: launch and a failover reach the other shards' leaders, not every node`, () => {
      const net = new TestNet({ ids: testIds(n), config: localConclaveConfig(), seed: n, latencyJitterMs: 3 })
      const shards = Math.ceil(n / 5)
      const leader = runUntilKnown(net, 10_000)
      expect(leader).toBeDefined()
      const launch = fanOut(net, 0, net.nowMs)
      net.runFor(1000)
      const crashAtMs = net.nowMs
      net.crash(leader as NodeId)
      const next = runUntilKnown(net, 5000)
      expect(next).toBeDefined()
      expect(next).not.toBe(leader)
      const failover = fanOut(net, crashAtMs, net.nowMs)
      if (process.env.FANOUT_PRINT)
        console.log(JSON.stringify({ n, shards, launch, failover, failoverMs: net.nowMs - crashAtMs }))
      // Each shard leader reaches each other shard's leader (and the voters of a shard whose
      // leader it has not heard from: the crashed leader's shard in a failover). Writing to every
      // voter gave ≈ n per campaigning shard leader: 30 nodes 29, 100 nodes 99.
      expect(launch.receiversMax).toBeLessThanOrEqual(2 * shards)
      expect(failover.receiversMax).toBeLessThanOrEqual(shards + 5)
      expect(launch.pairs).toBeLessThanOrEqual(shards * (shards + 5))
      expect(failover.pairs).toBeLessThanOrEqual(shards * (shards + 5))
      expect(safetyViolations(net.trace)).toEqual([])
    })
  }
})

describe('stale leader knowledge costs liveness only', () => {
  it('shard leaders replaced behind the book: the next failover still elects, known by all, safely', () => {
    const net = new TestNet({ ids: testIds(60), config: localConclaveConfig(), seed: 7, latencyJitterMs: 3 })
    const leader = runUntilKnown(net, 10_000) as NodeId
    expect(leader).toBeDefined()
    net.runFor(1000)
    // Four other shard leaders crash and restart at once: they come back as followers, while
    // every other shard leader's book still names them (alive again) for their shards.
    const stale = net
      .live()
      .filter((id) => id !== leader && net.machine(id).status(net.nowMs).role === 'shard-leader')
      .slice(0, 4)
    expect(stale.length).toBe(4)
    for (const id of stale) net.crash(id)
    net.runFor(50)
    for (const id of stale) net.restart(id)
    net.runFor(50)
    const crashAtMs = net.nowMs
    net.crash(leader)
    const next = runUntilKnown(net, 5000)
    expect(next).toBeDefined()
    expect(next).not.toBe(leader)
    if (process.env.FANOUT_PRINT) console.log(JSON.stringify({ staleFailoverMs: net.nowMs - crashAtMs }))
    expect(net.nowMs - crashAtMs).toBeLessThan(1500)
    expect(safetyViolations(net.trace)).toEqual([])
  })
})
