/** `pnpm bench <name> [options]`: benchmarks on real node processes, and `conn` in one process. */
import { intFlag as int, optionsIn, parseFlags } from '@conclave/flags'
import { runConnBench } from './conn.js'
import { defaultDataRoot, runFailover } from './failover.js'
import { runFrameBench } from './frame.js'
import { runIdle } from './idle.js'

const FAILOVER_HELP = `pnpm bench failover --nodes N --rounds R [--engine conclave|flat-raft] [--preset local|lan|wan] [--base-port P] [--data-root DIR] [--converge-wait-s S] [--start-batch K] [--bootstrap-expect K] [--idle-settle-s S] [--idle-window-s S] [--round-settle-s S] [--trace-out FILE] [--json]`
const IDLE_HELP = `pnpm bench idle --nodes N [--window-s S] [--settle-s S] [--cpu-prof DIR] [--node-args='FLAGS'] [--preset local|lan|wan] [--base-port P] [--data-root DIR] [--json]`
const CONN_HELP = `pnpm bench conn [--peers M] [--runs R] [--starts S] [--settle-ms MS] [--cpu-prof DIR] [--json]`
const FRAME_HELP = `pnpm bench frame [--runs R] [--interval-ms MS] [--warm-s S] [--window-s S] [--flat N] [--frame-bytes B] [--node-args='FLAGS'] [--json]`
const HELP = `${FAILOVER_HELP}\n${IDLE_HELP}\n${CONN_HELP}\n${FRAME_HELP}`

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2)
  if (name !== 'failover' && name !== 'idle' && name !== 'conn' && name !== 'frame') {
    process.stderr.write(`${HELP}\n`)
    process.exit(name ? 2 : 0)
  }
  const usage =
    name === 'idle' ? IDLE_HELP : name === 'conn' ? CONN_HELP : name === 'frame' ? FRAME_HELP : FAILOVER_HELP
  const flags = parseFlags(rest, optionsIn(usage), usage)
  const json = flags.has('json')
  if (name === 'conn') {
    const conn = await runConnBench({
      peers: int(flags, 'peers', 40, 2, 400),
      runs: int(flags, 'runs', 5, 1, 100),
      starts: int(flags, 'starts', 5, 0, 100),
      settleMs: int(flags, 'settle-ms', 200, 0, 10_000),
      cpuProfDir: flags.get('cpu-prof'),
      say: (line) => process.stderr.write(`[bench] ${line}\n`),
    })
    process.stdout.write(`${JSON.stringify(conn, null, json ? undefined : 2)}\n`)
    process.exit(0)
  }
  if (name === 'frame') {
    const frame = await runFrameBench({
      runs: int(flags, 'runs', 5, 1, 100),
      intervalMs: int(flags, 'interval-ms', 50, 1, 10_000),
      warmS: int(flags, 'warm-s', 10, 0, 3600),
      windowS: int(flags, 'window-s', 15, 1, 3600),
      flatRoundTrips: int(flags, 'flat', 20_000, 1, 10_000_000),
      frameBytes: int(flags, 'frame-bytes', 150, 1, 256 * 1024),
      nodeArgs: flags.get('node-args')?.split(' ').filter(Boolean),
      say: (line) => process.stderr.write(`[bench] ${line}\n`),
    })
    process.stdout.write(`${JSON.stringify(frame, null, json ? undefined : 2)}\n`)
    process.exit(0)
  }
  const engine = flags.get('engine') ?? 'conclave'
  if (engine !== 'conclave' && engine !== 'flat-raft')
    throw new Error(`--engine: conclave or flat-raft, got ${engine}`)
  const preset = flags.get('preset') ?? 'local'
  if (preset !== 'local' && preset !== 'lan' && preset !== 'wan')
    throw new Error(`--preset: local, lan or wan, got ${preset}`)
  if (name === 'idle') {
    const idle = await runIdle({
      nodes: int(flags, 'nodes', 25, 1, 500),
      windowS: int(flags, 'window-s', 30, 1, 3600),
      settleS: int(flags, 'settle-s', 5, 0, 3600),
      preset,
      basePort: int(flags, 'base-port', 30000, 1024, 60000),
      dataRoot: flags.get('data-root') ?? defaultDataRoot(),
      cpuProfDir: flags.get('cpu-prof'),
      nodeArgs: flags.get('node-args')?.split(' ').filter(Boolean),
      say: (line) => process.stderr.write(`[bench] ${line}\n`),
    })
    process.stdout.write(`${JSON.stringify(idle, null, json ? undefined : 2)}\n`)
    process.exit(0)
  }
  const result = await runFailover({
    nodes: int(flags, 'nodes', 25, 3, 500),
    rounds: int(flags, 'rounds', 20, 1, 1000),
    engine,
    preset,
    basePort: int(flags, 'base-port', 30000, 1024, 60000),
    dataRoot: flags.get('data-root') ?? defaultDataRoot(),
    convergeWaitMs: int(flags, 'converge-wait-s', 60, 1, 3600) * 1000,
    startBatch: int(flags, 'start-batch', 5, 1, 500),
    bootstrapExpect: flags.has('bootstrap-expect') ? int(flags, 'bootstrap-expect', 0, 1, 500) : undefined,
    idleSettleS: int(flags, 'idle-settle-s', 20, 0, 3600),
    idleWindowS: int(flags, 'idle-window-s', 10, 1, 3600),
    roundSettleS: int(flags, 'round-settle-s', 3, 0, 600),
    traceOut: flags.get('trace-out'),
    say: (line) => process.stderr.write(`[bench] ${line}\n`),
  })
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`)
  else {
    process.stdout.write(
      `failover (${result.engine}, ${result.nodes} nodes, ${result.rounds} kills, ${result.failedRounds} failed): p50 ${result.failoverP50Ms} ms, p99 ${result.failoverP99Ms} ms, max ${result.failoverMaxMs} ms\n` +
        `launch → leader known by all: ${result.convergeMs} ms (all processes started: ${result.startedMs} ms, ${result.launchCpuSPerNode} CPU-s per node; bootstrap-expect ${result.bootstrapExpect}); idle CPU ${result.idleCpuPctPerNode}% of a core per node; RSS ${result.rssMbPerNode} MB per node\n` +
        `launch phases (ms after launch, CPU-s per node): ${result.launchPhases.map((p) => `${p.phase} ${p.ms} (${p.cpuSPerNode})`).join(', ')}\n`,
    )
  }
  process.exit(result.failedRounds > 0 ? 1 : 0)
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`)
  process.exit(2)
})
