/**
 * The closed mesh with real `conclave start` processes on 127.0.0.1 (docs/security.md):
 * - nodes 0 and 1 hold the cluster key and list each other in their allow-lists: they elect a
 *   leader;
 * - node 2 has no key, node 3 has the key but is not on the allow-list: both bootstrap through
 *   every other node the whole time, and neither ever exchanges a frame with nodes 0 and 1;
 * - node 0's admin API wants a bearer token (401 without it, counted), and a non-loopback admin
 *   address without a token is refused at start.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePsk, loadOrCreatePrivateKey, parsePsk } from '@conclave/core'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONCLAVE_BIN, LocalCluster } from './harness/local-cluster.js'
import { testPorts } from './harness/test-ports.js'

const TOKEN = 'test-token-0123456789abcdef'
let cluster: LocalCluster
let dir: string

async function get(port: number, path: string, token?: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
}

function metric(text: string, name: string): number {
  let total = 0
  for (const line of text.split('\n')) if (line.startsWith(name)) total += Number(line.split(' ').at(-1))
  return total
}

describe('a closed mesh of real processes', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'conclave-sec-'))
    const pskFile = join(dir, 'swarm.key')
    writeFileSync(pskFile, generatePsk(), { mode: 0o600 })
    const tokenFile = join(dir, 'admin.token')
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 })
    const allowFile = join(dir, 'allow.txt')
    cluster = new LocalCluster({
      nodes: 4,
      dir,
      ...(await testPorts('security', 4)),
      seedsMax: 4,
      bootstrapExpect: 2,
      extraArgs: (i) => {
        // The allow-list file is written below, once every peer id is known.
        const args = i === 2 ? [] : [`--psk-file=${pskFile}`]
        if (i <= 1) args.push(`--allow-peers-file=${allowFile}`)
        if (i === 0) args.push(`--admin-token-file=${tokenFile}`)
        return args
      },
    })
    // Keys first (start() reuses them), then the allow-list, then the processes.
    const ids: string[] = []
    for (let i = 0; i < 2; i++)
      ids.push(peerIdFromPrivateKey(await loadOrCreatePrivateKey(cluster.dataDir(i))).toString())
    writeFileSync(allowFile, `# nodes 0 and 1\n${ids.join('\n')}\n`)
    await cluster.start()
    await cluster.waitFor(() => cluster.nodes.every((n) => n.ready), 60_000, 'all nodes started')
  }, 90_000)

  afterAll(async () => {
    await cluster?.stopAll()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('key holders on the allow-list elect a leader; the outsiders never get a frame through', async () => {
    const leader = await cluster.waitFor(
      () => {
        const [a, b] = [cluster.nodes[0]?.leader, cluster.nodes[1]?.leader]
        return a?.id && a.id === b?.id && a.term === b.term ? a : undefined
      },
      30_000,
      'nodes 0 and 1 to agree on a leader',
    )
    expect([cluster.ids[0], cluster.ids[1]]).toContain(leader.id)
    const members0 = (await (await get(cluster.adminPort(0), '/members', TOKEN)).json()) as { id: string }[]
    expect(members0.map((m) => m.id).sort()).toEqual([cluster.ids[0], cluster.ids[1]].sort())
    for (const outsider of [2, 3]) {
      const members = (await (await get(cluster.adminPort(outsider), '/members')).json()) as { id: string }[]
      expect(members.map((m) => m.id)).toEqual([cluster.ids[outsider]])
      const text = await (await get(cluster.adminPort(outsider), '/metrics')).text()
      expect(metric(text, 'conclave_messages_received_total')).toBe(0)
      expect(cluster.nodes[outsider]?.leader?.id ?? null).toBeNull()
    }
    // The key holder that is not listed was refused by the gater, and counted.
    const metrics0 = await (await get(cluster.adminPort(0), '/metrics', TOKEN)).text()
    const metrics1 = await (await get(cluster.adminPort(1), '/metrics')).text()
    // The members got no frame from the outsiders either: each lists only the two members (a
    // join or gossip frame from node 2 or 3 would add it), and neither refused a frame as coming
    // from a non-member or an id off the allow-list, nor cut anyone off (what any outsider frame
    // that got through would be counted as).
    const members1 = (await (await get(cluster.adminPort(1), '/members')).json()) as { id: string }[]
    expect(members1.map((m) => m.id).sort()).toEqual([cluster.ids[0], cluster.ids[1]].sort())
    for (const text of [metrics0, metrics1]) {
      for (const label of [
        'where="protocol",code="not-a-member"',
        'where="membership",code="not-admitted"',
        'where="transport",code="banned"',
        'where="transport",code="rate-limited"',
      ])
        expect(metric(text, `conclave_rejected_frames_total{${label}}`)).toBe(0)
      expect(metric(text, 'conclave_peers_cut_off_total')).toBe(0)
    }
    expect(
      metric(metrics0, 'conclave_connections_refused_total{reason="not-allowed"}') +
        metric(metrics1, 'conclave_connections_refused_total{reason="not-allowed"}'),
    ).toBeGreaterThan(0)
  })

  it('the admin API with a token answers 401 without it, and counts the refusals', async () => {
    const port = cluster.adminPort(0)
    expect((await get(port, '/status')).status).toBe(401)
    expect((await get(port, '/metrics', 'wrong-token-0123456789')).status).toBe(401)
    expect((await fetch(`http://127.0.0.1:${port}/leave`, { method: 'POST' })).status).toBe(401)
    const ok = await get(port, '/status', TOKEN)
    expect(ok.status).toBe(200)
    expect(((await ok.json()) as { id: string }).id).toBe(cluster.ids[0])
    const text = await (await get(port, '/metrics', TOKEN)).text()
    expect(metric(text, 'conclave_admin_unauthorized_total')).toBe(3)
    expect(cluster.nodes[0]?.alive).toBe(true) // the unauthorized /leave did nothing
  })

  it('refuses to serve the admin API on a non-loopback address without a token', () => {
    const r = spawnSync(
      process.execPath,
      [CONCLAVE_BIN, 'start', `--data-dir=${join(dir, 'x')}`, '--init', '--admin=0.0.0.0:0'],
      { encoding: 'utf8', timeout: 60_000 },
    )
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/not a loopback address.*--admin-token/)
  })

  it('conclave keygen --psk writes a new key file, private, and never overwrites one', () => {
    const file = join(dir, 'new.key')
    const first = spawnSync(process.execPath, [CONCLAVE_BIN, 'keygen', '--psk', file], { encoding: 'utf8' })
    expect(first.status).toBe(0)
    expect(() => parsePsk(readFileSync(file, 'utf8'))).not.toThrow()
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const before = readFileSync(file, 'utf8')
    const second = spawnSync(process.execPath, [CONCLAVE_BIN, 'keygen', '--psk', file], { encoding: 'utf8' })
    expect(second.status).toBe(2)
    expect(second.stderr).toMatch(/refusing to overwrite/)
    expect(readFileSync(file, 'utf8')).toBe(before)
  })
})
