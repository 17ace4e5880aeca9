import type { TraceEvent } from '@conclave/core'
import { describe, expect, it } from 'vitest'
import type { FaultRecord, TraceRecord } from '../trace.js'
import { deadStaysDead } from './membership.js'
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
