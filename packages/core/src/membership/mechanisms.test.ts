import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createRng } from '../util/rng.js'
import { BroadcastQueue } from './broadcast-queue.js'
import { lanConfig, localConfig, validateConfig, wanConfig } from './config.js'
import { Digest, fingerprint } from './digest.js'
import { LocalHealth } from './local-health.js'
import { idHash, Ring } from './ring.js'
import { Suspicion, suspicionMinMs, suspicionTimeoutMs } from './suspicion.js'

describe('Lifeguard suspicion timeout', () => {
  it('table: shrinks from max to min as confirmations arrive (K = 2 expected)', () => {
    expect(suspicionTimeoutMs(600, 2400, 0, 2)).toBe(2400)
    expect(suspicionTimeoutMs(600, 2400, 1, 2)).toBe(Math.floor(2400 - 1800 * (Math.log(2) / Math.log(3))))
    expect(suspicionTimeoutMs(600, 2400, 2, 2)).toBe(600)
    expect(suspicionTimeoutMs(600, 2400, 5, 2)).toBe(600)
    expect(suspicionTimeoutMs(600, 2400, 0, 0)).toBe(600)
  })

  it('min = mult · max(1, log10 N) · interval', () => {
    expect(suspicionMinMs(1, 1000, 200)).toBe(600)
    expect(suspicionMinMs(1, 5, 200)).toBe(200)
    expect(suspicionMinMs(2, 100, 1000)).toBe(4000)
  })

  it('a deadline only moves closer, and a repeated accuser is not a confirmation', () => {
    const s = new Suspicion(1000, 600, 2400, 2, 'a')
    expect(s.deadlineMs).toBe(3400)
    expect(s.confirm('a')).toBe(false)
    expect(s.confirm('b')).toBe(true)
    const mid = s.deadlineMs
    expect(mid).toBeLessThan(3400)
    expect(s.confirm('b')).toBe(false)
    expect(s.confirm('c')).toBe(true)
    expect(s.deadlineMs).toBe(1600)
    expect(s.confirm('d')).toBe(false) // bounded: no more than expected confirmations are kept
  })
})

describe('broadcast queue', () => {
  it('sends least-transmitted first, each at most `limit` times, and replaces per key', () => {
    const q = new BroadcastQueue(10)
    const b = (n: number) => new Uint8Array(n)
    q.enqueue('a', b(20))
    expect(q.take(1000, 10, 3)).toHaveLength(1)
    q.enqueue('b', b(20))
    // Room for one: 'b' (0 sends) goes before 'a' (1 send).
    const one = q.take(30, 10, 3)
    expect(one).toHaveLength(1)
    expect(q.take(1000, 10, 3)).toHaveLength(2) // a: 2 sends, b: 2 sends
    expect(q.take(1000, 10, 3)).toHaveLength(2) // both reach 3 and are gone
    expect(q.size).toBe(0)
    q.enqueue('a', b(20))
    q.enqueue('a', b(30))
    expect(q.size).toBe(1)
    expect(q.take(1000, 10, 3)[0]?.length).toBe(30)
  })

  it('a gossip frame takes an update only while it was sent fewer than its framesMax times', () => {
    const q = new BroadcastQueue(10)
    q.enqueue('death', new Uint8Array(20), 2)
    q.enqueue('join', new Uint8Array(20), 1)
    expect(q.take(1000, 10, 4, true)).toHaveLength(2) // both: 1 send each
    expect(q.take(1000, 10, 4, true)).toHaveLength(1) // the join used its one frame
    expect(q.take(1000, 10, 4, true)).toEqual([]) // both used their frames
    expect(q.take(1000, 10, 4)).toHaveLength(2) // piggyback takes the rest, up to the limit
    expect(q.take(1000, 10, 4)).toHaveLength(2)
    expect(q.size).toBe(1) // the death reached 4 and is gone; the join has 1 send left
  })

  it('property: bounded size; on overflow the most-sent item is dropped; never exceeds room', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.tuple(fc.constant('put' as const), fc.nat({ max: 30 }), fc.integer({ min: 1, max: 200 })),
            fc.tuple(fc.constant('take' as const), fc.nat({ max: 500 }), fc.integer({ min: 1, max: 8 })),
          ),
          { maxLength: 200 },
        ),
        (ops) => {
          const q = new BroadcastQueue(8)
          const sends = new Map<Uint8Array, number>()
          for (const [op, x, y] of ops) {
            if (op === 'put') q.enqueue(`k${x}`, new Uint8Array(y))
            else {
              const got = q.take(x, 64, y)
              expect(got.reduce((s, g) => s + g.length, 0)).toBeLessThanOrEqual(x)
              for (const g of got) sends.set(g, (sends.get(g) ?? 0) + 1)
            }
            expect(q.size).toBeLessThanOrEqual(8)
          }
          for (const n of sends.values()) expect(n).toBeLessThanOrEqual(8)
        },
      ),
    )
  })
})

