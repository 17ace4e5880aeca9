import { describe, expect, it } from 'vitest'
import { LEADER_BOOK_MAX, LeaderBook } from './leader-book.js'

describe('LeaderBook', () => {
  it('keeps the last leader heard per shard; a miss of that leader sends the shard to its voters', () => {
    const b = new LeaderBook()
    expect(b.get(3)).toBeUndefined()
    b.note(3, 'a', 1)
    b.note(3, 'b', 2)
    expect(b.get(3)?.id).toBe('b')
    b.missed(3, 'a', 3) // not the current entry: no effect
    expect(b.get(3)?.id).toBe('b')
    b.missed(3, 'b', 4)
    expect(b.get(3)).toEqual({ id: undefined, missedId: 'b', atMs: 4, askedSinceMs: 4 })
    b.note(3, 'c', 5)
    expect(b.get(3)?.id).toBe('c')
  })

  it('silence counts from the first unanswered request until a frame of the leader is heard', () => {
    const b = new LeaderBook()
    b.note(1, 'a', 0)
    expect(b.silentForMs(1, 100)).toBe(0)
    b.asked(1, 100)
    b.asked(1, 300) // still unanswered: counts from 100
    expect(b.silentForMs(1, 1000)).toBe(900)
    b.note(1, 'a', 1100)
    expect(b.silentForMs(1, 1200)).toBe(0)
    b.asked(2, 50) // never heard: silent from the first ask
    expect(b.get(2)?.id).toBeUndefined()
    expect(b.silentForMs(2, 150)).toBe(100)
  })

  it('forget(id) misses every shard it was the entry of', () => {
    const b = new LeaderBook()
    b.note(1, 'a', 1)
    b.note(2, 'b', 1)
    b.forget('a', 2)
    expect(b.get(1)?.id).toBeUndefined()
    expect(b.get(1)?.missedId).toBe('a')
    expect(b.get(2)?.id).toBe('b')
  })

  it(`is bounded: at most ${LEADER_BOOK_MAX} shards, the oldest entry goes first`, () => {
    const b = new LeaderBook()
    for (let s = 0; s < LEADER_BOOK_MAX + 10; s++) b.note(s, `n${s}`, s)
    expect(b.size).toBe(LEADER_BOOK_MAX)
    expect(b.get(0)).toBeUndefined()
    expect(b.get(9)).toBeUndefined()
    expect(b.get(10)?.id).toBe('n10')
    for (let s = 0; s < 20; s++) b.missed(100_000 + s, 'x', 0)
    expect(b.size).toBe(LEADER_BOOK_MAX)
  })
})
