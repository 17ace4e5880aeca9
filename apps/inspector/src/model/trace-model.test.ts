import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { syntheticTrace } from '../testing/synthetic-trace.js'
import { applyRecord } from './apply-record.js'
import { type ClusterState, createClusterState, isLive } from './cluster-state.js'
import { Journal } from './journal.js'
import { TraceModel } from './trace-model.js'
import type { TraceRecord } from './trace-record.js'
import { buildFrame, nodeRow } from './view-frame.js'

const A = 'node-a'
const B = 'node-b'
const C = 'node-c'

function fold(records: TraceRecord[]): { state: ClusterState; journal: Journal } {
  const state = createClusterState()
  const journal = new Journal()
  for (const r of records) applyRecord(state, r, journal)
  journal.flush()
  return { state, journal }
}

/** A comparable digest of a state (everything the UI reads). */
function digest(s: ClusterState, tMs: number): unknown {
  return {
    records: s.records,
    counts: s.counts,
    global: s.global,
    shards: [...s.shards],
    failover: s.globalFailover,
    nodes: [...s.nodes.values()].map((n) => [
      nodeRow(s, n, tMs),
      n.incarnation,
      n.knownGlobalTerm,
      n.accusers.size,
    ]),
  }
}

describe('membership state (SWIM precedence)', () => {
  const state = (member: string, st: 'alive' | 'suspect' | 'dead' | 'left', inc: number, by = B, t = 1) =>
    ({
      kind: 'member:state',
      node: by,
      atMs: t,
      trueMs: t,
      member,
      state: st,
      incarnation: inc,
      via: by,
    }) as const

  it('suspect beats alive at the same incarnation; a higher incarnation beats suspect', () => {
    const { state: s } = fold([
      state(A, 'alive', 0),
      state(A, 'suspect', 0, C, 2),
      state(A, 'alive', 0, B, 3),
    ])
    expect(s.nodes.get(A)?.state).toBe('suspect')
    expect(s.nodes.get(A)?.accusers.size).toBe(1)
    applyRecord(s, state(A, 'alive', 1, B, 4), null)
    expect(s.nodes.get(A)?.state).toBe('alive')
    expect(s.nodes.get(A)?.accusers.size).toBe(0)
  })

  it('dead stays dead on a stale alive report; a join (new life) revives it', () => {
    const { state: s, journal } = fold([state(A, 'dead', 3), state(A, 'alive', 3, C, 2)])
    expect(s.nodes.get(A)?.state).toBe('dead')
    applyRecord(s, { kind: 'member:join', node: B, atMs: 5, trueMs: 5, member: A, incarnation: 0 }, journal)
    expect(s.nodes.get(A)?.state).toBe('alive')
    expect(journal.timelineEntries.map((e) => e.kind)).toEqual(['dead', 'rejoin'])
  })

  it('keeps the per-state counts equal to a recount', () => {
    const nodes = [A, B, C]
    const states = ['alive', 'suspect', 'dead', 'left'] as const
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(2), fc.nat(2), fc.nat(3), fc.nat(3), fc.boolean()), { maxLength: 60 }),
        (steps) => {
          const s = createClusterState()
          steps.forEach(([by, m, st, inc, join], t) => {
            const rec: TraceRecord = join
              ? {
                  kind: 'member:join',
                  node: nodes[by]!,
                  atMs: t,
                  trueMs: t,
                  member: nodes[m]!,
                  incarnation: inc,
                }
              : state(nodes[m]!, states[st]!, inc, nodes[by]!, t)
            applyRecord(s, rec, null)
          })
          const recount = { alive: 0, suspect: 0, dead: 0, left: 0 }
          for (const n of s.nodes.values()) recount[n.state]++
          expect(s.counts).toEqual(recount)
        },
      ),
    )
  })
})

