/**
 * One election run end to end: build the cluster, wait for the first leader, let it settle,
 * play the scenario, stop all faults, give the cluster a bounded liveness phase, then run every
 * election checker and compute the figures. The result is JSON-able and replays exactly from
 * (algo, nodes, seed, scenario, unsafeBreak) at the same commit.
 */
import { type GlobalElectionStats, type NodeId, RESPONSE_MS_BOUNDS } from '@conclave/core'
import { countDisruptions } from '../../checkers/election/disruptions.js'
import { checkElection } from '../../checkers/election/index.js'
import { withCommittedConfig } from '../../checkers/election/shard-map-at.js'
import type { ElectionViolation } from '../../checkers/election/violation.js'
import { idsFor } from '../../peer-ids.js'
import type { Simulation } from '../../simulation.js'
import { max, mean, percentile } from '../../stats.js'
import type { TraceRecord } from '../../trace.js'
import { globalFailovers, perNodeRates, shardFailovers } from './figures.js'
import { ElectionRun } from './harness.js'
import type { Scenario, ScenarioOptions } from './scenarios.js'
import type { Algo, SubjectKind, SubjectOptions } from './subjects.js'

export interface ElectionRunOptions {
  readonly algo: Algo
  readonly nodes: number
  readonly seed: number
  readonly scenario: Scenario
  readonly makeSubject: (opts: SubjectOptions) => SubjectKind
  readonly unsafeBreak?: SubjectOptions['unsafeBreak']
  readonly repeats?: number
  /** Longest wait for the first leader, ms. Default 30_000. */
  readonly warmupMaxMs?: number
  /**
   * How long after the first agreed leader the steady-state load window starts, ms. Default
   * 8000: the first seconds carry start-up traffic (membership join gossip, shard logs, the first
   * global rounds); at 1000 nodes a window 1 s after the first leader measured 134 msgs/s/node
   * mean where the cluster at rest sends about half that.
   */
  readonly steadySettleMs?: number
  /** Invariant 6 bound: after faults stop, a leader known to all within this, ms. Default 10_000. */
  readonly convergeBoundMs?: number
  /**
   * How the founders start: 'join' (default) — every node joins through 3 seeds and the cluster
   * bootstraps once each node's view holds bootstrapExpect members; 'converged' — the founders
   * start from the converged membership view (SubjectOptions.convergedStart; baselines have no
   * membership and ignore it). A restarted node joins for real either way.
   */
  readonly start?: 'join' | 'converged'
  /** ScenarioOptions.crashJitterMs: a random wait before each crash, ms. Default 0. */
  readonly crashJitterMs?: number
  /** ScenarioOptions.crashPhasesMs: crash the global leader these ms after its last round. */
  readonly crashPhasesMs?: readonly number[]
  /** ElectionRunInit.starve: a starved host until the first agreed leader (the launch). */
  readonly starve?: { readonly pauseMsMean: number; readonly runMsMean: number }
  /** Called once with the simulation (and its harness) before it runs (e.g. to record the trace). */
  readonly onSimulation?: (sim: Simulation, run: ElectionRun) => void
}

