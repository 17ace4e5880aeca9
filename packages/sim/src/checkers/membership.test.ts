import type { TraceEvent } from '@conclave/core'
import { describe, expect, it } from 'vitest'
import type { FaultRecord, TraceRecord } from '../trace.js'
import { deadStaysDead, falseDeaths } from './membership.js'
import type { CheckContext } from './types.js'

// Invariant 7 regression (commit bcee177, swarm seed 3): an observer that declared X dead and
// then restarted has an empty table; re-learning X at the same incarnation is no revival.

type WithoutTime<E> = E extends unknown ? Omit<E, 'atMs'> : never
const at = (trueMs: number, event: WithoutTime<TraceEvent>): TraceRecord => ({
  trueMs,
  event: { atMs: trueMs, ...event } as TraceEvent,
})
const base: FaultRecord[] = ['o', 'x', 'y'].map((node) => ({ trueMs: 0, kind: 'add', node }))
const ctx = (faults: FaultRecord[]): CheckContext => ({ faults, trueTimeOf: (_n, l) => l, endMs: 10_000 })

const dead = at(1000, {
  kind: 'member:state',
  node: 'o',
  member: 'x',
  state: 'dead',
  incarnation: 2,
  via: 'y',
  bootEpoch: 1,
})
const relearnJoin = at(2000, { kind: 'member:join', node: 'o', member: 'x', incarnation: 2, bootEpoch: 1 })
const relearnAlive = at(2000, {
  kind: 'member:state',
  node: 'o',
  member: 'x',
  state: 'alive',
  incarnation: 2,
  via: 'y',
  bootEpoch: 1,
})
const observerRestart: FaultRecord[] = [
  { trueMs: 1200, kind: 'crash', node: 'o' },
  { trueMs: 1500, kind: 'restart', node: 'o' },
]

describe('invariant 7: deadStaysDead and the observer restart', () => {
  it('an observer that restarted since the death may re-learn X at the same incarnation', () => {
    const faults = [...base, ...observerRestart]
    expect(deadStaysDead([dead, relearnJoin], ctx(faults))).toEqual([])
    expect(deadStaysDead([dead, relearnAlive], ctx(faults))).toEqual([])
  })

  it('without the observer restart the same re-learning is a violation', () => {
    const found = deadStaysDead([dead, relearnJoin], ctx(base))
    expect(found).toHaveLength(1)
    expect(found[0]).toMatchObject({ checker: 'deadStaysDead', node: 'o', trueMs: 2000 })
    expect(deadStaysDead([dead, relearnAlive], ctx(base))).toHaveLength(1)
  })

  it('a restart of the observer before the death, or of another node, excuses nothing', () => {
    const early: FaultRecord[] = [
      ...base,
      { trueMs: 500, kind: 'crash', node: 'o' },
      { trueMs: 800, kind: 'restart', node: 'o' },
    ]
    expect(deadStaysDead([dead, relearnJoin], ctx(early))).toHaveLength(1)
    const other: FaultRecord[] = [
      ...base,
      { trueMs: 1200, kind: 'crash', node: 'y' },
      { trueMs: 1500, kind: 'restart', node: 'y' },
    ]
    expect(deadStaysDead([dead, relearnJoin], ctx(other))).toHaveLength(1)
  })
})

describe('falseDeaths: declarations of reachable members only', () => {
  const declare = (trueMs: number, node: string, member: string, via: string): TraceRecord =>
    at(trueMs, { kind: 'member:state', node, member, state: 'dead', incarnation: 0, via, bootEpoch: 1 })
  const nodes: FaultRecord[] = ['o', 'x', 'y', 'z'].map((node) => ({ trueMs: 0, kind: 'add', node }))
  // o and x on one side, y and z on the other, from 1 s to 5 s.
  const cut: FaultRecord[] = [
    ...nodes,
    { trueMs: 1000, kind: 'partition', groupA: ['o', 'x'], groupB: ['y', 'z'] },
    { trueMs: 5000, kind: 'heal' },
  ]

  it('a declaration across the partition is excused; one on the same side is not', () => {
    expect(falseDeaths([declare(3000, 'o', 'y', 'o')], ctx(cut))).toEqual([])
    const same = falseDeaths([declare(3000, 'o', 'x', 'o')], ctx(cut))
    expect(same).toHaveLength(1)
    expect(same[0]).toMatchObject({ checker: 'falseDeaths', node: 'o', trueMs: 3000 })
  })

  it('within the grace after the heal a late declaration across the old cut is excused; after it, not', () => {
    expect(falseDeaths([declare(9000, 'o', 'y', 'o')], ctx(cut))).toEqual([])
    expect(falseDeaths([declare(16_000, 'o', 'y', 'o')], ctx(cut))).toHaveLength(1)
  })

  it('news of a death (via another node) is not a declaration; a crashed member is excused', () => {
    expect(falseDeaths([declare(20_000, 'x', 'y', 'o')], ctx(cut))).toEqual([])
    const crashed: FaultRecord[] = [...nodes, { trueMs: 1000, kind: 'crash', node: 'y' }]
    expect(falseDeaths([declare(2000, 'o', 'y', 'o')], ctx(crashed))).toEqual([])
    expect(falseDeaths([declare(2000, 'o', 'z', 'o')], ctx(crashed))).toHaveLength(1)
  })
})
