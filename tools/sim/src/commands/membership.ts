/**
 * `pnpm sim membership`: run one membership scenario on N simulated nodes and report detection
 * times, false alarms, traffic and simulator speed (figures defined in docs/simulator.md).
 */
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { lanConfig, localConfig, type MembershipConfig, wanConfig } from '@conclave/core'
import {
  lanNetwork,
  type MembershipReport,
  type MembershipScenarioName,
  membershipScenarios,
  type NetworkModel,
  plans,
  runMembershipScenario,
  type Simulation,
  type WarmupMode,
  wanNetwork,
} from '@conclave/sim'
import { ProgressBar } from '../progress.js'
import { type Command, type Io, UsageError } from './command.js'
import { TraceFileWriter } from './trace-file.js'

const usage = `pnpm sim membership --nodes N --seed S --scenario ${membershipScenarios.join('|')}
    [--loss P] [--duration-s D] [--warmup converged|join] [--preset lan|wan|local]
    [--network lan|wan] [--json]

  --nodes N         simulated nodes (default 1000)
  --seed S          32-bit seed; the same seed and commit replay the run exactly (default 1)
  --scenario X      crash: a node crashes every 2 s      loss: random loss P (default 0.05)
                    pause: a node freezes 2 s every 10 s partition: 20% cut off 10 s, healed
                    churn: join/crash/leave/restart 1/s  join: all join through one seed
  --loss P          random loss during the measured phase (any scenario)
  --duration-s D    measured phase in simulated seconds (default per scenario:
                    ${membershipScenarios.map((s) => `${s} ${plans[s].defaultDurationS}`).join(', ')})
  --warmup X        converged: start every node with the others' signed claims in its table
                    (the state a real join converges to; default); join: join them all for
                    real first (the N² bootstrap; the join scenario always does)
  --preset X        membership configuration preset (default lan)
  --network X       latency model: lan one-way 0.2-2 ms, wan 5-250 ms (default lan)
  --json            print the report as one JSON object on the last line
  --trace FILE      write every event, fault and a per-node traffic sample each second to FILE
                    as JSON lines ({ trueMs, ...event }), for conclave-inspector --replay FILE`

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      scenario: { type: 'string' },
      loss: { type: 'string' },
      'duration-s': { type: 'string' },
      warmup: { type: 'string', default: 'converged' },
      preset: { type: 'string', default: 'lan' },
      network: { type: 'string', default: 'lan' },
      json: { type: 'boolean', default: false },
      trace: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  })
  const int = (name: string, v: string, min: number, maxV: number) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min || n > maxV)
      throw new UsageError(`--${name} must be an integer in ${min}..${maxV}`)
    return n
  }
  const num = (name: string, v: string, min: number, maxV: number) => {
    const n = Number(v)
    if (!Number.isFinite(n) || n < min || n > maxV)
      throw new UsageError(`--${name} must be a number in ${min}..${maxV}`)
    return n
  }
  const scenario = values.scenario as MembershipScenarioName | undefined
  if (scenario === undefined || !membershipScenarios.includes(scenario)) {
    throw new UsageError(`--scenario must be one of ${membershipScenarios.join(', ')}`)
  }
  const presets: Record<string, () => MembershipConfig> = {
    lan: lanConfig,
    wan: wanConfig,
    local: localConfig,
  }
  const networks: Record<string, () => NetworkModel> = { lan: () => lanNetwork(), wan: () => wanNetwork() }
  const preset = presets[values.preset]
  const network = networks[values.network]
  if (values.warmup !== 'converged' && values.warmup !== 'join')
    throw new UsageError('--warmup must be converged or join')
  if (preset === undefined) throw new UsageError('--preset must be lan, wan or local')
  if (network === undefined) throw new UsageError('--network must be lan or wan')
  return {
    nodes: int('nodes', values.nodes, 2, 100_000),
    seed: int('seed', values.seed, 0, 0xffffffff),
    scenario,
    ...(values.loss !== undefined ? { lossRate: num('loss', values.loss, 0, 1) } : {}),
    ...(values['duration-s'] !== undefined
      ? { durationS: num('duration-s', values['duration-s'], 1, 86_400) }
      : {}),
    warmup: values.warmup as WarmupMode,
    presetName: values.preset,
    config: preset(),
    network: network(),
    json: values.json,
    trace: values.trace,
  }
}