describe('monitoring ring', () => {
  it('successors and predecessors mirror each other: x monitors y iff y is monitored by x', () => {
    const ring = new Ring()
    const ids = Array.from({ length: 50 }, (_, i) => `12D3KooW${i}`)
    for (const id of ids) ring.add(id, idHash(id))
    const k = 3
    const monitoredBy = new Map<string, string[]>()
    for (const id of ids) {
      const subj = ring.successors(id, idHash(id), k)
      expect(subj).toHaveLength(k)
      expect(subj).not.toContain(id)
      for (const s of subj) monitoredBy.set(s, [...(monitoredBy.get(s) ?? []), id])
    }
    for (const id of ids) {
      expect([...(monitoredBy.get(id) ?? [])].sort()).toEqual(ring.predecessors(id, idHash(id), k).sort())
    }
  })

  it('addAll (one sort) builds the same ring as one add at a time, duplicates collapsed', () => {
    const ids = Array.from({ length: 60 }, (_, i) => `12D3KooW${i}`)
    const one = new Ring()
    for (const id of ids) one.add(id, idHash(id))
    const bulk = new Ring()
    bulk.add(ids[7] as string, idHash(ids[7] as string))
    bulk.addAll(ids.map((id) => ({ id, hash: idHash(id) })))
    expect(bulk.size).toBe(one.size)
    for (let i = 0; i < ids.length; i++) expect(bulk.at(i)).toBe(one.at(i))
  })

  it('addAll orders members that share a hash by id, as add does', () => {
    const slots = [
      { id: 'd', hash: 5 },
      { id: 'b', hash: 5 },
      { id: 'z', hash: 1 },
      { id: 'c', hash: 5 },
      { id: 'b', hash: 5 },
      { id: 'a', hash: 0xffffffff },
    ]
    const one = new Ring()
    for (const s of slots) one.add(s.id, s.hash)
    const bulk = new Ring()
    bulk.add('c', 5)
    bulk.addAll(slots)
    expect(bulk.size).toBe(5)
    for (let i = 0; i < 5; i++) expect(bulk.at(i)).toBe(one.at(i))
    expect([0, 1, 2, 3, 4].map((i) => bulk.at(i))).toEqual(['z', 'b', 'c', 'd', 'a'])
  })

  it('removal shifts subjects to the next live member; random() honours exclusions', () => {
    const ring = new Ring()
    for (const id of ['a', 'b', 'c', 'd']) ring.add(id, idHash(id))
    const [first] = ring.successors('a', idHash('a'), 1)
    if (!first) throw new Error('no successor')
    ring.remove(first, idHash(first))
    expect(ring.successors('a', idHash('a'), 3)).not.toContain(first)
    expect(ring.successors('a', idHash('a'), 3)).toHaveLength(2)
    const rng = createRng(3)
    for (let i = 0; i < 50; i++) expect(ring.random(rng, new Set(['a']))).not.toBe('a')
    expect(ring.random(rng, new Set(['a', 'b', 'c', 'd']))).toBeUndefined()
  })
})

describe('anti-entropy digest', () => {
  it('property: equal tables give equal digests whatever the order; one change flips one bucket', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 40 }),
        (ids) => {
          const a = new Digest(16)
          const b = new Digest(16)
          for (const id of ids) a.add(idHash(id), fingerprint(idHash(id), 1, 0, 0))
          for (const id of [...ids].reverse()) b.add(idHash(id), fingerprint(idHash(id), 1, 0, 0))
          expect(a.mismatched(Array.from(b.hashes))).toEqual([])
          const id = ids[0] as string
          b.remove(idHash(id), fingerprint(idHash(id), 1, 0, 0))
          b.add(idHash(id), fingerprint(idHash(id), 1, 1, 0))
          expect(a.mismatched(Array.from(b.hashes))).toEqual([idHash(id) % 16])
        },
      ),
    )
  })
})

describe('local health and config', () => {
  it('health is clamped to [0, max] and stretches time by (1 + score)', () => {
    const h = new LocalHealth(3)
    expect(h.apply(-1)).toBe(false)
    expect(h.apply(5)).toBe(true)
    expect(h.score).toBe(3)
    expect(h.scale(100)).toBe(400)
  })

  it('presets are valid and differ only where documented', () => {
    for (const c of [lanConfig(), wanConfig(), localConfig()]) validateConfig(c)
    expect(() => validateConfig({ ...lanConfig(), probeTimeoutMs: 150 })).toThrow()
    expect(wanConfig().aeBuckets).toBe(lanConfig().aeBuckets)
  })
})
