/**
 * End to end against a real mesh: a small cluster of `conclave start` processes on loopback
 * (apps/node's LocalCluster), the inspector as a live observer peer, the page in headless
 * Chromium. The page must show the leader the nodes report; after `kill -9` of that leader it
 * must show the new leader the nodes agree on, and a failover in the timeline.
 * Screenshots: artifacts/screenshots/live-*.png.
 *
 * Preconditions on the runtime, not the inspector: the cluster elects a leader, and re-elects
 * one after the kill (as the nodes themselves report it). When either fails the test is
 * SKIPPED with that reason (reported as skipped, never as passed); apps/node's own tests are
 * where a runtime that cannot elect fails. Everything the inspector shows is a hard check.
 * CONCLAVE_LIVE_ENGINE=flat-raft runs it against the baseline engine.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalCluster, testPorts } from '@conclave/node/harness'
import type { Browser, Page } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { TraceModel } from '../model/trace-model.js'
import { type InspectorServer, startInspectorServer } from '../server/http-server.js'
import { type LiveObserver, startLiveObserver } from '../server/live-observer.js'
import { bundleUi } from '../server/ui-bundle.js'
import { launchChromium, screenshot } from './browser.js'

const N = 5
const engine = process.env.CONCLAVE_LIVE_ENGINE === 'flat-raft' ? 'flat-raft' : 'conclave'

describe(`live mesh in the browser (${N} real nodes, ${engine} engine)`, () => {
  let cluster: LocalCluster | undefined
  let dir: string | undefined
  let observer: LiveObserver | undefined
  let server: InspectorServer | undefined
  let browser: Browser | undefined

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    await observer?.stop()
    await cluster?.stopAll()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('shows the leader the nodes report, and the new one with the failover after kill -9', async (ctx) => {
    dir = mkdtempSync(join(tmpdir(), 'inspector-live-'))
    cluster = new LocalCluster({ nodes: N, dir, ...(await testPorts('inspector-live-e2e', N)), engine })
    await cluster.start()
    await cluster.waitFor(() => cluster!.nodes.every((n) => n.ready), 60_000, 'all nodes started')
    const first = await cluster
      .waitFor(() => cluster!.agreedLeader(), 25_000, 'an agreed leader')
      .catch(() => null)
    if (!first) {
      ctx.skip(`the ${engine} engine elected no leader within 25 s: the runtime cannot elect yet`)
      return
    }

    const model = new TraceModel()
    observer = await startLiveObserver(model, { bootstrap: [0, 1, 2].map((i) => cluster!.addr(i)) })
    server = await startInspectorServer({
      model,
      mode: 'live',
      assets: await bundleUi(),
      source: {},
      port: 0,
      pushEveryMs: 200,
    })
    browser = await launchChromium()
    const page: Page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    await page.goto(server.url)

    // The page must show the leader the nodes agree on at that moment (under load the cluster
    // may change leaders between our reads, so both sides are read together until they match).
    const pageLeader = async () => (await page.getAttribute('#leader', 'data-leader')) ?? ''
    const shownAgreed = async (accept: (a: { id: string; term: number }) => boolean, what: string) => {
      const deadline = Date.now() + 30_000
      for (;;) {
        const a = cluster!.agreedLeader()
        if (a && accept(a) && (await pageLeader()) === a.id) return a
        if (Date.now() > deadline) {
          throw new Error(`${what}: page shows ${await pageLeader()}, nodes agree on ${JSON.stringify(a)}`)
        }
        await page.waitForTimeout(200)
      }
    }
    const shown = await shownAgreed(() => true, 'the leader the nodes report')
    await screenshot(page, 'live-leader.png')

    await cluster.kill(cluster.indexOf(shown.id), 'SIGKILL')
    const next = await cluster
      .waitFor(() => cluster!.newLeaderThan(shown), 30_000, 'a new agreed leader after the kill')
      .catch(() => null)
    if (!next) {
      ctx.skip(
        `the ${engine} cluster did not agree on a new leader within 30 s of the kill (runtime, not inspector)`,
      )
      return
    }
    const after = await shownAgreed(
      (a) => a.id !== shown.id && a.term >= next.term,
      'the new leader after the kill',
    )
    expect(await page.getAttribute('#leader', 'data-term')).toBe(String(after.term))
    await page.waitForSelector('#timeline li[data-kind="failover"]', { timeout: 30_000 })
    await screenshot(page, 'live-failover.png')
    // The failover completes once every live node is known to have learned the new leader: the
    // killed one declared dead by the observer's membership, every other node heard from (its
    // announcement on TOPIC_LEADER, or the NodeStatus each node publishes on TOPIC_STATUS every
    // second and on every leader change). So the page must show a measured duration.
    const done = await page
      .waitForSelector('#timeline li[data-kind="failover"] .dur', { timeout: 20_000 })
      .then(() => true)
      .catch(() => false)
    const waiting = [...model.head.nodes.values()]
      .filter((n) => !n.instrument && n.state !== 'dead' && n.knownGlobalTerm < after.term)
      .map((n) => n.id.slice(-6))
    console.log(
      done
        ? `live failover measured: ${JSON.stringify(model.journal.failovers.map((f) => [f.scope, f.cause, Math.round(f.durationMs)]))}`
        : `live failover not completed after 20 s; no news of the new leader from: ${waiting.join(', ') || '(none)'}`,
    )
    // The FlatRaft baseline runs no membership, so the observer never learns that the killed
    // node is dead and that failover stays open: the measured duration is checked on Conclave.
    // The page's first measured duration may be the shard failover of the killed leader's shard;
    // the global one can complete later (CI, 07:26 UTC: only the shard one was measured when this
    // was checked at once), so wait for it too.
    if (engine === 'conclave') {
      expect(done, `no measured failover; waiting for ${waiting.join(', ')}`).toBe(true)
      const global = () =>
        model.journal.failovers.find((f) => f.scope === 'global' && f.newLeader === after.id)
      for (const deadline = Date.now() + 20_000; !global() && Date.now() < deadline; )
        await page.waitForTimeout(200)
      expect(global(), `no measured global failover to ${after.id}`).toBeDefined()
    }
    await screenshot(page, 'live-after-kill.png')
  }, 300_000)
})
