/**
 * End to end, in headless Chromium: the inspector replays a 1000-node trace; the page shows the
 * leader the model computed, scrubbing back shows the state before the crash, scrubbing into the
 * failover shows it in progress, the end shows the measured failover in the timeline; clicking a
 * node opens its detail. Screenshots: artifacts/screenshots/replay-*.png.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TraceModel } from '../model/trace-model.js'
import type { TraceRecord } from '../model/trace-record.js'
import { type InspectorServer, startInspectorServer } from '../server/http-server.js'
import { loadTraceFile } from '../server/trace-file.js'
import { bundleUi } from '../server/ui-bundle.js'
import { recordScenario } from '../testing/record-scenario.js'
import { syntheticTrace, toJsonLines } from '../testing/synthetic-trace.js'
import { launchChromium, screenshot, scrubTo, waitForFrameAt } from './browser.js'

const NODES = 1000

describe('replay in the browser (1000 nodes)', () => {
  let records: TraceRecord[]
  let model: TraceModel
  let server: InspectorServer
  let browser: Browser
  let page: Page
  const tAt = (fraction: number) =>
    Math.round(model.startMs + (Math.round(fraction * 1000) / 1000) * (model.endMs - model.startMs))
  const fractionOf = (tMs: number) => (tMs - model.startMs) / (model.endMs - model.startMs)

  beforeAll(async () => {
    records = syntheticTrace({ nodes: NODES, seed: 11, joinsSeenPerNode: 60 })
    const file = join(mkdtempSync(join(tmpdir(), 'inspector-e2e-')), 'trace.jsonl')
    writeFileSync(file, toJsonLines(records))
    model = new TraceModel()
    const report = await loadTraceFile(file, model)
    expect(report.records).toBe(records.length)
    server = await startInspectorServer({
      model,
      mode: 'replay',
      assets: await bundleUi(),
      source: { file },
      port: 0,
    })
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    await page.goto(server.url)
    await waitForFrameAt(page, model.endMs)
  })

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('shows at the end the global leader and the measured failover the model computed', async () => {
    const leader = model.head.global!
    expect(await page.getAttribute('#leader', 'data-leader')).toBe(leader.leader)
    expect(await page.getAttribute('#leader', 'data-term')).toBe('2')
    const failover = model.journal.failovers.find((f) => f.scope === 'global')!
    const entry = page.locator('#timeline li[data-kind="failover"]', { hasText: 'global failover' })
    await expect(entry.first().textContent()).resolves.toContain(`${Math.round(failover.durationMs)} ms`)
    expect(await page.locator('#counts [data-state="alive"]').textContent()).toContain(`${NODES} alive`)
    await screenshot(page, 'replay-end.png')
  })

  it('scrubs back to before the crash: old leader, term 1, no failover', async () => {
    const crash = records.find((r) => r.kind === 'sim:fault' && r.fault === 'crash')!
    const f = fractionOf(crash.trueMs) - 0.02
    await scrubTo(page, f)
    await waitForFrameAt(page, tAt(f))
    expect(await page.getAttribute('#leader', 'data-leader')).toBe(crash.node)
    expect(await page.getAttribute('#leader', 'data-term')).toBe('1')
    expect(await page.locator('#timeline li[data-kind="failover"]').count()).toBe(0)
    await screenshot(page, 'replay-before-crash.png')
  })

  it('scrubs into the failover: in progress, the crashed leader marked dead', async () => {
    const dead = records.find((r) => r.kind === 'member:state' && r.state === 'dead')!
    const f = fractionOf(dead.trueMs) + 0.01
    await scrubTo(page, f)
    await waitForFrameAt(page, tAt(f))
    const state = model.stateAt(tAt(f))
    expect(state.globalFailover).not.toBeNull()
    await expect(page.locator('#leader').textContent()).resolves.toContain('failover in progress')
    await screenshot(page, 'replay-failover.png')
  })

  it('opens a node’s detail on click', async () => {
    await scrubTo(page, 1)
    await waitForFrameAt(page, model.endMs)
    const leader = model.head.global!.leader
    const pos = await page.evaluate((id) => {
      const w = window as unknown as {
        __inspector: { topology: { positionOf(id: string): { x: number; y: number } | null } }
      }
      return w.__inspector.topology.positionOf(id)
    }, leader)
    expect(pos).not.toBeNull()
    await page.locator('#topology').click({ position: pos! })
    await expect(page.locator('#detail h3').textContent({ timeout: 10_000 })).resolves.toBe(leader)
    await expect(page.locator('#detail').textContent()).resolves.toContain(`term 2`)
    await screenshot(page, 'replay-node-detail.png')
  })

  it('aggregates shards into tiles past aggregateAbove nodes (here lowered to 500)', async () => {
    const heightOf = () => page.$eval('#topology', (c) => (c as HTMLCanvasElement).clientHeight)
    const full = await heightOf()
    await page.evaluate(() => {
      const w = window as unknown as { __inspector: { topology: { aggregateAbove: number } } }
      w.__inspector.topology.aggregateAbove = 500
      window.dispatchEvent(new Event('resize'))
    })
    await page.waitForFunction(
      (h) => (document.getElementById('topology') as HTMLCanvasElement).clientHeight < h,
      full,
    )
    await screenshot(page, 'replay-aggregated.png')
    await page.evaluate(() => {
      const w = window as unknown as { __inspector: { topology: { aggregateAbove: number } } }
      w.__inspector.topology.aggregateAbove = 2000
      window.dispatchEvent(new Event('resize'))
    })
  })

  it('plays forward from the start and stays responsive at 1000 nodes', async () => {
    await scrubTo(page, 0)
    await waitForFrameAt(page, model.startMs)
    // Measured: scrub → frame drawn, at ten positions (server fold + JSON + canvas).
    const costs: number[] = []
    for (let i = 1; i <= 10; i++) {
      const started = Date.now()
      await scrubTo(page, i / 10)
      await waitForFrameAt(page, tAt(i / 10))
      costs.push(Date.now() - started)
    }
    costs.sort((a, b) => a - b)
    console.log(`scrub-to-drawn at ${NODES} nodes: median ${costs[5]} ms, max ${costs[9]} ms`)
    expect(costs[5]).toBeLessThan(2000)
    await scrubTo(page, 0)
    await waitForFrameAt(page, model.startMs)
    await page.selectOption('#speed', '10')
    await page.click('#play')
    await page.waitForFunction(() => Number(document.body.dataset.tMs) > 3000, null, { timeout: 20_000 })
    await page.click('#play')
    const t = Number(await page.getAttribute('body', 'data-t-ms'))
    expect(t).toBeGreaterThan(3000)
    expect(t).toBeLessThan(model.endMs)
    await screenshot(page, 'replay-playing.png')
  })
})

describe('replay of a real simulation in the browser (flat-Raft baseline, 25 nodes)', () => {
  let server: InspectorServer
  let browser: Browser

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('shows the last leader the simulation elected and every measured failover', async () => {
    const records = recordScenario({
      nodes: 25,
      seed: 4,
      algo: 'raft',
      scenario: 'crash-global-leader',
      repeats: 3,
    })
    const model = new TraceModel()
    for (const r of records) model.append(r)
    model.finish()
    server = await startInspectorServer({
      model,
      mode: 'replay',
      assets: await bundleUi(),
      source: {},
      port: 0,
    })
    browser = await launchChromium()
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    await page.goto(server.url)
    await waitForFrameAt(page, model.endMs)
    const lastLeader = records.filter((r) => r.kind === 'global:leader').at(-1) as {
      leader: string
      term: number
    }
    expect(await page.getAttribute('#leader', 'data-leader')).toBe(lastLeader.leader)
    expect(await page.getAttribute('#leader', 'data-term')).toBe(String(lastLeader.term))
    const measured = model.journal.failovers.filter((f) => f.scope === 'global')
    expect(measured.length).toBeGreaterThanOrEqual(3)
    await page.check('#cluster-only')
    await page.waitForFunction(
      (n) => document.querySelectorAll('#timeline li[data-kind="failover"] .dur').length === n,
      measured.length,
      { timeout: 10_000 },
    )
    await screenshot(page, 'replay-sim-raft.png')
  })
})
