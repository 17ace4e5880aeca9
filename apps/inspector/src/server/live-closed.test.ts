/**
 * The inspector in a closed mesh (real `conclave start` processes holding a cluster key): an
 * observer started with the key joins and shows the leader the nodes agree on; one without the
 * key never gets a connection, so its model never learns any member or leader.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePsk, parsePsk } from '@conclave/core'
import { LocalCluster, testPorts } from '@conclave/node/harness'
import { afterAll, describe, expect, it } from 'vitest'
import { TraceModel } from '../model/trace-model.js'
import { type LiveObserver, startLiveObserver } from './live-observer.js'

const until = async <T>(f: () => T | undefined, ms: number, what: string): Promise<T> => {
  const deadline = Date.now() + ms
  for (;;) {
    const v = f()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('live observer in a closed mesh (3 real nodes with a cluster key)', () => {
  let cluster: LocalCluster | undefined
  let dir: string | undefined
  const observers: LiveObserver[] = []

  afterAll(async () => {
    for (const o of observers) await o.stop()
    await cluster?.stopAll()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('joins and shows the leader with the key; sees nobody without it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'inspector-closed-'))
    const pskFile = join(dir, 'swarm.key')
    const psk = generatePsk()
    writeFileSync(pskFile, psk, { mode: 0o600 })
    cluster = new LocalCluster({
      nodes: 3,
      dir,
      ...(await testPorts('inspector-live-closed', 3)),
      extraArgs: () => [`--psk-file=${pskFile}`],
    })
    await cluster.start()
    await cluster.waitFor(() => cluster!.nodes.every((n) => n.ready), 60_000, 'all nodes started')
    await cluster.waitFor(() => cluster!.agreedLeader(), 30_000, 'an agreed leader')
    const bootstrap = [0, 1, 2].map((i) => cluster!.addr(i))

    const keyed = new TraceModel()
    observers.push(await startLiveObserver(keyed, { bootstrap, psk: parsePsk(psk) }))
    const keyless = new TraceModel()
    observers.push(await startLiveObserver(keyless, { bootstrap }))

    const shown = await until(
      () => {
        const a = cluster!.agreedLeader()
        return a && keyed.head.global?.leader === a.id ? a.id : undefined
      },
      30_000,
      'the keyed observer to show the agreed leader',
    )
    expect(cluster.ids).toContain(shown)
    // The keyed observer learned the members from them; give the keyless one as long again.
    expect(cluster.ids.every((id) => keyed.head.nodes.has(id))).toBe(true)
    await new Promise((r) => setTimeout(r, 3000))
    expect(keyless.head.global).toBeNull()
    expect(cluster.ids.some((id) => keyless.head.nodes.has(id))).toBe(false)
  }, 120_000)
})
