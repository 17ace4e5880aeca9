import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { WireError } from '../wire/errors.js'
import {
  decodeGlobalMessage,
  encodeGlobalMessage,
  GLOBAL_FRAME_BYTES_MAX,
  type GlobalMessage,
} from './global-wire.js'

const u = fc.nat({ max: 2 ** 40 })
const globalMessage: fc.Arbitrary<GlobalMessage> = fc.oneof(
  fc.record({ type: fc.constant('gprevote' as const), term: u, candShard: u, mapVersion: u, mapTerm: u }),
  fc.record({ type: fc.constant('gprevote-resp' as const), term: u, shard: u, granted: fc.boolean() }),
  fc.record({ type: fc.constant('gvote' as const), term: u, candShard: u, mapVersion: u, mapTerm: u }),
  fc.record({ type: fc.constant('gvote-resp' as const), term: u, shard: u, granted: fc.boolean() }),
  fc.record({ type: fc.constant('gheartbeat' as const), term: u, round: u, leaderShard: u, leaseLeftMs: u }),
  fc.record({
    type: fc.constant('gack' as const),
    term: u,
    round: u,
    shard: u,
    ok: fc.boolean(),
    voters: fc.nat({ max: 64 }),
    shardLeaseLeftMs: u,
    mapTerm: u,
    mapVersion: u,
  }),
  fc.record({
    type: fc.constant('grelay' as const),
    term: u,
    round: u,
    leaderShard: u,
    leaseLeftMs: u,
    shards: fc.array(fc.nat({ max: 20_000 }), { maxLength: 64 }),
  }),
  fc.record({
    type: fc.constant('gfwd' as const),
    term: u,
    round: u,
    leaderShard: u,
    leaseLeftMs: u,
    leader: fc.string({ minLength: 1, maxLength: 52, unit: fc.constantFrom(...'12D3KooWxyz'.split('')) }),
  }),
  fc.record({
    type: fc.constant('gacks' as const),
    term: u,
    round: u,
    // Realistic field sizes (terms, rounds and map versions far below 2^40): the relay packs by
    // encoded size (relay.test.ts checks the packing at the extremes).
    acks: fc.array(
      fc.record({
        term: fc.nat({ max: 2 ** 20 }),
        round: fc.nat({ max: 2 ** 24 }),
        shard: fc.nat({ max: 20_000 }),
        ok: fc.boolean(),
        voters: fc.nat({ max: 64 }),
        shardLeaseLeftMs: fc.nat({ max: 10_000 }),
        mapTerm: fc.nat({ max: 2 ** 20 }),
        mapVersion: fc.nat({ max: 2 ** 24 }),
        leaderTag: fc.nat({ max: 0xffff_ffff }),
      }),
      { maxLength: 40 },
    ),
  }),
  fc.record({
    type: fc.constant('gassign' as const),
    term: u,
    shard: u,
    node: fc.string({ minLength: 1, maxLength: 52, unit: fc.constantFrom(...'12D3KooWxyz'.split('')) }),
  }),
  fc.record({
    type: fc.constant('gmap' as const),
    term: u,
    committed: fc.boolean(),
    map: fc
      .record({
        term: u,
        version: u,
        removed: fc.array(u, { maxLength: 32 }),
        shardsTotal: fc.integer({ min: 1, max: 20_000 }),
        seeds: fc.option(
          fc.array(
            fc.string({ minLength: 1, maxLength: 52, unit: fc.constantFrom(...'12D3KooWxyz'.split('')) }),
            {
              maxLength: 5,
            },
          ),
          { nil: undefined },
        ),
      })
      .map(({ seeds, ...m }) => (seeds === undefined ? m : { ...m, forming: { shard: 0, seeds } })),
  }),
)

function decodesOrWireError(b: Uint8Array): void {
  try {
    decodeGlobalMessage(b)
  } catch (err) {
    if (!(err instanceof WireError)) throw err
  }
}

describe('global wire codec', () => {
  it('round-trips every message within 1200 B', () => {
    fc.assert(
      fc.property(globalMessage, (m) => {
        const bytes = encodeGlobalMessage(m)
        expect(bytes.length).toBeLessThanOrEqual(GLOBAL_FRAME_BYTES_MAX)
        expect(decodeGlobalMessage(bytes)).toEqual(m)
      }),
      { numRuns: 3000 },
    )
  })

  it('random bytes: decodes or throws a WireError (10,000 cases)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), decodesOrWireError), { numRuns: 10_000 })
  })

  it('mutated frames: decodes or throws a WireError (10,000 cases)', () => {
    fc.assert(
      fc.property(globalMessage, fc.nat(), fc.nat({ max: 255 }), fc.nat(), (m, at, v, cut) => {
        const bytes = encodeGlobalMessage(m)
        bytes[at % bytes.length] = v
        decodesOrWireError(bytes)
        decodesOrWireError(bytes.subarray(0, cut % (bytes.length + 1)))
      }),
      { numRuns: 10_000 },
    )
  })
})
