import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FORMING_SEEDS_MAX, REMOVED_SHARDS_MAX } from '../global/global-log.js'
import { WireError } from '../wire/errors.js'
import type { LogEntry } from './control-log.js'
import {
  decodeShardMessage,
  ENTRIES_PER_FRAME_MAX,
  encodeAppendFitting,
  encodeShardMessage,
  NODE_ID_BYTES_MAX,
  SHARD_FRAME_BYTES_MAX,
  type ShardMessage,
  SNAPSHOT_VOTERS_MAX,
} from './shard-wire.js'

const u = fc.nat({ max: 2 ** 40 })
const nodeId = fc.string({
  minLength: 1,
  maxLength: NODE_ID_BYTES_MAX,
  unit: fc.constantFrom(...'12D3KooWabcdefXYZ'.split('')),
})
const mapState = fc
  .record({
    term: u,
    version: u,
    removed: fc.array(fc.nat({ max: 20_000 }), { maxLength: REMOVED_SHARDS_MAX }),
    shardsTotal: fc.integer({ min: 1, max: 20_000 }),
    forming: fc.option(fc.array(nodeId, { maxLength: FORMING_SEEDS_MAX }), { nil: undefined }),
  })
  .map(({ forming, ...m }) =>
    forming === undefined ? m : { ...m, forming: { shard: m.shardsTotal - 1, seeds: forming } },
  )
const entry: fc.Arbitrary<LogEntry> = fc.oneof(
  fc.record({ term: u, kind: fc.constant('noop' as const) }),
  fc.record({ term: u, kind: fc.constant('global-vote' as const), globalTerm: u, candidate: nodeId }),
  fc.record({
    term: u,
    kind: fc.constant('config' as const),
    op: fc.constantFrom('add' as const, 'remove' as const),
    node: nodeId,
  }),
  fc.record({ term: u, kind: fc.constant('map' as const), map: mapState }),
)
const announce = fc.option(
  fc.record({ globalLeader: nodeId, globalTerm: u, leaseLeftMs: u, shardCount: fc.nat({ max: 20_000 }) }),
  {
    nil: undefined,
  },
)
const head = { shard: fc.nat({ max: 10_000 }), term: u }

export const shardMessage: fc.Arbitrary<ShardMessage> = fc.oneof(
  fc.record({ type: fc.constant('prevote' as const), ...head, lastIndex: u, lastTerm: u }),
  fc.record({ type: fc.constant('prevote-resp' as const), ...head, granted: fc.boolean() }),
  fc.record({
    type: fc.constant('vote' as const),
    ...head,
    lastIndex: u,
    lastTerm: u,
    transfer: fc.boolean(),
  }),
  fc.record({ type: fc.constant('vote-resp' as const), ...head, granted: fc.boolean() }),
  fc.record({
    type: fc.constant('append' as const),
    ...head,
    round: u,
    prevIndex: u,
    prevTerm: u,
    commit: u,
    entries: fc.array(entry, { maxLength: ENTRIES_PER_FRAME_MAX }),
    announce,
  }),
  fc.record({
    type: fc.constant('append-resp' as const),
    ...head,
    round: u,
    success: fc.boolean(),
    matchIndex: u,
  }),
  fc.record({
    type: fc.constant('snapshot' as const),
    ...head,
    round: u,
    snapshot: fc.record(
      {
        index: u,
        term: u,
        voters: fc.array(nodeId, { maxLength: SNAPSHOT_VOTERS_MAX }),
        globalVoteTerm: u,
        globalVoteCandidate: fc.oneof(fc.constant(''), nodeId),
        map: mapState,
      },
      { requiredKeys: ['index', 'term', 'voters', 'globalVoteTerm', 'globalVoteCandidate'] },
    ),
  }),
  fc.record({ type: fc.constant('timeout-now' as const), ...head }),
  fc.record({ type: fc.constant('announce' as const), ...head, announce }),
)

describe('shard wire codec', () => {
  it('round-trips every message, each frame within 1200 B', () => {
    fc.assert(
      fc.property(shardMessage, (m) => {
        const bytes = encodeShardMessage(m)
        expect(bytes.length).toBeLessThanOrEqual(SHARD_FRAME_BYTES_MAX)
        expect(decodeShardMessage(bytes)).toEqual(m)
      }),
      { numRuns: 3000 },
    )
  })

  it('random bytes: decodes or throws a WireError, nothing else (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1400 }), (b) => decodesOrWireError(b)),
      { numRuns: 10_000 },
    )
  })

  it('mutated valid frames: decodes or throws a WireError, nothing else (10,000 cases)', () => {
    fc.assert(
      fc.property(
        shardMessage,
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (m, flips, cut) => {
          const bytes = encodeShardMessage(m)
          for (const [at, v] of flips) bytes[at % bytes.length] = v
          decodesOrWireError(bytes)
          decodesOrWireError(bytes.subarray(0, cut % (bytes.length + 1)))
        },
      ),
      { numRuns: 10_000 },
    )
  })

  it('rejects a trailing byte and an unknown version', () => {
    const ok = encodeShardMessage({ type: 'timeout-now', shard: 1, term: 2 })
    expect(() => decodeShardMessage(Uint8Array.of(...ok, 0))).toThrow(/trailing-bytes/)
    expect(() => decodeShardMessage(Uint8Array.of(9, ...ok.subarray(1)))).toThrow(/bad-version/)
  })
})

function decodesOrWireError(b: Uint8Array): void {
  try {
    decodeShardMessage(b)
  } catch (err) {
    if (!(err instanceof WireError)) throw err
  }
}

describe('AppendEntries within the frame bound', () => {
  const seeds = Array.from({ length: FORMING_SEEDS_MAX }, (_, i) => `12D3KooW${'x'.repeat(44)}${i}`)
  const mapEntry = (v: number): LogEntry => ({
    term: 3,
    kind: 'map',
    map: { term: 2, version: v, removed: [], shardsTotal: v, forming: { shard: v - 1, seeds } },
  })
  const append = {
    type: 'append' as const,
    shard: 0,
    term: 3,
    round: 9,
    prevIndex: 4,
    prevTerm: 3,
    commit: 4,
    entries: Array.from({ length: ENTRIES_PER_FRAME_MAX }, (_, i) => mapEntry(10 + i)),
    announce: { globalLeader: seeds[0] as string, globalTerm: 2, leaseLeftMs: 250, shardCount: 12 },
  }

  it('eight map entries with seeds do not fit one frame', () => {
    expect(() => encodeShardMessage(append)).toThrow(WireError)
  })

  it('encodeAppendFitting sends a prefix that fits, at least one entry', () => {
    const bytes = encodeAppendFitting(append)
    expect(bytes.length).toBeLessThanOrEqual(SHARD_FRAME_BYTES_MAX)
    const m = decodeShardMessage(bytes)
    if (m.type !== 'append') throw new Error(m.type)
    expect(m.entries.length).toBeGreaterThanOrEqual(1)
    expect(m.entries.length).toBeLessThan(ENTRIES_PER_FRAME_MAX)
    expect(m.entries).toEqual(append.entries.slice(0, m.entries.length))
  })
})