export interface ElectionReport {
  algo: Algo
  nodes: number
  shards: number
  seed: number
  scenario: string
  /** How the founders started (ElectionRunOptions.start). */
  start: 'join' | 'converged'
  unsafeBreak: string | null
  /** The leader-death detection timing the run used (SubjectTiming.detection). */
  detection: { heartbeatIntervalMs: number; timeoutMinMs: number; timeoutMaxMs: number }
  /** ElectionRunOptions.crashJitterMs. */
  crashJitterMs: number
  /** ElectionRunOptions.crashPhasesMs ([] when unset). */
  crashPhasesMs: number[]
  traceHash: string
  firstLeaderMs: number | null
  /**
   * Until the first agreed leader: node pairs that exchanged a message (a real node's connections,
   * each opened by the first message either way), and by the `layer/type` of that first message
   * (a real node's `conclave_dials_total{frame}`); pairs over the tracker's bound are not counted
   * (`launchDialsUncounted` messages). `launchGlobalMsgs`: global-layer messages sent by then.
   */
  launchDials: number
  launchDialsByType: Record<string, number>
  launchDialsUncounted: number
  launchGlobalMsgs: number
  /**
   * The global election until the first agreed leader, summed over the nodes' counters
   * (core global/election-stats.ts; what a real node exports as conclave_global_*), non-zero
   * entries only: `prevote.started`, `prevote.ended.timed-out`, `vote.answered.no-shard-lease`,
   * `prevote.answers.late`, … Empty for the baselines. `launchShardsLedMs`: when every shard of
   * the bootstrap map first had a leader known to its voters (null if never before the leader).
   */
  launchGlobalElection: Record<string, number>
  launchShardsLedMs: number | null
  globalFailovers: number
  globalFailoverP50Ms: number | null
  globalFailoverP99Ms: number | null
  globalFailoverMaxMs: number | null
  globalFailoversUnrecovered: number
  /** Every global failover sample, ms, in the order they happened (for pooling over seeds). */
  globalFailoverSamplesMs: number[]
  shardFailovers: number
  shardFailoverP50Ms: number | null
  shardFailoverP99Ms: number | null
  shardFailoversUnrecovered: number
  /** Shard + global messages sent (all nodes) from the fault until agreement was seen. */
  electionMsgsPerFailover: number | null
  /** The same minus what the steady state would have sent in that time (heartbeats at rest). */
  electionMsgsPerFailoverAboveSteady: number | null
  /** Messages sent + received per node per second in a 2 s fault-free window after the first leader. */
  msgsPerNodePerSecMean: number | null
  msgsPerNodePerSecMax: number | null
  /** The same over the whole scenario (faults, elections and all). */
  msgsPerNodePerSecRunMean: number | null
  msgsPerNodePerSecRunMax: number | null
  /** Voters of the smallest and largest shard at the end of the run (committed shard logs). */
  shardVotersMin: number | null
  shardVotersMax: number | null
  /** Running nodes that vote in no shard at the end (joiners waiting for room, or stuck). */
  nodesWithoutShard: number
  leaderChanges: number
  disruptions: number
  fencedWritesAccepted: number
  fencedWritesRefused: number
  violations: number
  violationsByRule: Record<string, number>
  firstViolations: Array<{ invariant: number; rule: string; trueMs: number; message: string }>
  livenessOk: boolean
  simSeconds: number
  wallSeconds: number
  simSecondsPerWallSecond: number
}

/** Length of the fault-free window in which steady-state load is measured, ms. */
const STEADY_WINDOW_MS = 2000
/** Default ElectionRunOptions.steadySettleMs. */
const STEADY_SETTLE_MS = 8000

const round = (x: number | undefined): number | null => (x === undefined ? null : Math.round(x * 10) / 10)

