import type { TraceEvent } from '@conclave/core'
import { describe, expect, it } from 'vitest'
import type { FaultRecord, TraceRecord } from '../../trace.js'
import {
  agreementAfter,
  checkFencingOrder,
  checkLeaderConverges,
  checkMinorityNoLease,
  checkOneGlobalVotePerShard,
  checkOneLeaderPerTerm,
  checkOneLeaseHolder,
  countDisruptions,
  type ElectionCheckContext,
  FencingResource,
} from './index.js'

// Hand-made traces: each checker is shown passing a clean trace and failing a broken one.

type WithoutTime<E> = E extends unknown ? Omit<E, 'atMs'> : never
const at = (trueMs: number, event: WithoutTime<TraceEvent>): TraceRecord => ({
  trueMs,
  event: { atMs: trueMs, ...event } as TraceEvent,
})
const add = (...nodes: string[]): FaultRecord[] => nodes.map((node) => ({ trueMs: 0, kind: 'add', node }))
const hold = (
  t: number,
  node: string,
  term: number,
  fromMs: number,
  untilMs: number,
  scope: 'global' | 'shard' = 'global',
  shard = 0,
) => at(t, { kind: 'lease:hold', node, scope, shard, term, fromMs, untilMs })
const role = (t: number, node: string, shard: number, term: number, r: 'leader' | 'follower') =>
  at(t, { kind: 'shard:role', node, shard, term, role: r })
const known = (t: number, node: string, leader: string, term: number) =>
  at(t, { kind: 'global:known', node, leader, term })

function ctx(over: Partial<ElectionCheckContext> = {}): ElectionCheckContext {
  return {
    trueTimeOf: (_node, localMs) => localMs,
    faults: add('a', 'b', 'c', 'd', 'e'),
    endMs: 100_000,
    leasePeriodMs: 300,
    driftBound: 0.01,
    ...over,
  }
}

describe('invariant 1: one leader per term', () => {
  it('passes distinct terms and fails two leaders in one term (shard and global)', () => {
    const clean = [role(1, 'a', 0, 1, 'leader'), role(2, 'b', 0, 2, 'leader'), role(3, 'c', 1, 1, 'leader')]
    expect(checkOneLeaderPerTerm(clean)).toEqual([])
    const shard = [...clean, role(4, 'd', 0, 2, 'leader')]
    expect(checkOneLeaderPerTerm(shard).map((v) => v.rule)).toEqual(['two-shard-leaders'])
    const global = [
      at(1, { kind: 'global:leader', node: 'a', term: 3, leader: 'a' }),
      at(2, { kind: 'global:leader', node: 'a', term: 3, leader: 'a' }),
      at(3, { kind: 'global:leader', node: 'b', term: 3, leader: 'b' }),
    ]
    expect(checkOneLeaderPerTerm(global).map((v) => v.rule)).toEqual(['two-global-leaders'])
  })
})

describe('invariant 2: one lease holder at a time', () => {
  it('passes back-to-back leases, fails overlapping ones', () => {
    const clean = [hold(0, 'a', 1, 0, 100), hold(50, 'a', 1, 50, 150), hold(200, 'b', 2, 150, 300)]
    expect(checkOneLeaseHolder(clean, ctx())).toEqual([])
    const broken = [...clean, hold(250, 'c', 3, 250, 400)]
    expect(checkOneLeaseHolder(broken, ctx()).map((v) => v.rule)).toEqual(['two-global-leases'])
  })

  it('judges leases in true time: a fast clock that looks safe locally overlaps in true time', () => {
    const trace = [hold(0, 'a', 1, 0, 100), hold(101, 'b', 2, 101, 200)]
    expect(checkOneLeaseHolder(trace, ctx())).toEqual([])
    // a's clock runs 5% slow: its local 100 is true ~105.3, past b's start at 101.
    const slowA = ctx({ trueTimeOf: (n, l) => (n === 'a' ? l / 0.95 : l) })
    expect(checkOneLeaseHolder(trace, slowA).map((v) => v.rule)).toEqual(['two-global-leases'])
  })

  it('ends a lease at lease:end and at a crash, but not at a pause', () => {
    const trace = [
      hold(0, 'a', 1, 0, 300),
      at(50, { kind: 'lease:end', node: 'a', scope: 'global', shard: 0, term: 1 }),
      hold(60, 'b', 2, 60, 300),
    ]
    expect(checkOneLeaseHolder(trace, ctx())).toEqual([])
    const crashed = [hold(0, 'a', 1, 0, 300), hold(60, 'b', 2, 60, 300)]
    const crash: FaultRecord = { trueMs: 55, kind: 'crash', node: 'a' }
    expect(checkOneLeaseHolder(crashed, ctx({ faults: [...add('a', 'b'), crash] }))).toEqual([])
    const pause: FaultRecord = { trueMs: 55, kind: 'pause', node: 'a', durationMs: 1000 }
    expect(checkOneLeaseHolder(crashed, ctx({ faults: [...add('a', 'b'), pause] }))).toHaveLength(1)
  })

  it('keeps shards apart and fails two holders in one shard', () => {
    const trace = [hold(0, 'a', 1, 0, 100, 'shard', 1), hold(0, 'b', 1, 0, 100, 'shard', 2)]
    expect(checkOneLeaseHolder(trace, ctx())).toEqual([])
    const broken = [...trace, hold(10, 'c', 2, 10, 50, 'shard', 2)]
    expect(checkOneLeaseHolder(broken, ctx()).map((v) => v.rule)).toEqual(['two-shard-leases'])
  })

  it('fails when two nodes answer isLeader() at one instant', () => {
    const probes = [
      { trueMs: 20, leaders: ['a'] },
      { trueMs: 40, leaders: ['a', 'b'] },
    ]
    expect(checkOneLeaseHolder([], ctx({ probes })).map((v) => v.rule)).toEqual(['two-acting-leaders'])
  })
})

