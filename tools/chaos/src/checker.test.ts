import { describe, expect, it } from 'vitest'
import {
  checkHeals,
  checkLeaseOverlaps,
  checkMinorityLeases,
  checkWrites,
  hasQuorum,
  type LeaseEvent,
  leaderlessGaps,
  leaseHolderAgain,
  leaseSpansFromEvents,
  newWriteCheckState,
  quantile,
  type Write,
} from './checker.js'

const hold = (
  node: number,
  term: number,
  fromHostMs: number,
  untilHostMs: number,
  untilMs = untilHostMs,
): LeaseEvent => ({
  node,
  id: `id${node}`,
  event: 'hold',
  term,
  untilMs,
  fromHostMs,
  untilHostMs,
})
const end = (node: number, term: number, atHostMs: number): LeaseEvent => ({
  node,
  id: `id${node}`,
  event: 'end',
  term,
  atHostMs,
})

describe('lease spans from the nodes’ lease events', () => {
  it('merges extensions of one term, cuts at a release, and opens a new span after a gap', () => {
    const spans = leaseSpansFromEvents([
      hold(0, 3, 100, 600),
      hold(0, 3, 250, 750),
      end(0, 3, 700),
      hold(0, 3, 900, 1000),
    ])
    expect(spans).toEqual([
      { node: 0, id: 'id0', term: 3, fromMs: 100, toMs: 700 },
      { node: 0, id: 'id0', term: 3, fromMs: 900, toMs: 1000 },
    ])
  })

  it('a rebase (the clock rate changed) replaces the end of the claim it names', () => {
    const spans = leaseSpansFromEvents([
      hold(1, 2, 0, 600, 5600),
      { node: 1, id: 'id1', event: 'rebase', term: 2, untilMs: 5600, fromHostMs: 0, untilHostMs: 590 },
      { node: 1, id: 'id1', event: 'rebase', term: 2, untilMs: 9999, fromHostMs: 0, untilHostMs: 900 },
    ])
    expect(spans).toEqual([{ node: 1, id: 'id1', term: 2, fromMs: 0, toMs: 590 }])
  })
})

describe('lease overlaps', () => {
  it('a successor after the claimed end is fine; one inside it is a violation', () => {
    const ok = leaseSpansFromEvents([hold(0, 1, 0, 600), hold(1, 2, 600, 1200)])
    expect(checkLeaseOverlaps(ok, 1)).toEqual([])
    const bad = leaseSpansFromEvents([hold(0, 1, 0, 600), hold(1, 2, 500, 1100)])
    const v = checkLeaseOverlaps(bad, 1)
    expect(v).toHaveLength(1)
    expect(v[0]?.kind).toBe('lease-overlap')
    expect(v[0]?.detail).toContain('for 100.0 ms')
  })

  it('an overlap of a few ms is caught (no sampling), but not one within the 1 ms tolerance', () => {
    expect(
      checkLeaseOverlaps(leaseSpansFromEvents([hold(0, 1, 0, 600), hold(1, 2, 597, 1200)]), 1),
    ).toHaveLength(1)
    expect(
      checkLeaseOverlaps(leaseSpansFromEvents([hold(0, 1, 0, 600), hold(1, 2, 599.5, 1200)]), 1),
    ).toEqual([])
  })

  it('a successor inside a lease the holder released early is fine', () => {
    const spans = leaseSpansFromEvents([hold(0, 1, 0, 600), end(0, 1, 300), hold(1, 2, 310, 900)])
    expect(checkLeaseOverlaps(spans, 1)).toEqual([])
  })

  it('a short lease entirely inside another is caught', () => {
    const spans = leaseSpansFromEvents([hold(0, 1, 0, 2000), hold(1, 2, 500, 520)])
    expect(checkLeaseOverlaps(spans, 1)).toHaveLength(1)
  })
})

describe('fenced writes', () => {
  const w = (node: string, token: number, accepted = true): Write => ({
    hostMs: 0,
    node,
    token,
    seq: 0,
    accepted,
  })

  it('increasing tokens, one writer each, refusals counted: no violation', () => {
    const r = checkWrites([w('a', 1), w('a', 1), w('b', 2), w('a', 1, false)])
    expect(r).toMatchObject({ stale: 0, accepted: 3, refused: 1, violations: [] })
  })

  it('an accepted lower token and a second writer under one token are stale', () => {
    expect(checkWrites([w('a', 2), w('b', 1)]).stale).toBe(1)
    expect(checkWrites([w('a', 2), w('b', 2)]).stale).toBe(1)
  })

  it('carries state across windows', () => {
    const st = newWriteCheckState()
    checkWrites([w('a', 5)], st)
    expect(checkWrites([w('b', 4)], st).stale).toBe(1)
  })
})

