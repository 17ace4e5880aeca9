import { describe, expect, it } from 'vitest'
import {
  checkHeals,
  checkLeaseOverlaps,
  checkMinorityLeases,
  checkWrites,
  hasQuorum,
  leaseSpans,
  newWriteCheckState,
  quantile,
  type Sample,
  type Write,
} from './checker.js'

const sample = (
  node: number,
  hostMs: number,
  token: number | null,
  leaseLeftMs = 0,
  driftPpm = 0,
): Sample => ({
  node,
  id: `id${node}`,
  hostMs,
  role: token === null ? 'follower' : 'global-leader',
  leader: token === null ? null : `id${node}`,
  term: token ?? 0,
  token,
  leaseLeftMs,
  driftPpm,
  shard: 0,
})

describe('lease overlaps', () => {
  it('merges one node’s renewals of a term into one span, in host time', () => {
    const spans = leaseSpans([sample(0, 100, 3, 500), sample(0, 250, 3, 500), sample(0, 900, 3, 100)])
    expect(spans).toEqual([
      { node: 0, id: 'id0', term: 3, fromMs: 100, toMs: 750 },
      { node: 0, id: 'id0', term: 3, fromMs: 900, toMs: 1000 },
    ])
  })

  it('turns lease left into host time with the node’s drift (a fast clock’s lease ends sooner)', () => {
    const [s] = leaseSpans([sample(1, 0, 2, 1010, 10_000)])
    expect(s?.toMs).toBeCloseTo(1000, 6)
  })

  it('a successor after the claimed end is fine; one inside it is a violation', () => {
    const ok = leaseSpans([sample(0, 0, 1, 600), sample(1, 620, 2, 600)])
    expect(checkLeaseOverlaps(ok, 5)).toEqual([])
    const bad = leaseSpans([sample(0, 0, 1, 600), sample(1, 500, 2, 600)])
    const v = checkLeaseOverlaps(bad, 5)
    expect(v).toHaveLength(1)
    expect(v[0]?.kind).toBe('lease-overlap')
    expect(v[0]?.detail).toContain('100.0 ms before the end')
  })

  it('a node that still says it leads after its lease ran out (broken lease) overlaps at that instant', () => {
    // n0 claims 0 ms left but isLeader() was true: it holds at 700 while n1 holds 650..1250.
    const spans = leaseSpans([sample(1, 650, 2, 600), sample(0, 700, 1, 0), sample(0, 800, 1, 0)])
    expect(checkLeaseOverlaps(spans, 5).length).toBeGreaterThan(0)
  })

  it('allows overlaps up to the tolerance', () => {
    const spans = leaseSpans([sample(0, 0, 1, 600), sample(1, 596, 2, 600)])
    expect(checkLeaseOverlaps(spans, 5)).toEqual([])
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
    expect(checkMinorityLeases([sample(0, 1100, 4, 500)], [part], 656, 0.01, 5)).toEqual([])
  })

  it('a lease held past one period after the partition is a violation', () => {
    const v = checkMinorityLeases([sample(0, 1500, 4, 400)], [part], 656, 0.01, 5)
    expect(v).toHaveLength(1)
    expect(v[0]?.kind).toBe('minority-lease')
  })

  it('the majority side is not checked', () => {
    expect(checkMinorityLeases([sample(1, 3000, 5, 600)], [part], 656, 0.01, 5)).toEqual([])
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
