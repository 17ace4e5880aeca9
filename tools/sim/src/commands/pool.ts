/**
 * `pnpm sim pool FILE…`: pool saved `pnpm sim election|baseline --json` reports (every line of
 * each FILE that holds one) over seeds. One row per (algo, detection timing, crash timing,
 * nodes, scenario, start): p50 / p99 / max over ALL the runs' global failover samples together
 * (a per-run "p99" of 3 samples is only its max), the per-seed spread, election messages per
 * failover (mean over failovers), steady load (mean msgs/s: median over seeds; busiest: the
 * largest over seeds). Nothing is computed that the reports did not measure.
 *
 * A `{"phases": [...]}` line (`pnpm sim election --phases`) belongs to the report after it; the
 * phases of a row's failovers are pooled into one more table: each step of a global failover
 * (failover-phases.ts), p50 / p99 / max over the failovers.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { type ElectionReport, max, mean, percentile } from '@conclave/sim'
import { type Command, UsageError } from './command.js'
import type { FailoverPhases } from './failover-phases.js'

/** A saved report, with the phases line that came before it (if any). */
export type SavedReport = ElectionReport & { phases?: FailoverPhases[] }

/** One step of a global failover, from one phase to the next. */
export interface PhaseStep {
  step: string
  failovers: number
  p50Ms: number | null
  p99Ms: number | null
  maxMs: number | null
  /** Mean and its standard error (sample standard deviation / √n). */
  meanMs: number | null
  seMs: number | null
}

/** Mean and standard error of the mean (null for fewer than 2 samples). */
export function meanSe(xs: readonly number[]): { meanMs: number | null; seMs: number | null } {
  const m = mean(xs)
  if (m === undefined) return { meanMs: null, seMs: null }
  if (xs.length < 2) return { meanMs: round(m), seMs: null }
  const variance = xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1)
  return { meanMs: round(m), seMs: round(Math.sqrt(variance / xs.length)) }
}

type PhaseKey = keyof FailoverPhases
/** [label, from, to]; 'crash' is time 0. */
const STEPS: Array<[string, PhaseKey | 'crash', PhaseKey | 'crash']> = [
  ['last heartbeat round → crash', 'lastHeartbeatMs', 'crash'],
  ['last heartbeat round → first election message (any algorithm)', 'lastHeartbeatMs', 'firstElectionMsgMs'],
  ['crash → first PreVote', 'crash', 'firstPreVoteMs'],
  ['last heartbeat round → first PreVote (the detection timeout)', 'lastHeartbeatMs', 'firstPreVoteMs'],
  ['first PreVote → first vote request', 'firstPreVoteMs', 'firstVoteRequestMs'],
  ['vote request → majority of shards voted (committed)', 'firstVoteRequestMs', 'majorityOfShardVotesMs'],
  ['majority → new leader', 'majorityOfShardVotesMs', 'newLeaderMs'],
  ['new leader → its first heartbeat round', 'newLeaderMs', 'newLeaderFirstHeartbeatMs'],
  ['new leader → every shard leader knows', 'newLeaderMs', 'allShardLeadersKnowMs'],
  ['every shard leader → every node knows', 'allShardLeadersKnowMs', 'allNodesKnowMs'],
  ['last heartbeat round → every node knows', 'lastHeartbeatMs', 'allNodesKnowMs'],
  ['crash → every node knows (the failover)', 'crash', 'allNodesKnowMs'],
]

export function phaseSteps(phases: readonly FailoverPhases[]): PhaseStep[] {
  const at = (p: FailoverPhases, k: PhaseKey | 'crash'): number | null => (k === 'crash' ? 0 : (p[k] ?? null))
  return STEPS.map(([step, from, to]) => {
    const xs: number[] = []
    for (const p of phases) {
      const a = at(p, from)
      const b = at(p, to)
      if (a !== null && b !== null) xs.push(b - a)
    }
    return {
      step,
      failovers: xs.length,
      p50Ms: round(percentile(xs, 50)),
      p99Ms: round(percentile(xs, 99)),
      maxMs: round(max(xs)),
      ...meanSe(xs),
    }
  })
}

