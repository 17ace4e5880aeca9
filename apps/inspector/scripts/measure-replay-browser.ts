/**
 * Measures `--replay` on a real trace file end to end, as a user sees it: load time (the same
 * loader the CLI uses), then the page in headless Chromium, and the time from moving the scrubber
 * to the frame being drawn (server fold + JSON + canvas) at ten positions and twenty random ones.
 * Saves a screenshot at a chosen fraction of the trace. Prints measured figures only.
 *
 *   pnpm sim membership --nodes 1000 --scenario crash --trace /tmp/t.jsonl
 *   nice node --conditions=conclave-source --import tsx scripts/measure-replay-browser.ts /tmp/t.jsonl [shot.png] [at 0..1]
 */
import { statSync } from 'node:fs'
import { createRng } from '@conclave/core'
import type { Page } from 'playwright-core'
import { launchChromium, scrubTo } from '../src/e2e/browser.js'
import { TraceModel } from '../src/model/trace-model.js'
import { startInspectorServer } from '../src/server/http-server.js'
import { loadTraceFile } from '../src/server/trace-file.js'
import { bundleUi } from '../src/server/ui-bundle.js'

const file = process.argv[2]
if (!file) throw new Error('usage: measure-replay-browser.ts TRACE.jsonl [screenshot.png] [fraction]')
const shot = process.argv[3]
const shotAt = Number(process.argv[4] ?? 1)

/** The page has drawn the frame for true time ≈ tMs (a real trace's times are fractional ms). */
async function waitForFrameNear(page: Page, tMs: number): Promise<void> {
  await page.waitForFunction((t) => Math.abs(Number(document.body.dataset.tMs) - t) < 1, tMs, {
    timeout: 60_000,
  })
}

const model = new TraceModel()
const report = await loadTraceFile(file, model)
const heapMB = process.memoryUsage().heapUsed / 1e6
const server = await startInspectorServer({
  model,
  mode: 'replay',
  assets: await bundleUi(),
  source: { file },
  port: 0,
})
const browser = await launchChromium()
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  const opened = performance.now()
  await page.goto(server.url)
  await waitForFrameNear(page, model.endMs)
  const firstFrameMs = performance.now() - opened
  const tAt = (f: number) => model.startMs + (Math.round(f * 1000) / 1000) * (model.endMs - model.startMs)
  const scrub = async (f: number) => {
    const a = performance.now()
    await scrubTo(page, f)
    await waitForFrameNear(page, tAt(f))
    return performance.now() - a
  }
  await scrub(0)
  const costs: number[] = []
  for (let i = 1; i <= 10; i++) costs.push(await scrub(i / 10))
  const rng = createRng(3)
  for (let i = 0; i < 20; i++) costs.push(await scrub(Math.round(rng.float() * 1000) / 1000))
  costs.sort((x, y) => x - y)
  const q = (p: number) => Math.round(costs[Math.min(costs.length - 1, Math.floor(p * costs.length))]!)
  if (shot) {
    await scrub(shotAt)
    await page.screenshot({ path: shot })
  }
  console.log(
    JSON.stringify({
      file,
      fileMB: +(statSync(file).size / 1e6).toFixed(1),
      records: report.records,
      rejected: report.rejected,
      nodes: model.head.nodes.size,
      loadMs: Math.round(report.elapsedMs),
      heapMB: Math.round(heapMB),
      firstFrameMs: Math.round(firstFrameMs),
      scrubs: costs.length,
      scrubToDrawnP50Ms: q(0.5),
      scrubToDrawnP90Ms: q(0.9),
      scrubToDrawnMaxMs: Math.round(costs[costs.length - 1]!),
      ...(shot ? { screenshot: shot } : {}),
    }),
  )
} finally {
  await browser.close()
  await server.close()
}
