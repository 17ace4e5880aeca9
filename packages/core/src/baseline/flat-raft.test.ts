import { describe, expect, it } from 'vitest'
import type { GlobalLeaderEvent, TraceEvent } from '../trace/events.js'
import { createRng } from '../util/rng.js'
import { decodeBaseline, encodeBaseline } from './baseline-wire.js'
import { FlatRaft, flatRaftConfig } from './flat-raft.js'
import { TestCluster } from './test-cluster.js'

const ids = (n: number) => Array.from({ length: n }, (_, i) => `n${String(i).padStart(3, '0')}`)

function cluster(n: number, seed: number) {
  const voters = ids(n)
  const rngs = new Map(voters.map((id, i) => [id, createRng(seed * 1000 + i)]))
  return new TestCluster(
    voters,
    (id, stored, nowMs) =>
      new FlatRaft({ id, voters, rng: rngs.get(id)!.fork(), config: flatRaftConfig(), stored }, nowMs),
  )
}

const leaders = (trace: TraceEvent[]) =>
  trace.filter((e): e is GlobalLeaderEvent => e.kind === 'global:leader')

function oneLeaderPerTerm(trace: TraceEvent[]): boolean {
  const byTerm = new Map<number, string>()
  for (const e of leaders(trace)) {
    const prev = byTerm.get(e.term)
    if (prev !== undefined && prev !== e.leader) return false
    byTerm.set(e.term, e.leader)
  }
  return true
}

describe('flat Raft baseline', () => {
  it('elects one leader that every node learns', () => {
    const c = cluster(7, 1)
    c.runUntil(2000)
    const elected = leaders(c.trace)
    expect(elected.length).toBeGreaterThanOrEqual(1)
    const last = elected.at(-1)!
    for (const m of c.machines.values()) expect(m.leader()).toEqual({ id: last.leader, term: last.term })
    expect([...c.machines.values()].filter((m) => m.isLeader(c.nowMs))).toHaveLength(1)
  })

  it('fails over after the leader crashes, to a higher term, one leader per term', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = cluster(5, seed)
      c.runUntil(1000)
      const first = leaders(c.trace).at(-1)!
      c.crash(first.leader)
      c.runUntil(3000)
      const second = leaders(c.trace).at(-1)!
      expect(second.leader).not.toBe(first.leader)
      expect(second.term).toBeGreaterThan(first.term)
      expect(oneLeaderPerTerm(c.trace)).toBe(true)
    }
  })

  it('keeps (term, votedFor) across a restart so a vote is never given twice', () => {
    const c = cluster(3, 4)
    c.runUntil(1000)
    const [a] = c.ids
    const before = c.machines.get(a!)!.currentTerm()
    c.crash(a!)
    c.start(a!)
    expect(c.machines.get(a!)!.currentTerm()).toBe(before)
  })

  it('a minority side elects nobody; the old leader keeps believing (no lease, no CheckQuorum)', () => {
    const c = cluster(5, 9)
    c.runUntil(1000)
    const old = leaders(c.trace).at(-1)!
    const minority = new Set([old.leader, c.ids.find((id) => id !== old.leader)!])
    c.drop = (from, to) => minority.has(from) !== minority.has(to)
    c.runUntil(4000)
    const after = leaders(c.trace).filter((e) => e.term > old.term)
    expect(after.length).toBeGreaterThan(0)
    for (const e of after) expect(minority.has(e.leader)).toBe(false)
    expect(c.machines.get(old.leader)!.isLeader(c.nowMs)).toBe(true)
    expect(oneLeaderPerTerm(c.trace)).toBe(true)
  })

  it('counts malformed frames as rejections and never throws', () => {
    const c = cluster(3, 2)
    const m = c.machines.get('n000')!
    m.receive('n001', 'global', new Uint8Array([1, 99, 0, 0]), 0)
    m.receive('n001', 'global', new Uint8Array([7]), 0)
    m.receive('n001', 'global', new Uint8Array(64), 0)
    m.receive('n001', 'global', encodeBaseline({ type: 'bully-election', term: 1, flag: false }), 0)
    expect(m.rejections.total()).toBe(4)
    expect(m.drain().events.filter((e) => e.kind === 'wire:reject')).toHaveLength(4)
  })

  it('round-trips its wire frames', () => {
    const f = { type: 'raft-vote-reply', term: 2 ** 40, flag: true } as const
    expect(decodeBaseline(encodeBaseline(f))).toEqual(f)
  })
})
