import { describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import { lanConclaveConfig } from './conclave-config.js'
import { TestNet, testIds } from './test-net.js'

function shardLeader(net: TestNet): NodeId | undefined {
  return net.live().find((id) => net.machine(id).shardLeader()?.id === id)
}

describe('priority and planned handover', () => {
  it('a leader hands over (TimeoutNow) to the caught-up live member of highest priority', () => {
    const ids = testIds(5)
    const top = ids[3] as NodeId
    const priorities = new Map<NodeId, number>([
      [top, 10],
      [ids[1] as NodeId, 5],
    ])
    const net = new TestNet({ ids, config: lanConclaveConfig(), priorities, seed: 2 })
    net.runFor(3000)
    expect(shardLeader(net)).toBe(top)
    expect(net.globalLeaders()).toEqual([top])
    // Handover is not churn: once the top node leads, nobody hands over again.
    const changes = net.events('shard:leader').filter((e) => e.node === e.leader).length
    net.runFor(3000)
    expect(net.events('shard:leader').filter((e) => e.node === e.leader).length).toBe(changes)
  })

  it('equal priorities: no handover at all after the first election', () => {
    const net = new TestNet({ ids: testIds(5), config: lanConclaveConfig(), seed: 4 })
    net.runFor(1000)
    const first = shardLeader(net)
    net.runFor(3000)
    expect(shardLeader(net)).toBe(first)
  })

  it('transferLeadership(): the old leader ends its lease at once and another node leads', () => {
    const net = new TestNet({ ids: testIds(5), config: lanConclaveConfig(), seed: 6 })
    net.runFor(2000)
    const old = net.globalLeaders()[0] as NodeId
    expect(net.machine(old).transferLeadership(net.nowMs)).toBe(true)
    expect(net.machine(old).isLeader(net.nowMs)).toBe(false)
    net.flush(old)
    const ends = net.events('lease:end').filter((e) => e.node === old)
    expect(ends.map((e) => e.scope).sort()).toEqual(['global', 'shard'])
    net.runFor(1500)
    const next = net.globalLeaders()
    expect(next).toHaveLength(1)
    expect(next[0]).not.toBe(old)
    expect(net.machine(old).leader()?.id).toBe(next[0])
  })
})