export function runElection(opts: ElectionRunOptions): ElectionReport {
  const ids: NodeId[] = idsFor(opts.nodes, opts.seed)
  const initialNodes = opts.scenario.initialNodes?.(opts.nodes)
  const subject = opts.makeSubject({
    ids,
    ...(opts.unsafeBreak ? { unsafeBreak: opts.unsafeBreak } : {}),
    ...(initialNodes !== undefined ? { initialNodes } : {}),
    ...(opts.start === 'converged' ? { convergedStart: true } : {}),
  })
  const init = opts.scenario.init?.(subject.timing.driftBound) ?? {}
  const run = new ElectionRun({
    subject,
    ids,
    seed: opts.seed,
    ...(initialNodes !== undefined && !subject.fixedMembership ? { initialNodes } : {}),
    ...(opts.starve !== undefined ? { starve: opts.starve } : {}),
    ...init,
  })
  opts.onSimulation?.(run.sim, run)
  const sopts: ScenarioOptions = {
    repeats: opts.repeats ?? 5,
    waitMaxMs: 10_000,
    crashJitterMs: opts.crashJitterMs ?? 0,
    ...(opts.crashPhasesMs !== undefined ? { crashPhasesMs: opts.crashPhasesMs } : {}),
  }
  const convergeBoundMs = opts.convergeBoundMs ?? 10_000

  const firstLeaderMs = run.runUntilAgreed(opts.warmupMaxMs ?? 30_000)
  run.stopStarving()
  const launchGlobalElection = sumElectionStats(run)
  const launchShardsLedMs = shardsLedMs(run.sim.trace, firstLeaderMs)
  const launchDialsByType = Object.fromEntries(run.sim.accounting.dials())
  const launchDialsUncounted = run.sim.accounting.dialsUncounted
  run.sim.accounting.trackDials(false)
  let launchGlobalMsgs = 0
  for (const [key, t] of run.sim.accounting.byType())
    if (key.startsWith('global/')) launchGlobalMsgs += t.sentMsgs
  run.sim.runFor(opts.steadySettleMs ?? STEADY_SETTLE_MS)
  // Steady-state load: a fault-free window with a stable leader (what a cluster costs at rest).
  const steady0 = run.trafficSnapshot()
  const steadyElection0 = run.electionMsgsSent()
  run.sim.runFor(STEADY_WINDOW_MS)
  const steadyRates = perNodeRates(steady0, run.trafficSnapshot(), STEADY_WINDOW_MS / 1000)
  /** Election-layer messages per ms at rest (heartbeats, acks), all nodes. */
  const steadyElectionPerMs = (run.electionMsgsSent() - steadyElection0) / STEADY_WINDOW_MS
  const t0 = run.sim.nowMs
  const before = run.trafficSnapshot()
  opts.scenario.run(run, sopts)
  // Stop every fault: heal, restart the crashed; then the liveness phase.
  run.sim.heal()
  for (const id of run.ids) if (!run.sim.isUp(id)) run.sim.restart(id)
  const faultsEndMs = run.sim.nowMs
  run.runUntilAgreed(convergeBoundMs)
  run.sim.runFor(500)
  const t1 = run.sim.nowMs
  const after = run.trafficSnapshot()

  const trace = run.sim.trace
  const faults = run.sim.faults
  // Shard sizes at the end, from the committed shard logs (claims corrected, forming excluded).
  const shardSizes = [...withCommittedConfig(run.shardMapNow(), trace, t1).values()].map((v) => v.length)
  const nodesWithoutShard = run.nodesWithoutShard()
  const violations: ElectionViolation[] = checkElection(trace, {
    faults,
    trueTimeOf: (id, localMs) => run.sim.trueTimeOf(id, localMs),
    endMs: t1,
    leasePeriodMs: subject.timing.leasePeriodMs,
    driftBound: subject.timing.driftBound,
    faultsEndMs,
    convergeBoundMs,
    probes: run.probes,
    fenceWrites: run.resource.log,
    quorumOf: (side, t, bridge) => run.quorumOf(side, t, bridge),
  })
  const g = globalFailovers(trace, faults, run.episodes)
  const s = shardFailovers(trace, faults, run.episodes)
  const rates = perNodeRates(before, after, (t1 - t0) / 1000)
  const measured = run.episodes.filter((e) => e.electionMsgs !== undefined)
  const d = countDisruptions(trace, faults, 2 * subject.timing.leasePeriodMs)
  const byRule: Record<string, number> = {}
  for (const v of violations)
    byRule[`${v.invariant}:${v.rule}`] = (byRule[`${v.invariant}:${v.rule}`] ?? 0) + 1
  const wallSeconds = run.wallSeconds()
  return {
    algo: opts.algo,
    nodes: opts.nodes,
    shards: run.shardMapNow().size,
    seed: opts.seed,
    scenario: opts.scenario.name,
    start: opts.start ?? 'join',
    unsafeBreak: opts.unsafeBreak ?? null,
    detection: { ...subject.timing.detection },
    crashJitterMs: opts.crashJitterMs ?? 0,
    crashPhasesMs: [...(opts.crashPhasesMs ?? [])],
    traceHash: run.sim.traceHash(),
    firstLeaderMs: round(firstLeaderMs),
    launchDials: Object.values(launchDialsByType).reduce((a, b) => a + b, 0),
    launchDialsByType,
    launchDialsUncounted,
    launchGlobalMsgs,
    launchGlobalElection,
    launchShardsLedMs,
    globalFailovers: g.samplesMs.length,
    globalFailoverP50Ms: round(percentile(g.samplesMs, 50)),
    globalFailoverP99Ms: round(percentile(g.samplesMs, 99)),
    globalFailoverMaxMs: round(max(g.samplesMs)),
    globalFailoversUnrecovered: g.unrecovered,
    globalFailoverSamplesMs: g.samplesMs.map((x) => round(x) ?? 0),
    shardFailovers: s.samplesMs.length,
    shardFailoverP50Ms: round(percentile(s.samplesMs, 50)),
    shardFailoverP99Ms: round(percentile(s.samplesMs, 99)),
    shardFailoversUnrecovered: s.unrecovered,
    electionMsgsPerFailover: round(mean(measured.map((e) => e.electionMsgs ?? 0))),
    electionMsgsPerFailoverAboveSteady: round(
      mean(
        measured.map(
          (e) => (e.electionMsgs ?? 0) - steadyElectionPerMs * ((e.endMs ?? e.startMs) - e.startMs),
        ),
      ),
    ),
    msgsPerNodePerSecMean: round(mean(steadyRates)),
    msgsPerNodePerSecMax: round(max(steadyRates)),
    msgsPerNodePerSecRunMean: round(mean(rates)),
    msgsPerNodePerSecRunMax: round(max(rates)),
    shardVotersMin: shardSizes.length > 0 ? Math.min(...shardSizes) : null,
    shardVotersMax: shardSizes.length > 0 ? Math.max(...shardSizes) : null,
    nodesWithoutShard,
    leaderChanges: d.leaderChanges,
    disruptions: d.disruptions,
    fencedWritesAccepted: run.resource.accepted,
    fencedWritesRefused: run.resource.refused,
    violations: violations.length,
    violationsByRule: byRule,
    firstViolations: violations.slice(0, 5).map((v) => ({
      invariant: v.invariant,
      rule: v.rule,
      trueMs: round(v.trueMs) ?? 0,
      message: v.message,
    })),
    livenessOk: !violations.some((v) => v.invariant === 6),
    simSeconds: round(run.sim.nowMs / 1000) ?? 0,
    wallSeconds: round(wallSeconds) ?? 0,
    simSecondsPerWallSecond: round(run.sim.nowMs / 1000 / Math.max(wallSeconds, 1e-3)) ?? 0,
  }
}