export interface PooledRow {
  algo: string
  heartbeatIntervalMs: number
  timeoutMinMs: number
  timeoutMaxMs: number
  crashJitterMs: number
  /** `--crash-phase` (paired runs): the crashes' phases after the leader's last round; [] when unset. */
  crashPhasesMs: number[]
  nodes: number
  scenario: string
  start: string
  seeds: number[]
  failovers: number
  unrecovered: number
  p50Ms: number | null
  p99Ms: number | null
  maxMs: number | null
  /** Mean of the pooled failovers and its standard error. */
  meanMs: number | null
  seMs: number | null
  /** Smallest and largest per-seed p50 and max. */
  seedP50RangeMs: [number, number] | null
  seedMaxRangeMs: [number, number] | null
  electionMsgsPerFailover: number | null
  electionMsgsPerFailoverAboveSteady: number | null
  msgsPerNodePerSecMeanMedian: number | null
  msgsPerNodePerSecMaxMax: number | null
  violations: number
  livenessFailures: number
  /** The steps of the failovers that have phases (none without `--phases`). */
  phases: PhaseStep[] | null
}

const round = (x: number | undefined): number | null => (x === undefined ? null : Math.round(x * 10) / 10)
const range = (xs: number[]): [number, number] | null =>
  xs.length === 0 ? null : [Math.min(...xs), Math.max(...xs)]

/** Reports from JSON lines (other lines — progress, human output — are skipped). */
export function readReports(text: string): SavedReport[] {
  const out: SavedReport[] = []
  let phases: FailoverPhases[] | undefined
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    const r = JSON.parse(line) as Partial<ElectionReport> & { phases?: FailoverPhases[] }
    if (r.phases !== undefined && r.algo === undefined) {
      phases = r.phases
      continue
    }
    if (r.algo === undefined || r.globalFailoverSamplesMs === undefined || r.detection === undefined) continue
    out.push({ ...(r as ElectionReport), ...(phases !== undefined ? { phases } : {}) })
    phases = undefined
  }
  return out
}

