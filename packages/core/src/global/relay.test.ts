import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import {
  decodeGlobalMessage,
  encodeGlobalMessage,
  GLOBAL_FRAME_BYTES_MAX,
  type GlobalMessage,
  RELAY_SHARDS_MAX,
} from './global-wire.js'
import { HeartbeatRelay, leaderTag, relayChunks } from './relay.js'

describe('relayChunks', () => {
  it('partitions the shards into ≈ √n contiguous chunks of at most RELAY_SHARDS_MAX', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat({ max: 20_000 }), { minLength: 8, maxLength: 6000 }), (shards) => {
        const chunks = relayChunks(shards, 8)
        const flat = chunks.flat()
        expect(flat).toEqual([...shards].sort((a, b) => a - b))
        const n = shards.length
        expect(chunks.length).toBe(Math.max(Math.ceil(Math.sqrt(n)), Math.ceil(n / RELAY_SHARDS_MAX)))
        const sizes = chunks.map((c) => c.length)
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
        expect(Math.max(...sizes)).toBeLessThanOrEqual(RELAY_SHARDS_MAX)
      }),
      { numRuns: 300 },
    )
  })

  it('none below the threshold', () => {
    expect(relayChunks([1, 2, 3], 8)).toEqual([])
    expect(relayChunks([], 0)).toEqual([])
    expect(relayChunks([5, 1, 3, 2], 4)).toEqual([
      [1, 2],
      [3, 5],
    ])
  })
})

interface Sent {
  to: NodeId
  m: GlobalMessage
}

function relayUnderTest(voters: Map<number, NodeId[]>) {
  const sent: Sent[] = []
  const relay = new HeartbeatRelay({
    id: 'relay',
    // Every frame goes through the codec, as on the wire.
    send: (to, m) => sent.push({ to, m: decodeGlobalMessage(encodeGlobalMessage(m)) }),
    targets: (shard) => voters.get(shard) ?? [],
    ackWaitMs: 20,
  })
  return { relay, sent }
}

function grelay(round: number, shards: number[], term = 7): GlobalMessage & { type: 'grelay' } {
  return { type: 'grelay', term, round, leaderShard: 0, leaseLeftMs: 250, shards }
}

function gack(shard: number, round: number, term = 7, ok = true): GlobalMessage & { type: 'gack' } {
  return { type: 'gack', term, round, shard, ok, voters: 5, shardLeaseLeftMs: 180, mapTerm: 3, mapVersion: 9 }
}

const voters = new Map<number, NodeId[]>([
  [1, ['a1', 'a2', 'a3']],
  [2, ['b1', 'b2', 'b3']],
  [3, ['c1', 'c2', 'c3']],
])

