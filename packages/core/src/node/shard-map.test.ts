import { describe, expect, it } from 'vitest'
import { createRng, shuffle } from '../util/rng.js'
import { defaultShardMapConfig } from './conclave-config.js'
import { bootstrapShardMap, shardCountFor } from './shard-map.js'
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
})
