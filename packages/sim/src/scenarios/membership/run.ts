/**
 * Runs one membership scenario on `nodes` real Membership machines and measures it.
 *
 * Phases: bootstrap + warm-up, then the measured phase in which the scenario's faults happen,
 * then the checkers over the trace. The warm-up either starts every node from the converged
 * view (`warmup: 'converged'`, the default: all nodes start at t = 0 holding every member's
 * signed claim) or really joins them (`'join'`: every node joins through up to three earlier
 * nodes; the phase ends when every node sees every node alive, checked every 100 ms). `join`
 * the scenario has no warm-up: its real bootstrap is what is measured. docs/simulator.md
 * defines every reported figure.
 */
import type { NodeId } from '@conclave/core'
import type { Traffic } from '../../accounting.js'
import { checkContextOf, deadStaysDead, falseDeaths, falseSuspicions } from '../../checkers/index.js'
import { lanNetwork } from '../../network-model.js'
import { max, mean, percentile } from '../../stats.js'
import { MembershipCluster } from './cluster.js'
import { DetectionTracker } from './detection.js'
import { type PlanContext, plans } from './plans.js'
import type { MembershipReport, MembershipRunOptions } from './types.js'

const CHECK_EVERY_MS = 100
const PROGRESS_EVERY_MS = 1000
const WARMUP_CAP_MS = 120_000
const BOOTSTRAP_SPREAD_MS = 1000
const JOIN_SEEDS = 3

