/**
 * `conclave-inspector`: serves the inspector UI on 127.0.0.1.
 *
 *   conclave-inspector --replay <trace.jsonl> [--port 7070]
 *   conclave-inspector --bootstrap <multiaddr> [--bootstrap <multiaddr> …] [--port 7070]
 *                      [--psk-file swarm.key] [--data-dir DIR]   (a closed mesh; a stable peer id)
 *   conclave-inspector --synthetic <out.jsonl> [--nodes 1000] [--seed 1]   (writes a hand-made trace)
 *   conclave-inspector --record-sim <out.jsonl> [--nodes 25] [--seed 1] [--algo conclave|raft|bully]
 *                      [--scenario crash-global-leader] [--repeats 3]     (records a real simulation)
 */
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { readPskFile } from '@conclave/core'
import { TraceModel } from './model/trace-model.js'
import { startInspectorServer } from './server/http-server.js'
import { startLiveObserver } from './server/live-observer.js'
import { loadTraceFile } from './server/trace-file.js'
import { bundleUi } from './server/ui-bundle.js'
import { onShutdownSignals } from './shutdown-signals.js'
import { syntheticTrace, toJsonLines } from './testing/synthetic-trace.js'

const USAGE = `usage:
  conclave-inspector --replay <trace.jsonl> [--port N]
  conclave-inspector --bootstrap <multiaddr> [--bootstrap <multiaddr> ...] [--port N]
                     [--psk-file FILE] [--data-dir DIR]
  conclave-inspector --synthetic <out.jsonl> [--nodes N] [--seed S]
  conclave-inspector --record-sim <out.jsonl> [--nodes N] [--seed S] [--algo conclave|raft|bully]
                     [--scenario NAME] [--repeats R]`

function fail(message: string): never {
  process.stderr.write(`conclave-inspector: ${message}\n${USAGE}\n`)
  process.exit(2)
}

function intFlag(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback
  const v = Number(raw)
  if (!Number.isInteger(v) || v < min || v > max)
    fail(`--${name} must be an integer in [${min}, ${max}], got '${raw}'`)
  return v
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options }>>
  const options = {
    replay: { type: 'string' },
    bootstrap: { type: 'string', multiple: true },
    port: { type: 'string' },
    synthetic: { type: 'string' },
    'record-sim': { type: 'string' },
    algo: { type: 'string' },
    scenario: { type: 'string' },
    repeats: { type: 'string' },
    nodes: { type: 'string' },
    seed: { type: 'string' },
    'psk-file': { type: 'string' },
    'data-dir': { type: 'string' },
    help: { type: 'boolean' },
  } as const
  try {
    parsed = parseArgs({ options, strict: true, allowPositionals: false })
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e))
  }
  const v = parsed.values
  if (v.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if (v.synthetic) {
    const nodes = intFlag(v.nodes, 'nodes', 1000, 1, 100_000)
    const seed = intFlag(v.seed, 'seed', 1, 0, 2 ** 31)
    const records = syntheticTrace({ nodes, seed, joinsSeenPerNode: Math.min(nodes - 1, 50) })
    await writeFile(v.synthetic, toJsonLines(records))
    process.stdout.write(`wrote ${records.length} records (${nodes} nodes, seed ${seed}) to ${v.synthetic}\n`)
    return
  }
  if (v['record-sim']) {
    const { recordScenario } = await import('./testing/record-scenario.js')
    const started = performance.now()
    const records = (() => {
      try {
        return recordScenario({
          nodes: intFlag(v.nodes, 'nodes', 25, 1, 10_000),
          seed: intFlag(v.seed, 'seed', 1, 0, 2 ** 31),
          algo: v.algo ?? 'conclave',
          scenario: v.scenario ?? 'crash-global-leader',
          repeats: intFlag(v.repeats, 'repeats', 3, 1, 100),
        })
      } catch (e) {
        fail(e instanceof Error ? e.message : String(e))
      }
    })()
    await writeFile(v['record-sim'], toJsonLines(records))
    const simMs = (records[records.length - 1]?.trueMs ?? 0) - (records[0]?.trueMs ?? 0)
    process.stdout.write(
      `wrote ${records.length} records (${(simMs / 1000).toFixed(1)} simulated s, ${Math.round(performance.now() - started)} ms wall) to ${v['record-sim']}\n`,
    )
    return
  }
  const modes = [v.replay !== undefined, v.bootstrap !== undefined].filter(Boolean).length
  if (modes !== 1) fail('give exactly one of --replay or --bootstrap')
  if (v.bootstrap === undefined && (v['psk-file'] !== undefined || v['data-dir'] !== undefined))
    fail('--psk-file and --data-dir apply to --bootstrap (live) only')
  const port = intFlag(v.port, 'port', 7070, 0, 65535)
  const model = new TraceModel()
  const assets = await bundleUi()
  let stopLive: (() => Promise<void>) | null = null
  let source: Record<string, unknown>
  if (v.replay !== undefined) {
    const report = await loadTraceFile(v.replay, model).catch((e: unknown) =>
      fail(`cannot read ${v.replay}: ${String(e)}`),
    )
    source = { file: v.replay, ...report }
    const rejectedTotal = Object.values(report.rejected).reduce((a, b) => a + (b ?? 0), 0)
    process.stdout.write(
      `loaded ${report.records} records from ${v.replay} in ${Math.round(report.elapsedMs)} ms` +
        ` (${model.head.nodes.size} nodes${rejectedTotal ? `, ${rejectedTotal} lines rejected: ${JSON.stringify(report.rejected)}` : ''})\n`,
    )
    for (const s of report.samples) process.stdout.write(`  ${s}\n`)
  } else {
    const bootstrap = v.bootstrap ?? []
    const pskFile = v['psk-file']
    let psk: Uint8Array | undefined
    try {
      psk = pskFile === undefined ? undefined : readPskFile(pskFile)
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e))
    }
    const observer = await startLiveObserver(model, { bootstrap, psk, dataDir: v['data-dir'] })
    stopLive = observer.stop
    source = { bootstrap, observer: observer.id, privateNetwork: psk !== undefined }
    process.stdout.write(
      `observer ${observer.id} joined through ${bootstrap.join(', ')}${psk ? ' (cluster key: private network)' : ''}\n`,
    )
  }
  const server = await startInspectorServer({
    model,
    mode: v.replay !== undefined ? 'replay' : 'live',
    assets,
    source,
    port,
  })
  process.stdout.write(`inspector: ${server.url}\n`)
  onShutdownSignals(async () => {
    await server.close()
    if (stopLive) await stopLive()
    process.exit(0)
  })
}

void main()
