/**
 * A port taken by another process between testPorts' probe and a node's own bind: LocalCluster
 * restarts that node once on a spare port of the block (its listen port, or its admin port), and
 * the cluster forms as if nothing happened. Real node processes; the ports are held by sockets of
 * this test process.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { LocalCluster } from './local-cluster.js'
import { testPorts } from './test-ports.js'

let cluster: LocalCluster | undefined
let dir: string | undefined
const holders: Server[] = []

const hold = (port: number) =>
  new Promise<void>((resolve, reject) => {
    // Nodes spawned before the move dial the old address: hang up on them (close() waits for them).
    const s = createServer((socket) => socket.destroy())
    s.once('error', reject)
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve())
    holders.push(s)
  })

describe('LocalCluster when a port is taken after testPorts', () => {
  afterAll(async () => {
    await cluster?.stopAll()
    for (const s of holders) await new Promise((r) => s.close(r))
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('moves a node whose listen or admin port is in use, once, and the cluster forms', async () => {
    dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'conclave-ports-'))
    const ports = await testPorts('local-cluster-ports', 3)
    // Taken after the probe, before the nodes bind: node 1's listen port, node 2's admin port.
    await hold(ports.basePort + 1)
    await hold(ports.adminBasePort + 2)
    const c = new LocalCluster({ nodes: 3, dir, ...ports, hangWatch: false })
    cluster = c
    await c.start()
    expect(c.nodes.map((n) => n.ready && n.alive)).toEqual([true, true, true])
    expect(c.listenPort(0)).toBe(ports.basePort)
    expect(c.listenPort(1)).not.toBe(ports.basePort + 1)
    expect(c.adminPort(1)).toBe(ports.adminBasePort + 1)
    expect(c.listenPort(2)).toBe(ports.basePort + 2)
    expect(c.adminPort(2)).not.toBe(ports.adminBasePort + 2)
    const leader = await c.waitFor(() => c.agreedLeader(), 60_000, 'a leader known to all three')
    // Each answers on its (possibly moved) admin port, names the leader, and node 1 listens where
    // the harness says it does.
    for (const i of [0, 1, 2]) expect(JSON.stringify((await c.status(i)).leader)).toContain(leader.id)
    expect((await c.status(1)).addrs as string[]).toContain(
      `/ip4/127.0.0.1/tcp/${c.listenPort(1)}/p2p/${c.ids[1]}`,
    )
  }, 120_000)
})