describe('invariant 3: fencing tokens', () => {
  it('the resource refuses stale tokens and the checker accepts its log', () => {
    const r = new FencingResource()
    expect(r.write('a', 1, 0)).toBe(true)
    expect(r.write('a', 1, 20)).toBe(true)
    expect(r.write('b', 2, 40)).toBe(true)
    expect(r.write('a', 1, 60)).toBe(false)
    expect(checkFencingOrder([], ctx({ fenceWrites: r.log }))).toEqual([])
  })

  it('fails a token presented by two writers, and a stale token accepted', () => {
    const r = new FencingResource()
    r.write('a', 5, 0)
    r.write('b', 5, 20)
    expect(checkFencingOrder([], ctx({ fenceWrites: r.log })).map((v) => v.rule)).toEqual(['token-reused'])
    const badResource = [
      { trueMs: 0, node: 'a', token: 5, accepted: true },
      { trueMs: 20, node: 'b', token: 4, accepted: true },
    ]
    expect(checkFencingOrder([], ctx({ fenceWrites: badResource })).map((v) => v.rule)).toEqual([
      'stale-token-accepted',
    ])
  })
})

describe('invariant 4: one global vote per shard per term', () => {
  it('passes repeats of one vote, fails two candidates', () => {
    const vote = (t: number, node: string, shard: number, term: number, candidate: string) =>
      at(t, { kind: 'global:vote', node, shard, term, candidate })
    const clean = [
      vote(1, 'a', 0, 1, 'x'),
      vote(2, 'b', 0, 1, 'x'),
      vote(3, 'a', 0, 2, 'y'),
      vote(4, 'c', 1, 1, 'y'),
    ]
    expect(checkOneGlobalVotePerShard(clean)).toEqual([])
    const broken = [...clean, vote(5, 'b', 0, 2, 'z')]
    expect(checkOneGlobalVotePerShard(broken).map((v) => v.rule)).toEqual(['two-global-votes'])
  })
})

