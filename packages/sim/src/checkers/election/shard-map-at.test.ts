import type { TraceEvent } from '@conclave/core'
import { describe, expect, it } from 'vitest'
import type { FaultRecord, TraceRecord } from '../../trace.js'
import { checkMinorityNoLease, type ElectionCheckContext, shardMapAt } from './index.js'
import { sideHasQuorum, withCommittedConfig } from './shard-map-at.js'

// Invariant 5 must take a shard's voters from its committed log, not from what each node claims
// (swarm seed 106: a voter removed while down still reported its old shard, and the checker saw
// 2 of 4 voters where the shard had 2 of 3).

type WithoutTime<E> = E extends unknown ? Omit<E, 'atMs'> : never
const at = (trueMs: number, event: WithoutTime<TraceEvent>): TraceRecord => ({
  trueMs,
  event: { atMs: trueMs, ...event } as TraceEvent,
})
const follower = (node: string, shard: number) =>
  at(0, { kind: 'shard:role', node, shard, term: 1, role: 'follower' })
const commit = (t: number, leader: string, index: number, change: string) =>
  at(t, { kind: 'shardmap:commit', node: leader, index, change })
const hold = (t: number, node: string, fromMs: number, untilMs: number) =>
  at(t, { kind: 'lease:hold', node, scope: 'global', shard: 3, term: 4, fromMs, untilMs })

// Five shards. Side A = {s2, s3, d*, e*}, side B = the rest. Shard 2 claims {s1, s2, s3, x}, but
// its log committed the removal of x (crashed, on side B) before the partition.
const claims: Record<number, string[]> = {
  0: ['b1', 'b2', 'b3'],
  1: ['c1', 'c2', 'c3'],
  2: ['s1', 's2', 's3', 'x'],
  3: ['d1', 'd2', 'd3'],
  4: ['e1', 'e2', 'e3'],
}
const nodes = Object.values(claims).flat()
const sideA = ['s2', 's3', 'd1', 'd2', 'd3', 'e1', 'e2', 'e3']
const sideB = nodes.filter((n) => !sideA.includes(n))
const roles = Object.entries(claims).flatMap(([s, ns]) => ns.map((n) => follower(n, Number(s))))
const removeX = commit(500, 's2', 5, 'remove x from shard 2')
const faults: FaultRecord[] = [
  ...nodes.map((node): FaultRecord => ({ trueMs: 0, kind: 'add', node })),
  { trueMs: 400, kind: 'crash', node: 'x' },
  { trueMs: 1000, kind: 'partition', groupA: sideA, groupB: sideB, oneWay: false },
  { trueMs: 5000, kind: 'heal' },
]
const ctx: ElectionCheckContext = {
  trueTimeOf: (_node, localMs) => localMs,
  faults,
  endMs: 6000,
  leasePeriodMs: 300,
  driftBound: 0.01,
}
// d1 leads on side A and keeps its lease well past one lease period into the partition.
const leaseA = [hold(900, 'd1', 900, 1200), hold(1150, 'd1', 1150, 1450), hold(1400, 'd1', 1400, 1700)]