describe('minority leases', () => {
  const part = { label: 'split', installedHostMs: 1000, healedHostMs: 5000, noQuorum: [[0]] }

  it('a lease claimed from before the partition that runs out within the period is fine', () => {
    const spans = leaseSpansFromEvents([hold(0, 4, 900, 1600)])
    expect(checkMinorityLeases(spans, [part], 656, 0.01, 1)).toEqual([])
  })

  it('a lease held past one period after the partition is a violation', () => {
    const v = checkMinorityLeases(leaseSpansFromEvents([hold(0, 4, 1500, 1900)]), [part], 656, 0.01, 1)
    expect(v).toHaveLength(1)
    expect(v[0]?.kind).toBe('minority-lease')
  })

  it('the majority side is not checked', () => {
    expect(checkMinorityLeases(leaseSpansFromEvents([hold(1, 5, 3000, 3600)]), [part], 656, 0.01, 1)).toEqual(
      [],
    )
  })
})

describe('quorum of shards, liveness, quantiles', () => {
  it('a side needs a majority of voters in a majority of shards', () => {
    const shardOf = new Map([
      [0, 1],
      [1, 1],
      [2, 1],
      [3, 2],
      [4, 2],
      [5, 2],
      [6, 3],
      [7, 3],
      [8, 3],
    ])
    expect(hasQuorum([0, 1, 3, 4], shardOf, 9)).toBe(true) // 4 of 9 nodes, 2 of 3 shards
    expect(hasQuorum([0, 3, 6, 1, 2], shardOf, 9)).toBe(false) // 5 of 9 nodes, 1 of 3 shards
    expect(hasQuorum([0, 1, 2], new Map(), 5)).toBe(true)
  })

  it('no leader within the bound after a heal is a violation', () => {
    expect(checkHeals([{ healHostMs: 0, agreedHostMs: 900 }], 1000)).toEqual([])
    expect(checkHeals([{ healHostMs: 0, agreedHostMs: 1200 }], 1000)).toHaveLength(1)
    expect(checkHeals([{ healHostMs: 0, agreedHostMs: undefined }], 1000)).toHaveLength(1)
  })

  it('quantile is the nearest rank', () => {
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3)
    expect(quantile([...Array(100).keys()], 0.99)).toBe(98)
    expect(quantile([], 0.5)).toBeUndefined()
  })
})

describe('leaderless gaps from lease spans', () => {
  it('measures end of one lease → start of the next, merging overlapping holders', () => {
    const spans = leaseSpansFromEvents([hold(0, 1, 0, 600), hold(1, 2, 1500, 2100), hold(2, 3, 2100, 2500)])
    expect(leaderlessGaps(spans, 0, 3000)).toEqual([
      { fromMs: 600, toMs: 1500, durationMs: 900 },
      { fromMs: 2500, toMs: undefined, durationMs: 500 },
    ])
  })

  it('a leader that keeps its lease through the window has no gap; gaps before the window are not counted', () => {
    expect(leaderlessGaps(leaseSpansFromEvents([hold(0, 1, 0, 5000)]), 1000, 4000)).toEqual([])
    expect(
      leaderlessGaps(leaseSpansFromEvents([hold(0, 1, 0, 500), hold(1, 2, 900, 5000)]), 1000, 4000),
    ).toEqual([])
  })
})

describe('delayed writes', () => {
  it('counts held-back writes apart; an accepted stale one is still a stale write', () => {
    const w = (node: string, token: number, accepted: boolean, delayed: boolean): Write => ({
      hostMs: 0,
      node,
      token,
      seq: 0,
      accepted,
      delayed,
    })
    const r = checkWrites([
      w('a', 1, true, false),
      w('b', 2, true, false),
      w('a', 1, false, true),
      w('a', 1, true, true),
    ])
    expect(r).toMatchObject({ delayedAccepted: 1, delayedRefused: 1, stale: 1 })
  })
})

describe('leaseHolderAgain', () => {
  const w = (hostMs: number, node: string, token: number, accepted = true, delayed = false): Write => ({
    hostMs,
    node,
    token,
    seq: 0,
    accepted,
    delayed,
  })
  it('is the first accepted write at or after the heal by a node holding the lease of that term then', () => {
    const spans = leaseSpansFromEvents([hold(1, 2, 0, 500), hold(2, 3, 1800, 2400)])
    const writes = [
      w(400, 'id1', 2), // before the heal
      w(1200, 'id1', 2), // after its lease ended: not a holder
      w(1700, 'id2', 3), // before its lease started
      w(1850, 'id2', 3, false), // refused
      w(1900, 'id2', 3, true, true), // held back on purpose
      w(1950, 'id2', 2), // wrong term for the span
      w(2000, 'id2', 3),
    ]
    expect(leaseHolderAgain(spans, writes, 1000, 5000)).toEqual({ heldAtHeal: false, afterHealMs: 1000 })
    expect(leaseHolderAgain(spans, writes, 1000, 1999)).toEqual({ heldAtHeal: false, afterHealMs: undefined })
    // A lease held through the heal: its holder's next write.
    expect(leaseHolderAgain(spans, [w(2100, 'id2', 3)], 2000, 5000)).toEqual({
      heldAtHeal: true,
      afterHealMs: 100,
    })
  })
})