describe('failover measurement', () => {
  const records = syntheticTrace({ nodes: 40, seed: 7 })

  it('measures one global failover: crash → every live node knows the new term', () => {
    const { journal } = fold(records)
    const global = journal.failovers.filter((f) => f.scope === 'global')
    expect(global).toHaveLength(1)
    // Oracle, straight from the records: the crash, then the last live node to learn term 2.
    const crash = records.find((r) => r.kind === 'sim:fault' && r.fault === 'crash')!
    const known = records.filter((r) => r.kind === 'global:known' && r.term === 2 && r.node !== crash.node)
    const lastKnown = Math.max(...known.map((r) => r.trueMs))
    const elected = records.find((r) => r.kind === 'global:leader' && r.term === 2)!
    expect(global[0]!.durationMs).toBe(lastKnown - crash.trueMs)
    expect(global[0]!.electedAfterMs).toBe(elected.trueMs - crash.trueMs)
    expect(global[0]!.cause).toBe('crash')
    expect(global[0]!.oldLeader).toBe(crash.node)
    expect(global[0]!.newLeader).toBe(elected.node)
    const timeline = journal.timelineEntries.filter(
      (e) => e.kind === 'failover' && e.text.startsWith('global failover'),
    )
    expect(timeline[0]?.text).toContain(`${lastKnown - crash.trueMs} ms (crash)`)
  })

  it('without a crash record, starts the failover at the first suspicion', () => {
    const noFaults = records.filter((r) => r.kind !== 'sim:fault')
    const { journal } = fold(noFaults)
    const global = journal.failovers.filter((f) => f.scope === 'global')
    const crashed = records.find((r) => r.kind === 'sim:fault' && r.fault === 'crash')!.node
    const firstSuspect = noFaults.find((r) => r.kind === 'member:state' && r.member === crashed)!
    expect(global).toHaveLength(1)
    expect(global[0]!.cause).toBe('suspected')
    const lastKnown = Math.max(
      ...noFaults
        .filter((r) => r.kind === 'global:known' && r.term === 2 && r.node !== crashed)
        .map((r) => r.trueMs),
    )
    expect(global[0]!.durationMs).toBe(lastKnown - firstSuspect.trueMs)
  })

  it('stays open while a live node has not learned the new leader', () => {
    const crash = records.find((r) => r.kind === 'sim:fault' && r.fault === 'crash')!
    const leader2 = records.find((r) => r.kind === 'global:leader' && r.term === 2)!
    const laggard = records.find(
      (r) => r.kind === 'global:known' && r.term === 2 && r.node !== crash.node && r.node !== leader2.node,
    )!
    const { state, journal } = fold(records.filter((r) => r !== laggard))
    expect(journal.failovers.filter((f) => f.scope === 'global')).toHaveLength(0)
    expect(state.globalFailover?.newTerm).toBe(2)
    expect(isLive(state.nodes.get((laggard as { node: string }).node)!)).toBe(true)
  })

  it('measures the shard failover of the crashed leader’s shard', () => {
    const { journal } = fold(records)
    const shard = journal.failovers.filter((f) => f.scope === 'shard')
    expect(shard.map((f) => f.shard)).toEqual([0])
    expect(shard[0]!.durationMs).toBeGreaterThan(0)
  })
})

describe('journal series', () => {
  it('computes messages per second, cluster-wide and busiest node, per one-second bucket', () => {
    const net = (t: number, node: string, msgs: number, windowMs = 1000): TraceRecord => ({
      kind: 'net:sample',
      trueMs: t,
      node,
      windowMs,
      msgs,
      bytes: msgs * 100,
    })
    const { journal } = fold([
      net(1000, A, 10),
      net(1000, B, 30),
      net(1500, C, 5, 500),
      net(1900, C, 5, 500),
      net(2000, A, 4),
    ])
    expect(journal.rates).toEqual([
      { trueMs: 1000, clusterPerSec: 50, busiestPerSec: 30, busiestNode: B },
      { trueMs: 2000, clusterPerSec: 4, busiestPerSec: 4, busiestNode: A },
    ])
  })

  it('samples members by state once per second, before the record that crosses the second', () => {
    const join = (t: number, m: string): TraceRecord => ({
      kind: 'member:join',
      node: A,
      atMs: t,
      trueMs: t,
      member: m,
      incarnation: 0,
    })
    const { journal } = fold([join(0, A), join(1200, B), join(2500, C)])
    expect(journal.members.map((p) => [p.trueMs, p.alive])).toEqual([
      [0, 0],
      [1000, 1],
      [2000, 2],
    ])
  })
})

describe('TraceModel: scrubbing', () => {
  const records = syntheticTrace({ nodes: 25, seed: 3, tailMs: 5000 })

  it('stateAt(t) equals a fresh fold of every record up to t, in any seek order', () => {
    const model = new TraceModel({ keyframeEvery: 97, keyframeNodesFactor: 0 })
    for (const r of records) model.append(r)
    model.finish()
    const start = model.startMs
    const end = model.endMs
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: start - 10, max: end + 10 }), { minLength: 1, maxLength: 8 }),
        (ts) => {
          for (const t of ts) {
            const fresh = fold(records.filter((r) => r.trueMs <= t)).state
            expect(digest(model.stateAt(t), t)).toEqual(digest(fresh, t))
          }
        },
      ),
      { numRuns: 40 },
    )
  })

  it('builds a frame whose timeline and series stop at t', () => {
    const model = new TraceModel()
    for (const r of records) model.append(r)
    model.finish()
    const crash = records.find((r) => r.kind === 'sim:fault')!.trueMs
    const before = buildFrame('replay', model.stateAt(crash - 1), model.journal, crash - 1, {
      startMs: model.startMs,
      endMs: model.endMs,
      totalRecords: model.size,
    })
    expect(before.timeline.every((e) => e.trueMs <= crash - 1)).toBe(true)
    expect(before.failovers).toHaveLength(0)
    expect(before.global?.term).toBe(1)
    expect(before.global?.leaseLeftMs).toBeGreaterThan(0)
    const after = buildFrame('replay', model.stateAt(model.endMs), model.journal, model.endMs, {
      startMs: model.startMs,
      endMs: model.endMs,
      totalRecords: model.size,
    })
    expect(after.global?.term).toBe(2)
    expect(after.failovers.some((f) => f.scope === 'global')).toBe(true)
    expect(after.nodes).toHaveLength(25)
  })

  it('clamps out-of-order records and drops the oldest half past recordsMax', () => {
    const model = new TraceModel({ keyframeEvery: 10, keyframeNodesFactor: 0, recordsMax: 100 })
    for (const r of records.slice(0, 150)) model.append(r)
    expect(model.size).toBeLessThanOrEqual(100)
    expect(model.droppedRecords).toBeGreaterThan(0)
    model.append({ ...records[0]!, trueMs: -1 })
    expect(model.outOfOrder).toBe(1)
  })
})
