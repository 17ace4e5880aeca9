import { describe, expect, it } from 'vitest'
import type { GlobalLeaderEvent, TraceEvent } from '../trace/events.js'
import { createRng } from '../util/rng.js'
import { Bully, bullyConfig } from './bully.js'
import { TestCluster } from './test-cluster.js'

const ids = (n: number) => Array.from({ length: n }, (_, i) => `n${String(i).padStart(3, '0')}`)

function cluster(n: number, seed: number, priorityOf: (i: number) => number = () => 0) {
  const all = ids(n)
  const peers = all.map((id, i) => ({ id, priority: priorityOf(i) }))
  return new TestCluster(
    all,
    (id, stored, nowMs) =>
      new Bully(
        { id, peers, rng: createRng(seed * 1000 + all.indexOf(id)), config: bullyConfig(), stored },
        nowMs,
      ),
  )
}

const leaders = (trace: TraceEvent[]) =>
  trace.filter((e): e is GlobalLeaderEvent => e.kind === 'global:leader')

describe('Bully baseline', () => {
  it('elects the highest id and everyone learns it', () => {
    const c = cluster(6, 1)
    c.runUntil(2000)
    for (const m of c.machines.values()) expect(m.leader()?.id).toBe('n005')
    expect(c.machines.get('n005')!.isLeader(c.nowMs)).toBe(true)
  })

  it('honours priority over id', () => {
    const c = cluster(6, 2, (i) => (i === 2 ? 10 : 0))
    c.runUntil(2000)
    for (const m of c.machines.values()) expect(m.leader()?.id).toBe('n002')
  })

  it('fails over to the next-highest live node, then the old one bullies its way back', () => {
    const c = cluster(6, 3)
    c.runUntil(1000)
    c.crash('n005')
    c.runUntil(3000)
    for (const m of c.machines.values()) expect(m.leader()?.id).toBe('n004')
    const epoch = c.machines.get('n004')!.leader()!.term
    c.start('n005')
    c.runUntil(5000)
    for (const m of c.machines.values()) expect(m.leader()?.id).toBe('n005')
    expect(c.machines.get('n005')!.leader()!.term).toBeGreaterThan(epoch)
    expect(c.machines.get('n004')!.isLeader(c.nowMs)).toBe(false)
  })

  it('costs O(N²) messages per failover', () => {
    const c = cluster(20, 4)
    c.runUntil(1000)
    const before = [...c.sent.values()].reduce((a, b) => a + b, 0)
    c.crash('n019')
    c.runUntil(1400) // inside the election burst, before many heartbeats
    const after = [...c.sent.values()].reduce((a, b) => a + b, 0)
    const heartbeatsMax = 19 * 8 // at most 8 heartbeat rounds of the new leader in 400 ms
    expect(after - before - heartbeatsMax).toBeGreaterThan(19 * 18 * 0.25)
  })

  it('elects one leader per side of a partition (no quorum): a known weakness', () => {
    const c = cluster(6, 5)
    c.runUntil(1000)
    const side = new Set(['n005', 'n004', 'n003'])
    c.drop = (from, to) => side.has(from) !== side.has(to)
    c.runUntil(3000)
    const live = [...c.machines.values()].filter((m) => m.isLeader(c.nowMs)).map((m) => m.id)
    expect(live.sort()).toEqual(['n002', 'n005'])
    expect(leaders(c.trace).some((e) => e.leader === 'n002')).toBe(true)
  })

  it('rejects frames from strangers and of the wrong algorithm', () => {
    const c = cluster(3, 6)
    const m = c.machines.get('n000')!
    m.receive('stranger', 'global', new Uint8Array([1, 7, 1, 0]), 0)
    m.receive('n001', 'global', new Uint8Array([1, 0, 1, 0]), 0)
    m.receive('n001', 'shard', new Uint8Array([1, 7, 1, 0]), 0)
    expect(m.rejections.total()).toBe(3)
  })
})
