/**
 * Shard and global frames from outside the configuration are refused and counted, never a
 * crash. Regression for the fuzz run's first finding: a stranger replaying a valid `append` for
 * the shard leader's own term tripped the two-leaders assertion and killed the node.
 */
import { describe, expect, it } from 'vitest'
import { encodeGlobalMessage } from '../global/global-wire.js'
import { encodeShardMessage } from '../shard/shard-wire.js'
import { lanConclaveConfig } from './conclave-config.js'
import { TestNet, testIds } from './test-net.js'

function cluster() {
  const net = new TestNet({ ids: testIds(5), config: lanConclaveConfig() })
  net.runFor(2000)
  const id = net.globalLeaders()[0] as string
  const m = net.machine(id)
  const sl = m.shardLeader()
  if (!sl || sl.id !== id) throw new Error('the global leader leads its shard here')
  const append = encodeShardMessage({
    type: 'append',
    shard: sl.shard,
    term: sl.term,
    round: 1,
    prevIndex: 0,
    prevTerm: 0,
    commit: 0,
    entries: [],
    announce: undefined,
  })
  return { net, id, m, sl, append }
}

describe('frames from outside the configuration', () => {
  it('a stranger replaying an append for the leader’s own term is refused as not-a-member', () => {
    const { net, id, m, append } = cluster()
    m.receive('stranger', 'shard', append, net.nowMs)
    const gheartbeat = encodeGlobalMessage({
      type: 'gheartbeat',
      term: 99,
      round: 1,
      leaderShard: 0,
      leaseLeftMs: 1000,
    })
    m.receive('stranger', 'global', gheartbeat, net.nowMs)
    expect(m.rejections.get('not-a-member')).toBe(2)
    expect(m.shardLeader()?.id).toBe(id)
    expect(m.leader()?.term).toBeLessThan(99)
    net.runFor(500)
    expect(net.globalLeaders()).toEqual([id])
  })

  it('a member that is not a voter of the shard is refused as not-a-voter', () => {
    const { net, id, m, append } = cluster()
    net.addNode('node-late') // a member (membership sees it alive), not yet in any shard
    m.receive('node-late', 'shard', append, net.nowMs)
    expect(m.rejections.get('not-a-voter')).toBe(1)
    expect(m.shardLeader()?.id).toBe(id)
  })
})
