import { describe, expect, it } from 'vitest'
import { createRng, shuffle } from '../util/rng.js'
import { defaultShardMapConfig } from './conclave-config.js'
import { bootstrapShardMap, readShardMap, type ShardMap, shardCountFor, shardMapOp } from './shard-map.js'
import { testIds } from './test-net.js'

describe('shard map', () => {
  it('one shard up to 9 nodes, else at least 3, odd, sizes within 3..9', () => {
    const cfg = defaultShardMapConfig()
    const table = [1, 3, 9, 10, 15, 20, 50, 100, 1000].map((n) => [n, shardCountFor(n, cfg)])
    expect(table).toEqual([
      [1, 1],
      [3, 1],
      [9, 1],
      [10, 3],
      [15, 3],
      [20, 5],
      [50, 11],
      [100, 21],
      [1000, 201],
    ])
    for (let n = 10; n <= 2000; n++) {
      const k = shardCountFor(n, cfg)
      expect(k).toBeGreaterThanOrEqual(3)
      expect(Math.floor(n / k)).toBeGreaterThanOrEqual(cfg.shardSizeMin)
      expect(Math.ceil(n / k)).toBeLessThanOrEqual(cfg.shardSizeMax)
    }
  })

  it('is deterministic whatever order the members were seen in', () => {
    const ids = testIds(37)
    const a = bootstrapShardMap(ids, defaultShardMapConfig())
    const b = bootstrapShardMap(shuffle(createRng(5), [...ids]), defaultShardMapConfig())
    expect([...a.shards]).toEqual([...b.shards])
  })

  it('hands an identical call the same read-only map, and recomputes for other members or sizes', () => {
    const ids = testIds(37)
    const cfg = defaultShardMapConfig()
    const a = bootstrapShardMap(ids, cfg)
    expect(bootstrapShardMap([...ids], { ...cfg })).toBe(a)
    const fewer = bootstrapShardMap(ids.slice(1), cfg)
    expect(fewer).not.toBe(a)
    expect([...fewer.shards.values()].flat().sort()).toEqual(ids.slice(1).sort())
    const bigger = bootstrapShardMap(ids, { ...cfg, shardSizeTarget: 9 })
    expect(bigger.shards.size).toBeLessThan(a.shards.size)
    // back to the first input: the same content as the first map
    expect([...bootstrapShardMap(ids, cfg).shards]).toEqual([...a.shards])
  })

  it('shardMapOp: an equal map gets the same bytes, any difference its own exact encoding', () => {
    const base = bootstrapShardMap(testIds(23), defaultShardMapConfig())
    const copy: ShardMap = { ...base, shards: new Map([...base.shards].map(([k, v]) => [k, [...v]])) }
    const a = shardMapOp(base)
    expect(shardMapOp(copy).value).toBe(a.value)
    const variants: ShardMap[] = [
      { ...base, term: 4 },
      { ...base, version: 2 },
      { ...base, removed: [1] },
      { ...base, forming: { shard: 9, seeds: ['x', 'y'] } },
      { ...base, shards: new Map([...base.shards].map(([k, v]) => [k, k === 0 ? v.slice(1) : v])) },
      { ...base, shards: new Map([...base.shards].reverse()) },
    ]
    for (const v of variants) {
      const op = shardMapOp(v)
      expect(op.value).not.toBe(a.value)
      const back = readShardMap(op.value) as ShardMap
      expect(back.version).toBe(v.version)
      expect(back.term).toBe(v.term ?? 0)
      expect([...back.shards]).toEqual([...v.shards])
      expect(back.removed).toEqual(v.removed ?? [])
      expect(back.forming).toEqual(v.forming)
    }
    expect([...(readShardMap(shardMapOp(copy).value) as ShardMap).shards]).toEqual([...base.shards])
  })
})
