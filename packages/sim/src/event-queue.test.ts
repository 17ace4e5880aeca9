import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EventQueue } from './event-queue.js'

describe('EventQueue', () => {
  it('pops by (atMs, insertion order), like a stable sort', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300 }), (times) => {
        const q = new EventQueue<{ atMs: number; seq: number; slot: number; id: number }>()
        for (const [id, atMs] of times.entries()) q.push({ atMs, seq: 0, slot: -1, id })
        const out: number[] = []
        for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e.id)
        const oracle = times.map((atMs, id) => ({ atMs, id })).sort((a, b) => a.atMs - b.atMs || a.id - b.id)
        expect(out).toEqual(oracle.map((e) => e.id))
      }),
    )
  })

  it('keeps order when pushes and pops interleave', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }), { maxLength: 300 }),
        (ops) => {
          const q = new EventQueue<{ atMs: number; seq: number; slot: number }>()
          const model: Array<{ atMs: number; seq: number }> = []
          let seq = 0
          for (const op of ops) {
            if (op === undefined) {
              model.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq)
              const want = model.shift()
              const got = q.pop()
              expect(got?.atMs).toBe(want?.atMs)
              expect(got?.seq).toBe(want?.seq)
            } else {
              q.push({ atMs: op, seq: 0, slot: -1 })
              model.push({ atMs: op, seq: seq++ })
            }
          }
          expect(q.size).toBe(model.length)
        },
      ),
    )
  })

  it('reschedule and remove act like pushing a fresh entry and never popping the old one', () => {
    // Model: a list of live (atMs, seq) per id; reschedule = drop the id's entry, push anew.
    type E = { atMs: number; seq: number; slot: number; id: number }
    const op = fc.oneof(
      fc.record({ k: fc.constant('push' as const), at: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ k: fc.constant('move' as const), i: fc.nat(), at: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ k: fc.constant('remove' as const), i: fc.nat() }),
      fc.record({ k: fc.constant('pop' as const) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const q = new EventQueue<E>()
        const all: E[] = []
        const model = new Map<number, { atMs: number; order: number }>()
        let order = 0
        const expectPop = () => {
          let best: number | undefined
          for (const [id, m] of model) {
            const b = best === undefined ? undefined : (model.get(best) as { atMs: number; order: number })
            if (b === undefined || m.atMs < b.atMs || (m.atMs === b.atMs && m.order < b.order)) best = id
          }
          if (best !== undefined) model.delete(best)
          return best
        }
        for (const o of ops) {
          if (o.k === 'push') {
            const e: E = { atMs: o.at, seq: 0, slot: -1, id: all.length }
            all.push(e)
            q.push(e)
            model.set(e.id, { atMs: o.at, order: order++ })
          } else if (o.k === 'move' && all.length > 0) {
            const e = all[o.i % all.length] as E
            q.reschedule(e, o.at)
            model.set(e.id, { atMs: o.at, order: order++ })
          } else if (o.k === 'remove' && all.length > 0) {
            const e = all[o.i % all.length] as E
            q.remove(e)
            model.delete(e.id)
            expect(e.slot).toBe(-1)
          } else if (o.k === 'pop') {
            expect(q.pop()?.id).toBe(expectPop())
          }
          expect(q.size).toBe(model.size)
        }
        for (let want = expectPop(); want !== undefined; want = expectPop()) expect(q.pop()?.id).toBe(want)
        expect(q.pop()).toBeUndefined()
      }),
    )
  })
})