describe('invariant 5: no lease on a side without quorum', () => {
  // Three shards: 0 = {a, b, c}, 1 = {d, e, f}, 2 = {g, h, i}. Side {a, b, c, d} holds one shard only.
  const nodes = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']
  const shards = nodes.map((n, i) => role(0, n, Math.floor(i / 3), 1, 'follower'))
  const minority = ['a', 'b', 'c', 'd']
  const majority = ['e', 'f', 'g', 'h', 'i']
  const faults: FaultRecord[] = [
    ...add(...nodes),
    { trueMs: 1000, kind: 'partition', groupA: minority, groupB: majority, oneWay: false },
    { trueMs: 5000, kind: 'heal' },
  ]

  it('passes a minority leader whose lease runs out within one lease period', () => {
    const trace = [...shards, hold(900, 'a', 1, 900, 1200), hold(1800, 'e', 2, 1800, 2100)]
    expect(checkMinorityNoLease(trace, ctx({ faults }))).toEqual([])
  })

  it('fails a minority leader that keeps extending its lease', () => {
    const trace = [...shards, hold(900, 'a', 1, 900, 1200), hold(1150, 'a', 1, 1150, 1450)]
    expect(checkMinorityNoLease(trace, ctx({ faults })).map((v) => v.rule)).toEqual(['minority-lease'])
  })

  it('counts bridge nodes (in neither group) towards both sides', () => {
    // {a, b} and {e, f, g, h, i} are cut apart, c and d reach both: {a, b, c, d} holds shard 0
    // only, but through the bridge {a, b} + {c, d} is not judged as a minority of nodes either.
    const bridged: FaultRecord[] = [
      ...add(...nodes),
      {
        trueMs: 1000,
        kind: 'partition',
        groupA: ['a', 'b', 'g', 'h', 'i'],
        groupB: ['e', 'f'],
        oneWay: false,
      },
    ]
    const trace = [...shards, hold(900, 'a', 1, 900, 1200), hold(1150, 'a', 1, 1150, 1450)]
    // side A + bridge {c, d} holds shards 0 and 2: a quorum, so a's lease is fine
    expect(checkMinorityNoLease(trace, ctx({ faults: bridged }))).toEqual([])
    const viaBridge: FaultRecord[] = [
      ...add(...nodes),
      {
        trueMs: 1000,
        kind: 'partition',
        groupA: ['a', 'b'],
        groupB: ['e', 'f', 'g', 'h', 'i'],
        oneWay: false,
      },
    ]
    // side A + bridge {c, d} has a majority of shard 0 only, but d votes in shard 1: d may lead
    // it (reaching e and f) and ack a, so A may hold shards 0 and 1, a quorum
    expect(checkMinorityNoLease(trace, ctx({ faults: viaBridge }))).toEqual([])
    const tooFew: FaultRecord[] = [
      ...add(...nodes),
      {
        trueMs: 1000,
        kind: 'partition',
        groupA: ['a', 'b'],
        groupB: ['d', 'e', 'f', 'g', 'h', 'i'],
        oneWay: false,
      },
    ]
    // side A + bridge {c} holds shard 0 only (c votes in no other): a's lease past one period
    // is a violation
    expect(checkMinorityNoLease(trace, ctx({ faults: tooFew })).map((v) => v.rule)).toEqual([
      'minority-lease',
    ])
  })

  it('fails a minority node that answers isLeader() late in the partition', () => {
    const probes = [{ trueMs: 2000, leaders: ['b'] }]
    expect(checkMinorityNoLease(shards, ctx({ faults, probes })).map((v) => v.rule)).toEqual([
      'minority-acting-leader',
    ])
    // the same node acting after the heal is fine
    expect(checkMinorityNoLease(shards, ctx({ faults, probes: [{ trueMs: 6000, leaders: ['b'] }] }))).toEqual(
      [],
    )
  })
})

describe('invariant 6: a leader known to all after faults stop', () => {
  const faults = add('a', 'b', 'c')
  it('passes when every live node learns one live leader in time', () => {
    const trace = [known(100, 'a', 'a', 1), known(110, 'b', 'a', 1), known(120, 'c', 'a', 1)]
    expect(agreementAfter(trace, { faults }, 50)).toBe(120)
    expect(checkLeaderConverges(trace, ctx({ faults, faultsEndMs: 50, convergeBoundMs: 100 }))).toEqual([])
    expect(checkLeaderConverges(trace, ctx({ faults, faultsEndMs: 0, convergeBoundMs: 100 }))).toHaveLength(1)
  })

  it('fails when a node never learns, or the agreed leader is dead', () => {
    const partial = [known(100, 'a', 'a', 1), known(110, 'b', 'a', 1)]
    expect(
      checkLeaderConverges(partial, ctx({ faults, faultsEndMs: 50, convergeBoundMs: 1000 })),
    ).toHaveLength(1)
    const deadLeader = [known(100, 'a', 'a', 1), known(110, 'b', 'a', 1), known(120, 'c', 'a', 1)]
    const crash: FaultRecord[] = [...faults, { trueMs: 130, kind: 'crash', node: 'a' }]
    expect(agreementAfter(deadLeader, { faults: crash }, 140)).toBeUndefined()
    // ...and passes once the survivors agree on a new one
    const after = [...deadLeader, known(400, 'b', 'b', 2), known(410, 'c', 'b', 2)]
    expect(agreementAfter(after, { faults: crash }, 140)).toBe(410)
  })

  it('agreement that already holds when faults stop counts from that instant', () => {
    const trace = [
      known(10, 'a', 'a', 1),
      known(11, 'b', 'a', 1),
      known(12, 'c', 'a', 1),
      known(900, 'a', 'a', 1),
    ]
    expect(agreementAfter(trace, { faults }, 500)).toBe(500)
  })
})

describe('disruptions', () => {
  it('counts a new term while the old leader was healthy, not after it crashed', () => {
    const gl = (t: number, leader: string, term: number) =>
      at(t, { kind: 'global:leader', node: leader, leader, term })
    const faults: FaultRecord[] = [...add('a', 'b', 'c'), { trueMs: 1000, kind: 'crash', node: 'a' }]
    const trace = [gl(100, 'a', 1), gl(1300, 'b', 2), gl(3000, 'c', 3)]
    expect(countDisruptions(trace, faults, 600)).toEqual({ disruptions: 1, leaderChanges: 2 })
  })
})