export function poolReports(reports: readonly SavedReport[]): PooledRow[] {
  const groups = new Map<string, SavedReport[]>()
  for (const r of reports) {
    const d = r.detection
    const key = [
      r.algo,
      d.heartbeatIntervalMs,
      d.timeoutMinMs,
      d.timeoutMaxMs,
      r.crashJitterMs,
      crashPhases(r).join(','),
      r.nodes,
      r.scenario,
      r.start,
    ].join('|')
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  const rows: PooledRow[] = []
  for (const rs of groups.values()) {
    const r0 = rs[0] as ElectionReport
    const samples = rs.flatMap((r) => r.globalFailoverSamplesMs)
    const failovers = rs.reduce((n, r) => n + r.globalFailovers, 0)
    const weighted = (pick: (r: ElectionReport) => number | null): number | null => {
      let sum = 0
      let n = 0
      for (const r of rs) {
        const v = pick(r)
        if (v === null || r.globalFailovers === 0) continue
        sum += v * r.globalFailovers
        n += r.globalFailovers
      }
      return n === 0 ? null : round(sum / n)
    }
    const means = rs.map((r) => r.msgsPerNodePerSecMean).filter((v): v is number => v !== null)
    const busiest = rs.map((r) => r.msgsPerNodePerSecMax).filter((v): v is number => v !== null)
    rows.push({
      algo: r0.algo,
      heartbeatIntervalMs: r0.detection.heartbeatIntervalMs,
      timeoutMinMs: r0.detection.timeoutMinMs,
      timeoutMaxMs: r0.detection.timeoutMaxMs,
      crashJitterMs: r0.crashJitterMs,
      crashPhasesMs: crashPhases(r0),
      nodes: r0.nodes,
      scenario: r0.scenario,
      start: r0.start,
      seeds: rs.map((r) => r.seed),
      failovers,
      unrecovered: rs.reduce((n, r) => n + r.globalFailoversUnrecovered, 0),
      p50Ms: round(percentile(samples, 50)),
      p99Ms: round(percentile(samples, 99)),
      maxMs: round(max(samples)),
      ...meanSe(samples),
      seedP50RangeMs: range(
        rs.map((r) => percentile(r.globalFailoverSamplesMs, 50)).filter((v) => v !== undefined),
      ),
      seedMaxRangeMs: range(rs.map((r) => max(r.globalFailoverSamplesMs)).filter((v) => v !== undefined)),
      electionMsgsPerFailover: weighted((r) => r.electionMsgsPerFailover),
      electionMsgsPerFailoverAboveSteady: weighted((r) => r.electionMsgsPerFailoverAboveSteady),
      msgsPerNodePerSecMeanMedian: round(percentile(means, 50)),
      msgsPerNodePerSecMaxMax: round(max(busiest)),
      violations: rs.reduce((n, r) => n + r.violations, 0),
      livenessFailures: rs.filter((r) => !r.livenessOk).length,
      phases: rs.some((r) => r.phases !== undefined) ? phaseSteps(rs.flatMap((r) => r.phases ?? [])) : null,
    })
  }
  return rows
}

/** Reports saved before `--crash-phase` existed have no crashPhasesMs. */
const crashPhases = (r: ElectionReport): number[] => r.crashPhasesMs ?? []

const fmt = (v: number | null): string => (v === null ? '—' : String(v))
/** How the row's crashes were timed: `--crash-phase` phases, else the `--crash-jitter` window. */
const fmtCrash = (r: PooledRow): string =>
  r.crashPhasesMs.length > 0 ? `phases ${r.crashPhasesMs.join(',')}` : `jitter ${r.crashJitterMs}`
const fmtSe = (r: { meanMs: number | null; seMs: number | null }): string =>
  r.meanMs === null ? '—' : r.seMs === null ? String(r.meanMs) : `${r.meanMs} ± ${r.seMs}`
const fmtRange = (v: [number, number] | null): string => (v === null ? '—' : `${v[0]}–${v[1]}`)

export const poolCommand: Command = {
  name: 'pool',
  summary: 'pooled failover percentiles over seeds from saved `election|baseline --json` reports',
  usage: `pnpm sim pool FILE... [--json]

  FILE     holds the output of pnpm sim election|baseline ... --json (one report per line)
  --json   one JSON object per pooled row instead of a Markdown table`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { json: { type: 'boolean', default: false } },
      strict: true,
      allowPositionals: true,
    })
    if (positionals.length === 0) throw new UsageError('no files given')
    const rows = poolReports(positionals.flatMap((f) => readReports(readFileSync(f, 'utf8'))))
    if (values.json) {
      for (const r of rows) io.out(JSON.stringify(r))
      return 0
    }
    io.out(
      '| algo | heartbeat / timeout ms | crash timing ms | N | seeds | failovers | pooled p50 / p99 / max ms | mean ± SE ms | per-seed p50 | per-seed max | election msgs per failover (above steady) | msgs/node/s mean (median over seeds) / busiest (worst seed) | violations | liveness failures |',
    )
    io.out('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for (const r of rows) {
      io.out(
        `| ${r.algo} | ${r.heartbeatIntervalMs} / ${r.timeoutMinMs}–${r.timeoutMaxMs} | ${fmtCrash(r)} | ${r.nodes} | ${r.seeds.length} | ${r.failovers}${r.unrecovered > 0 ? ` (+${r.unrecovered} unrecovered)` : ''} | ${fmt(r.p50Ms)} / ${fmt(r.p99Ms)} / ${fmt(r.maxMs)} | ${fmtSe(r)} | ${fmtRange(r.seedP50RangeMs)} | ${fmtRange(r.seedMaxRangeMs)} | ${fmt(r.electionMsgsPerFailover)} (${fmt(r.electionMsgsPerFailoverAboveSteady)}) | ${fmt(r.msgsPerNodePerSecMeanMedian)} / ${fmt(r.msgsPerNodePerSecMaxMax)} | ${r.violations} | ${r.livenessFailures} |`,
      )
    }
    for (const r of rows) {
      if (r.phases === null) continue
      io.out('')
      io.out(
        `${r.algo}, ${r.heartbeatIntervalMs} / ${r.timeoutMinMs}–${r.timeoutMaxMs} ms, crash ${fmtCrash(r)} ms, N = ${r.nodes}, seeds ${r.seeds.join(',')}:`,
      )
      io.out('')
      io.out('| step | failovers | p50 / p99 / max ms | mean ± SE ms |')
      io.out('|---|---|---|---|')
      for (const p of r.phases) {
        if (p.failovers === 0) continue // a step this algorithm does not have
        io.out(
          `| ${p.step} | ${p.failovers} | ${fmt(p.p50Ms)} / ${fmt(p.p99Ms)} / ${fmt(p.maxMs)} | ${fmtSe(p)} |`,
        )
      }
    }
    return 0
  },
}
