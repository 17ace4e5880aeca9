/**
 * Real libp2p on 127.0.0.1, in one process: a shard leader that knows a global leader opens its
 * global channel to the members of other shards before any frame needs it (conclave-service.ts
 * warmGlobalChannels); not to members of its own shard, dead ones, or members in no shard; and a
 * node that leads no shard opens none.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import { type ConclaveNode, createConclave } from './create-conclave.js'
import { ScriptedMachine } from './scripted-machine.js'

interface FakeMember {
  id: NodeId
  state: string
  meta: { addrs: string[]; shard: number | null }
}

/** Leads shard 0 (or nothing) and knows a global leader; its member table is set by the test. */
class ShardLeaderMachine extends ScriptedMachine {
  table: FakeMember[] = []
  constructor(
    id: NodeId,
    readonly leadsShard: boolean,
  ) {
    super(id)
  }
  readonly membership = {
    members: () => this.table,
    member: (id: NodeId) => this.table.find((m) => m.id === id),
  }
  override leader(): { id: NodeId; term: number } {
    return { id: 'someone-else', term: 1 }
  }
  shardLeader(): { shard: number; id: NodeId; term: number } {
    return { shard: 0, id: this.leadsShard ? this.id : 'another', term: 1 }
  }
}

const dir = mkdtempSync(join(tmpdir(), 'conclave-warm-'))
const nodes: ConclaveNode[] = []
afterAll(async () => {
  for (const n of nodes) await n.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function start(
  name: string,
  leadsShard = false,
): Promise<{ node: ConclaveNode; machine: ShardLeaderMachine }> {
  let machine: ShardLeaderMachine | undefined
  const node = await createConclave({
    dataDir: join(dir, name),
    machineFactory: (ctx) => (machine = new ShardLeaderMachine(ctx.id, leadsShard)),
  })
  nodes.push(node)
  return { node, machine: machine as ShardLeaderMachine }
}

function member(n: ConclaveNode, shard: number | null, state = 'alive'): FakeMember {
  return { id: n.id, state, meta: { addrs: n.libp2p.getMultiaddrs().map((a) => a.toString()), shard } }
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

const connected = (a: ConclaveNode, b: ConclaveNode) => a.libp2p.getConnections(b.libp2p.peerId).length > 0

describe('warm global channels', () => {
  it("a shard leader opens its global channels to other shards' members ahead of any frame", async () => {
    const leader = await start('leader', true)
    const other1 = await start('other1')
    const other2 = await start('other2')
    const own = await start('own')
    const dead = await start('dead')
    const loose = await start('loose')
    leader.machine.table = [
      member(other1.node, 1),
      member(other2.node, 2),
      member(own.node, 0),
      member(dead.node, 1, 'dead'),
      member(loose.node, null),
    ]
    await until(() => connected(leader.node, other1.node) && connected(leader.node, other2.node))
    const transport = leader.node.service.transport
    await until(() => (transport?.channelCount ?? 0) === 2)
    expect(transport?.stats.dialsByFrame.get('global/warm')).toBe(2)
    // Three more loop-monitor checks: nothing else is opened, nothing is dialled again.
    await new Promise((r) => setTimeout(r, 1600))
    expect(transport?.stats.dialsByFrame.get('global/warm')).toBe(2)
    expect(transport?.channelCount).toBe(2)
    for (const n of [own, dead, loose]) expect(connected(leader.node, n.node)).toBe(false)
  })

  it('a node that leads no shard opens none', async () => {
    const follower = await start('follower')
    const other = await start('other')
    follower.machine.table = [member(other.node, 1)]
    await new Promise((r) => setTimeout(r, 1600))
    expect(follower.node.service.transport?.stats.dialsByFrame.get('global/warm')).toBeUndefined()
    expect(connected(follower.node, other.node)).toBe(false)
  })
})