/** ElectionReport.launchGlobalElection: the running nodes' counters, summed, non-zero only. */
function sumElectionStats(run: ElectionRun): Record<string, number> {
  const sum: Record<string, number> = {}
  const add = (key: string, n: number) => {
    if (n !== 0) sum[key] = (sum[key] ?? 0) + n
  }
  for (const id of run.ids) {
    const st = (
      run.subject(id) as { globalElectionStats?: () => GlobalElectionStats } | undefined
    )?.globalElectionStats?.()
    if (!st) continue
    for (const phase of ['prevote', 'vote'] as const) {
      add(`${phase}.started`, st.started[phase])
      for (const [k, n] of Object.entries(st.ended[phase])) add(`${phase}.ended.${k}`, n)
      for (const [k, n] of Object.entries(st.answers[phase])) add(`${phase}.answers.${k}`, n)
      for (const [k, n] of Object.entries(st.answered[phase])) add(`${phase}.answered.${k}`, n)
      st.answerMs[phase].forEach((n, i) => {
        add(`${phase}.answerMs.le${RESPONSE_MS_BOUNDS[i] ?? 'Inf'}`, n)
      })
    }
    add('timeoutsWithoutShardLease', st.timeoutsWithoutShardLease)
    add('leaderStepDowns', st.leaderStepDowns)
  }
  return sum
}

/**
 * When every shard that had a leader before the first agreed global leader had one for the
 * last time first: the latest of the shards' first `shard:leader` events (true ms), or null.
 */
function shardsLedMs(trace: readonly TraceRecord[], firstLeaderMs: number | undefined): number | null {
  if (firstLeaderMs === undefined) return null
  const first = new Map<number, number>()
  for (const r of trace) {
    if (r.trueMs > firstLeaderMs) break
    const e = r.event
    if (e.kind === 'shard:leader' && !first.has(e.shard)) first.set(e.shard, r.trueMs)
  }
  return first.size === 0 ? null : Math.max(...first.values())
}