export const membershipCommand: Command = {
  name: 'membership',
  summary: 'SWIM + Lifeguard membership on N simulated nodes: crash, loss, pause, partition, churn, join',
  usage,
  async run(argv, io) {
    const args = parse(argv)
    const bar = new ProgressBar(io, `${args.scenario} n=${args.nodes} seed=${args.seed}`)
    const wall0 = performance.now()
    let traceFile: TraceFileWriter | undefined
    const report = runMembershipScenario({
      ...(args.trace !== undefined
        ? {
            onSimulation: (sim: Simulation) => {
              traceFile = new TraceFileWriter(sim, args.trace!)
            },
          }
        : {}),
      nodes: args.nodes,
      seed: args.seed,
      scenario: args.scenario,
      warmup: args.warmup,
      config: args.config,
      network: args.network,
      ...(args.lossRate !== undefined ? { lossRate: args.lossRate } : {}),
      ...(args.durationS !== undefined ? { durationS: args.durationS } : {}),
      onProgress: (p) => {
        const label = p.phase === 'warmup' ? 'warm-up' : p.phase
        bar.update(
          p.phase === 'warmup' ? 0 : p.simMs / p.endMs,
          `${label} t=${(p.simMs / 1000).toFixed(0)} s wall=${((performance.now() - wall0) / 1000).toFixed(0)} s heap=${p.heapMB.toFixed(0)} MB`,
        )
      },
    })
    bar.done()
    traceFile?.close()
    if (traceFile) io.err(`trace: ${traceFile.lines} lines written to ${traceFile.path}\n`)
    if (args.json) io.out(JSON.stringify({ ...report, commit: commitOf() }))
    else printReport(io, report, args.presetName)
    if (report.invariant7Violations > 0) {
      io.err(
        `SAFETY VIOLATION (invariant 7). Replay: pnpm sim membership --nodes ${args.nodes} --seed ${args.seed} --scenario ${args.scenario}\n`,
      )
      return 1
    }
    return 0
  },
}

/** The checkout's commit (with `+dirty` when files changed): with the seed it identifies a run. */
function commitOf(): string | null {
  const head = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' })
  if (head.status !== 0) return null
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' })
  return `${head.stdout.trim()}${dirty.stdout.trim() === '' ? '' : '+dirty'}`
}

function ms(v: number | null): string {
  return v === null ? '—' : `${v.toFixed(1)} ms`
}

function printReport(io: Io, r: MembershipReport, preset: string): void {
  const line = (k: string, v: string) => io.out(`  ${k.padEnd(34)} ${v}`)
  io.out(
    `membership / ${r.scenario}: ${r.nodes} nodes, seed ${r.seed}, ${r.network} network, ${preset} preset, loss ${r.lossRate}`,
  )
  line(`warm-up (${r.warmup}; all see all)`, ms(r.warmupMs))
  line('measured phase', `${r.durationS} simulated s`)
  if (r.detectSamples > 0) {
    io.out(`detection over ${r.detectSamples} crashes:`)
    line('first suspicion p50 / p99', `${ms(r.detectFirstP50Ms)} / ${ms(r.detectFirstP99Ms)}`)
    line('every live node knows dead p50 / p99', `${ms(r.detectAllP50Ms)} / ${ms(r.detectAllP99Ms)}`)
    line('dissemination p50 / p99', `${ms(r.disseminationP50Ms)} / ${ms(r.disseminationP99Ms)}`)
    line('crashes not known everywhere at end', String(r.undetected))
  }
  if (r.joinAllSeeAllMs !== null || r.scenario === 'join')
    line('join: all see all after', ms(r.joinAllSeeAllMs))
  if (r.scenario === 'partition') line('after heal: all see all after', ms(r.healConvergeMs))
  if (r.pausedDeclaredDead !== null)
    line('pauses whose sleeper was declared dead', String(r.pausedDeclaredDead))
  io.out('correctness:')
  line('false deaths (healthy nodes)', `${r.falseDeaths} (${r.falseDeathsPerHour}/h)`)
  line('false suspicions (healthy nodes)', String(r.falseSuspicions))
  line('invariant 7 violations', String(r.invariant7Violations))
  line('rejected frames', String(r.rejections))
  for (const e of r.examples) io.out(`    ${e}`)
  io.out('load per node (measured phase, sent + received):')
  line('msgs/s mean / max', `${r.msgsPerNodePerSecMean} / ${r.msgsPerNodePerSecMax}`)
  line('bytes/s mean / max', `${r.bytesPerNodePerSecMean} / ${r.bytesPerNodePerSecMax}`)
  line('bytes/s sent, mean', String(r.bytesSentPerNodePerSecMean))
  io.out('messages by type (whole run, sent per node per s, mean size):')
  for (const [k, v] of Object.entries(r.byType)) line(k, `${v.msgsPerNodePerSec} msg/s × ${v.bytesPerMsg} B`)
  const d = Object.entries(r.dropped)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
  line('network drops', d.length > 0 ? d.join(', ') : 'none')
  io.out('simulator:')
  line(
    'speed',
    `${r.simSecondsPerWallSecond} simulated s per wall s (${r.simSeconds} s in ${r.wallSeconds} s)`,
  )
  line(
    'speed per CPU s',
    `${r.simSecondsPerCpuSecond} (${r.cpuSeconds} CPU s); measured phase alone ${r.phaseSimSecondsPerWallSecond} per wall s`,
  )
  line('heap (max)', `${r.heapMB} MB`)
  line('trace', `${r.traceRecords} records, sha256 ${r.traceHash}`)
}
