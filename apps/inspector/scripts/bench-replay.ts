/**
 * Measures the replay model at scale: writes a synthetic trace (default 1000 nodes with every
 * node reporting every other's join, i.e. N² member:join records, as a real bootstrap does),
 * loads it, then times seeks and frame builds at random scrub positions. Prints measured figures.
 *
 *   nice node --expose-gc --conditions=conclave-source --import tsx scripts/bench-replay.ts [nodes] [file]
 */
import { mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRng } from '@conclave/core'
import { TraceModel } from '../src/model/trace-model.js'
import { buildFrame } from '../src/model/view-frame.js'
import { loadTraceFile } from '../src/server/trace-file.js'
import { syntheticTrace, toJsonLines } from '../src/testing/synthetic-trace.js'

const nodes = Number(process.argv[2] ?? 1000)
const file = process.argv[3] ?? join(mkdtempSync(join(tmpdir(), 'inspector-bench-')), 'trace.jsonl')
if (!process.argv[3]) writeFileSync(file, toJsonLines(syntheticTrace({ nodes, seed: 1 })))
const model = new TraceModel()
const report = await loadTraceFile(file, model)
;(globalThis as { gc?: () => void }).gc?.()
const heapMB = process.memoryUsage().heapUsed / 1e6
const rng = createRng(7)
const seekMs: number[] = []
const frameMs: number[] = []
let frameBytes = 0
for (let i = 0; i < 30; i++) {
  const t = model.startMs + rng.float() * (model.endMs - model.startMs)
  const a = performance.now()
  const s = model.stateAt(t)
  const b = performance.now()
  const json = JSON.stringify(
    buildFrame('replay', s, model.journal, t, {
      startMs: model.startMs,
      endMs: model.endMs,
      totalRecords: model.size,
    }),
  )
  frameMs.push(performance.now() - b)
  seekMs.push(b - a)
  frameBytes = Math.max(frameBytes, json.length)
}
const q = (xs: number[], p: number) =>
  [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!
console.log(
  JSON.stringify({
    nodes: model.head.nodes.size,
    records: report.records,
    fileMB: +(statSync(file).size / 1e6).toFixed(1),
    loadMs: Math.round(report.elapsedMs),
    heapMB: Math.round(heapMB),
    seekP50Ms: +q(seekMs, 0.5).toFixed(1),
    seekMaxMs: +Math.max(...seekMs).toFixed(1),
    frameP50Ms: +q(frameMs, 0.5).toFixed(1),
    frameMaxMs: +Math.max(...frameMs).toFixed(1),
    frameKB: Math.round(frameBytes / 1000),
  }),
)