export function runMembershipScenario(opts: MembershipRunOptions): MembershipReport {
  const plan = plans[opts.scenario]
  const durationMs = Math.round((opts.durationS ?? plan.defaultDurationS) * 1000)
  const lossRate = opts.lossRate ?? (opts.scenario === 'loss' ? 0.05 : 0)
  const network = opts.network ?? lanNetwork()
  const cluster = new MembershipCluster({
    seed: opts.seed,
    network,
    ...(opts.config ? { config: opts.config } : {}),
    idsTotal: opts.nodes + plan.spares(opts.nodes, durationMs),
  })
  const sim = cluster.sim
  opts.onSimulation?.(sim)
  const tracker = new DetectionTracker()
  sim.onEvent(tracker.onRecord)

  const wallStart = performance.now()
  const cpuStart = process.cpuUsage()
  let heapMax = 0
  const progress = (phase: 'warmup' | 'run' | 'check', endMs: number) => {
    heapMax = Math.max(heapMax, process.memoryUsage().heapUsed)
    opts.onProgress?.({ phase, simMs: sim.nowMs, endMs, heapMB: heapMax / 1048576 })
  }

  const initial = cluster.ids.slice(0, opts.nodes)
  const join = opts.scenario === 'join'
  const warmup = join ? 'join' : (opts.warmup ?? 'converged')
  if (warmup === 'converged') {
    // Each node's seeds (used only if it restarts): up to JOIN_SEEDS other initial nodes.
    cluster.startConverged(initial, (id) =>
      cluster
        .pick(initial, JOIN_SEEDS + 1)
        .filter((o) => o !== id)
        .slice(0, JOIN_SEEDS),
    )
  }
  // Bootstrap by real joins: spread the starts over BOOTSTRAP_SPREAD_MS.
  if (warmup === 'join')
    initial.forEach((id, i) => {
      const atMs = i === 0 ? 0 : cluster.rng.float() * BOOTSTRAP_SPREAD_MS
      sim.schedule(atMs, () => {
        cluster.start(
          id,
          i === 0 ? [] : join ? [initial[0] as NodeId] : cluster.pick(cluster.live(), JOIN_SEEDS),
        )
      })
    })
  // Node 0 starts first; every other node joins through up to JOIN_SEEDS nodes already running.
  sim.runUntil(BOOTSTRAP_SPREAD_MS)

  let warmupMs: number | null = null
  let joinAllSeeAllMs: number | null = null
  if (!join) {
    const capMs = sim.nowMs + WARMUP_CAP_MS
    let nextProgress = sim.nowMs
    while (sim.nowMs < capMs) {
      if (cluster.allSeeAll()) {
        warmupMs = sim.nowMs
        break
      }
      sim.runFor(CHECK_EVERY_MS)
      if (sim.nowMs >= nextProgress) {
        progress('warmup', capMs)
        nextProgress += PROGRESS_EVERY_MS
      }
    }
  }

  const startMs = sim.nowMs
  const endMs = startMs + durationMs
  const phaseWallStart = performance.now()
  const before = sim.accounting.snapshot()
  const results: PlanContext['results'] = {}
  const ctx: PlanContext = { cluster, tracker, startMs, durationMs, lossRate, results }
  plan.schedule(ctx)
  if (!join && lossRate > 0 && opts.scenario !== 'loss') sim.setLoss(lossRate)

  let healConvergeMs: number | null = null
  let nextProgress = sim.nowMs
  while (sim.nowMs < endMs) {
    sim.runUntil(Math.min(endMs, sim.nowMs + CHECK_EVERY_MS))
    if (join && joinAllSeeAllMs === null && cluster.allSeeAll()) joinAllSeeAllMs = sim.nowMs
    if (results.healAtMs !== undefined && healConvergeMs === null && cluster.allSeeAll()) {
      healConvergeMs = sim.nowMs - results.healAtMs
    }
    if (sim.nowMs >= nextProgress) {
      progress('run', endMs)
      nextProgress += PROGRESS_EVERY_MS
    }
    if (join && joinAllSeeAllMs !== null) break // measured: nothing else happens in `join`
  }
  const wallSeconds = (performance.now() - wallStart) / 1000
  const phaseWallSeconds = (performance.now() - phaseWallStart) / 1000
  const cpu = process.cpuUsage(cpuStart)
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  progress('check', sim.nowMs)

  // Traffic over the measured phase, per node that ran through all of it untouched by faults.
  const windowS = (sim.nowMs - startMs) / 1000
  const after = sim.accounting.snapshot()
  const touched = new Set<NodeId>()
  for (const f of sim.faults) {
    if (f.trueMs >= startMs && f.node !== undefined && f.kind !== 'add') touched.add(f.node)
    if (f.kind === 'add' && f.trueMs > startMs && f.node !== undefined) touched.add(f.node)
  }
  const msgs: number[] = []
  const bytes: number[] = []
  const bytesSent: number[] = []
  for (const id of initial) {
    if (touched.has(id) || cluster.hasLeft(id)) continue
    const a = after.get(id)
    if (a === undefined) continue
    const b: Traffic = before.get(id) ?? { sentMsgs: 0, sentBytes: 0, recvMsgs: 0, recvBytes: 0 }
    msgs.push((a.sentMsgs - b.sentMsgs + a.recvMsgs - b.recvMsgs) / windowS)
    bytes.push((a.sentBytes - b.sentBytes + a.recvBytes - b.recvBytes) / windowS)
    bytesSent.push((a.sentBytes - b.sentBytes) / windowS)
  }

  // Crash detection.
  const live = new Set(cluster.live())
  const crashedAfter = (id: NodeId, t: number) =>
    sim.faults.some((f) => f.kind === 'crash' && f.node === id && f.trueMs > t)
  const firsts: number[] = []
  const alls: number[] = []
  const spreads: number[] = []
  let undetected = 0
  for (const c of tracker.crashes) {
    if (Number.isFinite(c.firstSuspectMs)) firsts.push(c.firstSuspectMs - c.crashedAtMs)
    let last = 0
    let complete = true
    for (const o of live) {
      if (!c.knewIt.has(o) || crashedAfter(o, c.crashedAtMs)) continue
      const t = c.deadAt.get(o)
      if (t === undefined) {
        complete = false
        continue
      }
      last = Math.max(last, t - c.crashedAtMs)
      spreads.push(t - c.firstDeadMs)
    }
    if (complete) alls.push(last)
    else undetected++
  }

  // Checkers over the kept trace.
  const cctx = checkContextOf(sim)
  const deaths = falseDeaths(sim.trace, cctx)
  const suspicions = falseSuspicions(sim.trace, cctx)
  const inv7 = deadStaysDead(sim.trace, cctx)
  let pausedDeclaredDead: number | null = null
  if (results.pauses !== undefined) {
    pausedDeclaredDead = results.pauses.filter((p) =>
      sim.trace.some(
        (r) =>
          r.event.kind === 'member:state' &&
          r.event.state === 'dead' &&
          r.event.member === p.node &&
          r.trueMs >= p.fromMs &&
          r.trueMs <= p.toMs + 10_000,
      ),
    ).length
  }

  const totalS = sim.nowMs / 1000
  const byType: MembershipReport['byType'] = {}
  const population = Math.max(1, cluster.everStarted().length)
  for (const [key, t] of sim.accounting.byType()) {
    byType[key] = {
      msgsPerNodePerSec: round(t.sentMsgs / population / totalS, 2),
      bytesPerMsg: round(t.sentMsgs === 0 ? 0 : t.sentBytes / t.sentMsgs, 1),
    }
  }
  const r1 = (v: number | undefined) => (v === undefined ? null : round(v, 1))
  return {
    nodes: opts.nodes,
    seed: opts.seed,
    scenario: opts.scenario,
    network: network.name,
    lossRate,
    durationS: round(windowS, 3),
    warmup,
    warmupMs: warmupMs === null ? null : round(warmupMs, 1),
    traceHash: sim.traceHash(),
    traceRecords: sim.traceRecords,
    detectSamples: tracker.crashes.length,
    detectFirstP50Ms: r1(percentile(firsts, 50)),
    detectFirstP99Ms: r1(percentile(firsts, 99)),
    detectAllP50Ms: r1(percentile(alls, 50)),
    detectAllP99Ms: r1(percentile(alls, 99)),
    undetected,
    disseminationP50Ms: r1(percentile(spreads, 50)),
    disseminationP99Ms: r1(percentile(spreads, 99)),
    falseDeaths: deaths.length,
    falseDeathsPerHour: round(deaths.length / (windowS / 3600), 2),
    falseSuspicions: suspicions.length,
    invariant7Violations: inv7.length,
    joinAllSeeAllMs: joinAllSeeAllMs === null ? null : round(joinAllSeeAllMs, 1),
    healConvergeMs: healConvergeMs === null ? null : round(healConvergeMs, 1),
    pausedDeclaredDead,
    msgsPerNodePerSecMean: round(mean(msgs) ?? 0, 2),
    msgsPerNodePerSecMax: round(max(msgs) ?? 0, 2),
    bytesPerNodePerSecMean: round(mean(bytes) ?? 0, 1),
    bytesPerNodePerSecMax: round(max(bytes) ?? 0, 1),
    bytesSentPerNodePerSecMean: round(mean(bytesSent) ?? 0, 1),
    byType,
    dropped: { ...sim.accounting.dropped },
    rejections: cluster.rejections(),
    simSeconds: round(totalS, 3),
    wallSeconds: round(wallSeconds, 2),
    simSecondsPerWallSecond: round(totalS / wallSeconds, 2),
    cpuSeconds: round(cpuSeconds, 2),
    simSecondsPerCpuSecond: round(totalS / cpuSeconds, 2),
    phaseSimSecondsPerWallSecond: round(windowS / phaseWallSeconds, 2),
    heapMB: round(heapMax / 1048576, 1),
    examples: [...inv7, ...deaths, ...suspicions]
      .slice(0, 5)
      .map((v) => `${v.checker} t=${v.trueMs.toFixed(1)} ms: ${v.message}`),
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(v * f) / f
}
