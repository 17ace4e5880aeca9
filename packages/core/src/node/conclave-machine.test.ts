import { describe, expect, it } from 'vitest'
import { lanConclaveConfig } from './conclave-config.js'
import { TestNet, testIds } from './test-net.js'

describe('ConclaveMachine: one shard', () => {
  it('elects one global leader among 5 nodes and everyone learns it', () => {
    const net = new TestNet({ ids: testIds(5), config: lanConclaveConfig() })
    net.runFor(2000)
    const leaders = net.globalLeaders()
    expect(leaders).toHaveLength(1)
    const leader = leaders[0]
    for (const id of net.live()) expect(net.machine(id).leader()?.id).toBe(leader)
    expect(net.machine(leader as string).fencingToken(net.nowMs)).toBeGreaterThan(0)
  })
})

describe('ConclaveMachine: many shards', () => {
  it('15 nodes form 3 shards and elect one global leader known to all', () => {
    const net = new TestNet({ ids: testIds(15), config: lanConclaveConfig() })
    net.runFor(3000)
    const map = net.machine('node-000').shardMap()
    expect(map?.shards.size).toBe(3)
    const leaders = net.globalLeaders()
    expect(leaders).toHaveLength(1)
    for (const id of net.live()) expect(net.machine(id).leader()?.id).toBe(leaders[0])
  })
})
