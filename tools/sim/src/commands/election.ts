/**
 * `pnpm sim election`: run one (or several) election scenarios on N simulated Conclave nodes,
 * check every election invariant, and report failover, load and disruption figures.
 */
import { parseArgs } from 'node:util'
import { localConclaveConfig } from '@conclave/core'
import {
  type Algo,
  baselineOwnTiming,
  conclaveDetectionTiming,
  type ElectionRun,
  raftPaperTiming,
  runElection,
  type Scenario,
  type Simulation,
  type SubjectOptions,
  scenarioNamed,
  scenarios,
  subjectFor,
} from '@conclave/sim'
import { type Command, type Io, UsageError } from './command.js'
import { printElectionReport } from './election-report.js'
import { PhaseRecorder } from './failover-phases.js'
import { TraceFileWriter } from './trace-file.js'

const names = scenarios.map((s) => s.name)

const usage = `pnpm sim election --nodes N --seed S --scenario NAME[,NAME…|all] [--repeats R] [--break RULE] [--json]

  --nodes N       simulated Conclave nodes (default 1000)
  --seed S        32-bit seed; the same seed and commit replay the run exactly (default 1)
  --scenario X    one of: ${names.join(', ')}
                  (a comma list, or "all", runs them one after the other)
  --repeats R     faults per scenario, for the failover distribution (default 5)
  --start X       join (default): every node joins through 3 seeds, the cluster bootstraps once
                  each view is full; converged: the founders start from the converged membership
                  view (restarts and later joiners still join through the seeds)
  --timing X      lan (default): the LAN preset's global group (120 ms heartbeats, 300-600 ms
                  election timeout); local: the local preset's global, shard, membership and
                  shard-map settings (the real-process bench's; the network model stays LAN);
                  raft-paper: the global AND shard groups at the baselines' own
                  timing (50 ms heartbeats, 150-300 ms; global lease 127 ms, continuous only with
                  the shard heartbeat at 50 ms too), for the equal-timing comparison
  --crash-jitter MS  before each crash wait a random 0..MS ms (default 0), so the crash falls at
                  a random phase of the heartbeat period (600 is a multiple of 50 and 120)
  --crash-phase MS[,MS…]  paired comparisons: crash the global leader exactly MS ms after it
                  sent a heartbeat round (the k-th crash takes the k-th value, cycling), so two
                  algorithms can be given the same crash phases; values below the heartbeat
                  period (120 ms at LAN and baseline --timing conclave); not with --crash-jitter
  --phases        before each report, one JSON line {"phases": [...]}: per crash of the global
                  leader, ms after the crash of its last heartbeat, the first election message,
                  the first PreVote and vote request, a majority of shard votes, the new leader,
                  its first heartbeat, all shard leaders know, all nodes know (the baselines: no
                  PreVote, shard votes or shard leaders) (tools/sim/src/commands/failover-phases.ts)
  --starve P:R    a starved host until the first agreed leader (the launch): every node runs for
                  an exponential time of mean R ms, then freezes for one of mean P ms, and again
                  (what 100 processes on 2 cores live through; harness.ts ElectionRunInit.starve)
  --launch-max-s S  longest wait for the first leader (default 30)
  --break RULE    TEST ONLY: switch one safety rule off (vote-commit | lease | persist)
  --json          one JSON report per scenario, each on its own line
  --trace FILE    (one scenario only) write every event, fault and a per-node traffic sample each
                  second to FILE as JSON lines ({ trueMs, ...event }), for conclave-inspector --replay
Exit code 1 if any invariant was violated.`

export function parseScenarios(v: string | undefined): Scenario[] {
  if (v === undefined) throw new UsageError('--scenario is required')
  const list = v === 'all' ? names : v.split(',')
  return list.map((n) => {
    const s = scenarioNamed(n)
    if (s === undefined) throw new UsageError(`unknown scenario ${n}; one of ${names.join(', ')}`)
    return s
  })
}

export function intArg(name: string, v: string, min: number, maxV: number): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > maxV)
    throw new UsageError(`--${name} must be an integer in ${min}..${maxV}`)
  return n
}

/**
 * `--timing`: Conclave takes lan | raft-paper (its global group's timing), a baseline own |
 * conclave (its detection timing: its Raft-paper defaults, or Conclave's global group's).
 */
export function timingArg(
  algo: Algo,
  v: string | undefined,
): Pick<SubjectOptions, 'global' | 'shard' | 'membership' | 'shardMap' | 'detection'> {
  if (algo === 'conclave') {
    if (v === undefined || v === 'lan') return {}
    if (v === 'raft-paper') return raftPaperTiming()
    if (v === 'local') {
      const c = localConclaveConfig()
      return { global: c.global, shard: c.shard, membership: c.membership, shardMap: c.shardMap }
    }
    throw new UsageError('--timing for conclave must be lan, local or raft-paper')
  }
  if (v === undefined || v === 'own') return {}
  if (v === 'conclave') return { detection: conclaveDetectionTiming() }
  // Own detection timing, with Conclave's round-trip bound (Bully's answer 15 ms, not 50).
  if (v === 'own-rtt')
    return { detection: baselineOwnTiming(algo, conclaveDetectionTiming().roundTripBoundMs) }
  throw new UsageError('--timing for a baseline must be own, own-rtt or conclave')
}

/** `--crash-phase MS[,MS…]`: whole ms in 0..1000 each, at most 1000 values. */
export function crashPhaseArg(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined
  const list = v.split(',')
  if (list.length > 1000) throw new UsageError('--crash-phase takes at most 1000 values')
  return list.map((x) => intArg('crash-phase', x, 0, 1000))
}