describe('invariant 5: shard voters come from the committed shard logs', () => {
  it('a voter removed from the log no longer counts, though it still claims the shard', () => {
    const map = shardMapAt([...roles, removeX], 1000)
    expect(map.get(2)?.sort()).toEqual(['s1', 's2', 's3'])
    expect(sideHasQuorum(new Set(sideA), map, nodes)).toBe(true)
    expect(checkMinorityNoLease([...roles, removeX, ...leaseA], ctx)).toEqual([])
  })

  it('without the committed removal the same lease is a violation (the case is not vacuous)', () => {
    expect(checkMinorityNoLease([...roles, ...leaseA], ctx).map((v) => v.rule)).toContain('minority-lease')
    // a removal committed during the partition counts only from its commit: before it (1000 →
    // 1500) side A lacks a quorum, and its lease past one lease period (1303) is a violation
    const late = commit(1500, 's2', 5, 'remove x from shard 2')
    expect(checkMinorityNoLease([...roles, late, ...leaseA], ctx).map((v) => v.rule)).toContain(
      'minority-lease',
    )
  })

  it('a shard-map change committed during the partition gives the side its quorum from then on', () => {
    // committed at 1100 by shard 2's voters on side A (s2, s3 of {s1, s2, s3}): A holds 3 of 5
    const early = commit(1100, 's2', 5, 'remove x from shard 2')
    expect(checkMinorityNoLease([...roles, early, ...leaseA], ctx)).toEqual([])
  })

  it('still catches a lease held on the side that really lacks a quorum', () => {
    const leaseB = [hold(900, 'b1', 900, 1200), hold(1150, 'b1', 1150, 1450)]
    const found = checkMinorityNoLease([...roles, removeX, ...leaseB], ctx)
    expect(found.map((v) => v.rule)).toEqual(['minority-lease'])
    expect(found[0]?.nodes).toEqual(['b1'])
  })

  it('the entry with the highest log index wins: a re-add counts, a stale duplicate does not', () => {
    const readd = commit(700, 's2', 8, 'add x to shard 2')
    expect(shardMapAt([...roles, removeX, readd], 1000).get(2)).toContain('x')
    expect(checkMinorityNoLease([...roles, removeX, readd, ...leaseA], ctx).map((v) => v.rule)).toContain(
      'minority-lease',
    )
    // a new shard leader re-commits an old add (index 3) after the removal (index 5): still removed
    const stale = commit(800, 's3', 3, 'add x to shard 2')
    expect(shardMapAt([...roles, removeX, stale], 1000).get(2)).not.toContain('x')
  })

  it('a shard the global log dissolved no longer counts; a restored one does again', () => {
    const dissolve = commit(600, 'd1', 2, 'global dissolve shard 0 (map v2)')
    expect([...shardMapAt([...roles, dissolve], 1000).keys()].sort()).toEqual([1, 2, 3, 4])
    const restore = commit(700, 'd1', 3, 'global restore shard 0 (map v3)')
    expect([...shardMapAt([...roles, dissolve, restore], 1000).keys()].sort()).toEqual([0, 1, 2, 3, 4])
  })

  it('a shard a split is forming counts only once it is added (split pipelined with the next form)', () => {
    // shard 4's members claim it (shard:role) from the start; the global log reserved it first
    const form = commit(600, 'd1', 2, 'global form shard 4 seeds a,b,c (map v2)')
    expect([...shardMapAt([...roles, form], 1000).keys()].sort()).toEqual([0, 1, 2, 3])
    const add = commit(700, 'd1', 3, 'global add shard 4, form shard 5 seeds d,e,f (map v3)')
    expect([...shardMapAt([...roles, form, add], 1000).keys()].sort()).toEqual([0, 1, 2, 3, 4])
    const dropped = commit(800, 'd1', 4, 'global dissolve shard 5 (map v4)')
    expect([...shardMapAt([...roles, form, add, dropped], 1000).keys()].sort()).toEqual([0, 1, 2, 3, 4])
  })

  it("a new leadership's whole-state event replaces what the changes said (swarm seed 217)", () => {
    const form = commit(600, 'd1', 2, 'global form shard 4 seeds a,b,c (map v2)')
    const state = commit(700, 'c1', 4, 'global state total 5 removed none forming none (map v4)')
    expect([...shardMapAt([...roles, form], 1000).keys()].sort()).toEqual([0, 1, 2, 3])
    expect([...shardMapAt([...roles, form, state], 1000).keys()].sort()).toEqual([0, 1, 2, 3, 4])
    const gone = commit(800, 'c1', 5, 'global state total 5 removed 0,4 forming none (map v5)')
    expect([...shardMapAt([...roles, form, state, gone], 1000).keys()].sort()).toEqual([1, 2, 3])
  })

  it('a side holding a quorum of the next committed shard set (a change in use before its commit) holds no violation', () => {
    // shard 4 is forming at the cut: A holds shards 2 and 3 of {0, 1, 2, 3}, no majority; the
    // leader's log already has `add shard 4`, committed at 1600: A holds 2, 3, 4 of 5
    const form = commit(600, 'd1', 2, 'global form shard 4 seeds e1,e2,e3 (map v2)')
    const add = commit(1600, 'd1', 3, 'global add shard 4 (map v3)')
    expect(checkMinorityNoLease([...roles, removeX, form, add, ...leaseA], ctx)).toEqual([])
    // without that change A's lease past one lease period is a violation
    expect(checkMinorityNoLease([...roles, removeX, form, ...leaseA], ctx).map((v) => v.rule)).toContain(
      'minority-lease',
    )
  })

  it('corrects a claimed map (the harness path, from status()) the same way', () => {
    const claimed = new Map(Object.entries(claims).map(([s, ns]) => [Number(s), ns]))
    const fixed = withCommittedConfig(claimed, [removeX], 1000)
    expect(fixed.get(2)?.sort()).toEqual(['s1', 's2', 's3'])
    expect(claimed.get(2)).toHaveLength(4) // the input is left alone
    expect(sideHasQuorum(new Set(sideA), claimed, nodes)).toBe(false)
    expect(sideHasQuorum(new Set(sideA), fixed, nodes)).toBe(true)
    const quorumOf = (side: ReadonlySet<string>) => sideHasQuorum(side, fixed, nodes)
    expect(checkMinorityNoLease(leaseA, { ...ctx, quorumOf })).toEqual([])
  })
})
