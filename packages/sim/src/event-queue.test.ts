import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EventQueue } from './event-queue.js'

describe('EventQueue', () => {
  it('pops by (atMs, insertion order), like a stable sort', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300 }), (times) => {
        const q = new EventQueue<{ atMs: number; seq: number; id: number }>()
        for (const [id, atMs] of times.entries()) q.push({ atMs, seq: 0, id })
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
          const q = new EventQueue<{ atMs: number; seq: number }>()
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
              q.push({ atMs: op, seq: 0 })
              model.push({ atMs: op, seq: seq++ })
            }
          }
          expect(q.size).toBe(model.length)
        },
      ),
    )
  })
})