/** `--starve P:R`: mean freeze and mean run, whole ms (P in 1..10000, R in 1..10000). */
export function starveArg(v: string | undefined): { pauseMsMean: number; runMsMean: number } | undefined {
  if (v === undefined) return undefined
  const [p, r, ...rest] = v.split(':')
  if (p === undefined || r === undefined || rest.length > 0) throw new UsageError('--starve takes P:R')
  return { pauseMsMean: intArg('starve', p, 1, 10_000), runMsMean: intArg('starve', r, 1, 10_000) }
}

export function breakArg(v: string | undefined): 'vote-commit' | 'lease' | 'persist' | undefined {
  if (v === undefined) return undefined
  if (v === 'vote-commit' || v === 'lease' || v === 'persist') return v
  throw new UsageError('--break must be vote-commit, lease or persist')
}

/** Runs this large print a line on stderr every 30 s of wall time (they take minutes to hours). */
const ALIVE_LINES_FROM_NODES = 1000
const ALIVE_LINE_EVERY_MS = 30_000

/**
 * Every 100 simulated ms, checks the wall clock and at most every 30 s prints simulated time,
 * wall time and heap to stderr. Only a CALL entry: no events, so the trace (hash) is unchanged.
 */
function aliveLines(sim: Simulation, io: Io, label: string): void {
  const startMs = performance.now()
  let lastMs = startMs
  const check = (): void => {
    const nowMs = performance.now()
    if (nowMs - lastMs >= ALIVE_LINE_EVERY_MS) {
      lastMs = nowMs
      const heapMb = process.memoryUsage().heapUsed / 1e6
      io.err(
        `${label}: sim ${(sim.nowMs / 1000).toFixed(1)} s, wall ${((nowMs - startMs) / 1000).toFixed(0)} s, heap ${heapMb.toFixed(0)} MB\n`,
      )
    }
    sim.schedule(sim.nowMs + 100, check)
  }
  sim.schedule(sim.nowMs + 100, check)
}

export async function runElectionCommand(
  algo: Algo,
  argv: string[],
  io: Io,
  defaultScenario?: string,
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      scenario: { type: 'string', ...(defaultScenario ? { default: defaultScenario } : {}) },
      repeats: { type: 'string', default: '5' },
      break: { type: 'string' },
      start: { type: 'string', default: 'join' },
      algo: { type: 'string' },
      json: { type: 'boolean', default: false },
      trace: { type: 'string' },
      timing: { type: 'string' },
      'crash-jitter': { type: 'string', default: '0' },
      'crash-phase': { type: 'string' },
      phases: { type: 'boolean', default: false },
      starve: { type: 'string' },
      'launch-max-s': { type: 'string', default: '30' },
    },
    strict: true,
    allowPositionals: false,
  })
  const chosen = (values.algo ?? algo) as Algo
  if (!['conclave', 'raft', 'bully'].includes(chosen)) throw new UsageError('--algo must be raft or bully')
  const nodes = intArg('nodes', values.nodes, 2, 20_000)
  const seed = intArg('seed', values.seed, 0, 0xffffffff)
  const repeats = intArg('repeats', values.repeats, 1, 1000)
  const unsafeBreak = breakArg(values.break)
  const timing = timingArg(chosen, values.timing)
  const crashJitterMs = intArg('crash-jitter', values['crash-jitter'], 0, 60_000)
  const crashPhasesMs = crashPhaseArg(values['crash-phase'])
  if (crashPhasesMs !== undefined && crashJitterMs > 0)
    throw new UsageError('--crash-phase and --crash-jitter exclude each other')
  const makeSubject = subjectFor(chosen)
  const starve = starveArg(values.starve)
  const launchMaxS = intArg('launch-max-s', values['launch-max-s'], 1, 3600)
  const start = values.start
  if (start !== 'join' && start !== 'converged') throw new UsageError('--start must be join or converged')
  let violated = false
  const chosenScenarios = parseScenarios(values.scenario)
  const tracePath = values.trace
  if (tracePath !== undefined && chosenScenarios.length !== 1) {
    throw new UsageError('--trace records one run: give exactly one --scenario')
  }
  for (const scenario of chosenScenarios) {
    let traceFile: TraceFileWriter | undefined
    let phases: PhaseRecorder | undefined
    if (!values.json) io.err(`running ${chosen} ${scenario.name} on ${nodes} nodes, seed ${seed}…\n`)
    const report = runElection({
      algo: chosen,
      nodes,
      seed,
      scenario,
      repeats,
      start,
      makeSubject: (o: SubjectOptions) => makeSubject({ ...o, ...timing }),
      crashJitterMs,
      warmupMaxMs: launchMaxS * 1000,
      ...(starve !== undefined ? { starve } : {}),
      ...(crashPhasesMs !== undefined ? { crashPhasesMs } : {}),
      ...(unsafeBreak ? { unsafeBreak } : {}),
      onSimulation: (sim: Simulation, run: ElectionRun) => {
        if (values.phases) phases = new PhaseRecorder(sim, run, chosen)
        if (tracePath !== undefined) traceFile = new TraceFileWriter(sim, tracePath)
        if (nodes >= ALIVE_LINES_FROM_NODES) aliveLines(sim, io, `${chosen} ${scenario.name} ${nodes}`)
      },
    })
    traceFile?.close()
    if (traceFile) io.err(`trace: ${traceFile.lines} lines written to ${traceFile.path}\n`)
    if (phases !== undefined) io.out(JSON.stringify({ phases: phases.phases }))
    printElectionReport(io, report, values.json)
    if (report.violations > 0) violated = true
  }
  return violated ? 1 : 0
}

export const electionCommand: Command = {
  name: 'election',
  summary: 'election scenarios on Conclave nodes: invariants, failover, load',
  usage,
  run: (argv, io) => runElectionCommand('conclave', argv, io),
}
