/**
 * Real processes on 127.0.0.1: each node is a `conclave start` OS process with its own libp2p
 * node, key and data dir. These tests exercise the runtime (streams, framing, fsynced store,
 * driver, signals, admin HTTP) end to end. They run the FlatRaft engine, whose election is
 * complete today; the same harness runs `--engine conclave` (see conclave-cluster.test.ts).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalCluster } from './harness/local-cluster.js'
import { testPorts } from './harness/test-ports.js'

const N = 5
let cluster: LocalCluster
let dir: string

describe('a 5-process cluster on loopback (flat-raft engine)', () => {
  beforeAll(async () => {
    // tmpfs when present: fsync on the shared disk takes up to 100 ms under load (docs/performance.md)
    dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'conclave-rt-'))
    cluster = new LocalCluster({
      nodes: N,
      dir,
      ...(await testPorts('cluster', N)),
      engine: 'flat-raft',
    })
    await cluster.start()
    await cluster.waitFor(() => cluster.nodes.every((n) => n.ready), 60_000, 'all nodes started')
  }, 90_000)

  afterAll(async () => {
    await cluster?.stopAll()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('elects exactly one leader, known by every node', async () => {
    const agreed = await cluster.waitFor(() => cluster.agreedLeader(), 20_000, 'one agreed leader')
    const statuses = await Promise.all(cluster.nodes.map((_, i) => cluster.status(i)))
    expect(statuses.filter((s) => s.isLeader === true).map((s) => s.id)).toEqual([agreed.id])
    const leaderStatus = statuses.find((s) => s.id === agreed.id)
    expect(leaderStatus?.fencingToken).toBe(agreed.term)
  })

  it('kill -9 of the leader: a new leader in a higher term, known by all survivors', async () => {
    const old = await cluster.waitFor(() => cluster.agreedLeader(), 20_000, 'a leader')
    await cluster.kill(cluster.indexOf(old.id), 'SIGKILL')
    const next = await cluster.waitFor(
      () => cluster.newLeaderThan(old),
      20_000,
      'a new leader after the kill',
    )
    expect(cluster.live()).toHaveLength(N - 1)
    expect(next.term).toBeGreaterThan(old.term)
  })

  it('the killed node restarts from its data dir: same id, knows the leader, no term regression', async () => {
    const dead = cluster.nodes.find((n) => !n.alive)
    expect(dead).toBeDefined()
    const i = dead?.index as number
    const before = cluster.agreedLeader()
    cluster.spawnNode(i)
    await cluster.waitFor(() => cluster.nodes[i]?.ready, 30_000, 'restart')
    const rejoined = await cluster.waitFor(
      () => {
        const a = cluster.agreedLeader()
        return a && cluster.nodes[i]?.leader?.id === a.id ? a : undefined
      },
      20_000,
      'the restarted node to know the leader',
    )
    const s = await cluster.status(i)
    expect(s.id).toBe(cluster.ids[i])
    // Flat Raft has no PreVote: a restarted node may legitimately win the next election, so only
    // identity and term monotonicity are asserted here (the Conclave test also asserts follower).
    expect(rejoined.term).toBeGreaterThanOrEqual(before?.term ?? 0)
    expect(cluster.nodes[i]?.leader?.term ?? 0).toBeGreaterThanOrEqual(before?.term ?? 0)
  })

  it('SIGTERM is a graceful leave: exit code 0, and the others elect a new leader', async () => {
    const old = await cluster.waitFor(() => cluster.agreedLeader(), 20_000, 'a leader')
    const i = cluster.indexOf(old.id)
    const exit = cluster.nodes[i]?.exit
    await cluster.kill(i, 'SIGTERM')
    expect(await exit).toBe(0)
    await cluster.waitFor(() => cluster.newLeaderThan(old), 20_000, 'a new leader after the leave')
  })

  it('serves Prometheus metrics with the leader gauge, term, messages and rejections', async () => {
    const a = await cluster.waitFor(() => cluster.agreedLeader(), 20_000, 'a leader')
    const i = cluster.indexOf(a.id)
    const text = await (await fetch(`http://127.0.0.1:${cluster.adminPort(i)}/metrics`)).text()
    expect(text).toContain('conclave_is_leader 1')
    expect(text).toContain(`conclave_global_term ${a.term}`)
    expect(text).toMatch(/conclave_messages_sent_total\{type="global\/[a-z-]+"\} [1-9]/)
    expect(text).toContain('conclave_failover_seconds_count')
    // The bundled node caps its connections' TCP backoff (tcp-rto-cap.ts) where the kernel can.
    expect(text).toMatch(/conclave_tcp_rto_cap_total\{result="unavailable"\} \d+/)
    const capped = Number(/conclave_tcp_rto_cap_total\{result="capped"\} (\d+)/.exec(text)?.[1])
    const refused = Number(/conclave_tcp_rto_cap_total\{result="refused"\} (\d+)/.exec(text)?.[1])
    if (process.platform === 'linux' && refused === 0) expect(capped).toBeGreaterThan(0)
    const userTimeouts = Number(/conclave_tcp_user_timeout_total\{result="set"\} (\d+)/.exec(text)?.[1])
    expect(text).toMatch(/conclave_tcp_user_timeout_total\{result="refused"\} 0/)
    expect(userTimeouts).toBe(capped)
    // A production start (no CONCLAVE_TEST_*, no --enable-test-hooks) runs no test hook.
    expect(text).toContain('conclave_test_hooks_active 0')
    const st = (await (await fetch(`http://127.0.0.1:${cluster.adminPort(i)}/status`)).json()) as {
      testHooks?: unknown
    }
    expect(st.testHooks).toEqual([])
  })
})