describe('HeartbeatRelay', () => {
  it('forwards to every voter of an unknown shard leader, then to the leader that acked', () => {
    const { relay, sent } = relayUnderTest(voters)
    relay.start('L', grelay(10, [1, 2]), undefined, 0)
    expect(sent.map((s) => s.to).sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3'])
    expect(sent[0]?.m).toMatchObject({ type: 'gfwd', term: 7, round: 10, leader: 'L', leaseLeftMs: 250 })
    expect(relay.take('a2', gack(1, 10), 1)).toBe(true)
    expect(relay.take('b3', gack(2, 10), 1)).toBe(true)
    sent.length = 0
    relay.start('L', grelay(11, [1, 2]), undefined, 120)
    expect(sent.map((s) => s.to).sort()).toEqual(['a2', 'b3'])
  })

  it('passes each ack on once, unchanged, tagged with the acking node, when all answered', () => {
    const { relay, sent } = relayUnderTest(voters)
    const own = { ...gack(3, 10), leaderTag: leaderTag('relay') }
    const { type: _t, ...ownFields } = gack(3, 10)
    relay.start('L', grelay(10, [1, 2]), own, 0)
    sent.length = 0
    relay.take('a1', gack(1, 10), 1)
    expect(relay.take('a1', gack(1, 10), 1)).toBe(true) // duplicate: swallowed, not passed twice
    expect(sent).toHaveLength(0) // shard 2 still missing, deadline not reached
    relay.take('b1', gack(2, 10, 9, false), 2) // a refusal of a higher term is passed on too
    expect(sent).toHaveLength(1)
    const f = sent[0] as Sent
    expect(f.to).toBe('L')
    const { type: _a, ...a1 } = gack(1, 10)
    const { type: _b, ...b1 } = gack(2, 10, 9, false)
    expect(f.m).toEqual({
      type: 'gacks',
      term: 7,
      round: 10,
      acks: [
        { ...ownFields, leaderTag: leaderTag('relay') },
        { ...a1, leaderTag: leaderTag('a1') },
        { ...b1, leaderTag: leaderTag('b1') },
      ],
    })
  })

  it('ignores acks of other rounds and of shards it did not forward to', () => {
    const { relay } = relayUnderTest(voters)
    relay.start('L', grelay(10, [1]), undefined, 0)
    expect(relay.take('a1', gack(1, 9), 1)).toBe(false)
    expect(relay.take('c1', gack(3, 10), 1)).toBe(false)
    expect(relay.take('a1', gack(1, 10), 1)).toBe(true)
  })

  it('passes on what it has at the deadline, and a late ack at the next one', () => {
    const { relay, sent } = relayUnderTest(voters)
    relay.start('L', grelay(10, [1, 2, 3]), undefined, 0)
    sent.length = 0
    relay.take('a1', gack(1, 10), 2)
    expect(relay.nextTickAtMs()).toBe(20)
    relay.tick(19)
    expect(sent).toHaveLength(0)
    relay.tick(20)
    expect(sent.map((s) => (s.m as { acks: unknown[] }).acks.length)).toEqual([1])
    expect(relay.nextTickAtMs()).toBe(Number.POSITIVE_INFINITY)
    relay.take('b1', gack(2, 10), 30)
    expect(relay.nextTickAtMs()).toBe(50)
    relay.take('c1', gack(3, 10), 31) // the last one: at once
    expect(sent.map((s) => (s.m as { acks: unknown[] }).acks.length)).toEqual([1, 2])
  })

  it('a new leadership forgets the shard leaders heard under the last one', () => {
    const { relay, sent } = relayUnderTest(voters)
    relay.start('L', grelay(500, [1]), undefined, 0)
    relay.take('a1', gack(1, 500), 1)
    sent.length = 0
    // The next leader counts rounds from its own counter (here lower): a1 may be dead.
    relay.start('M', grelay(3, [1], 8), undefined, 100)
    expect(sent.map((s) => s.to)).toEqual(['a1', 'a2', 'a3'])
  })

  it('packs acks into frames under the bound, even with every field at its largest', () => {
    const many = new Map<number, NodeId[]>()
    const shards = Array.from({ length: RELAY_SHARDS_MAX }, (_, i) => 19_000 + i)
    for (const s of shards) many.set(s, [`v${s}`])
    const { relay, sent } = relayUnderTest(many)
    relay.start('L', grelay(2 ** 40, shards, 2 ** 40), undefined, 0)
    sent.length = 0
    for (const s of shards)
      relay.take(
        `v${s}`,
        {
          ...gack(s, 2 ** 40, 2 ** 40),
          shardLeaseLeftMs: 2 ** 40,
          mapTerm: 2 ** 40,
          mapVersion: 2 ** 40,
        },
        1,
      )
    expect(sent.length).toBeGreaterThan(1)
    const acks = sent.flatMap((s) => (s.m as { acks: { shard: number }[] }).acks.map((a) => a.shard))
    expect(acks).toEqual(shards)
    for (const s of sent) expect(encodeGlobalMessage(s.m).length).toBeLessThanOrEqual(GLOBAL_FRAME_BYTES_MAX)
  })
})
