/**
 * One chaos run: the test network, the fenced resource, N real nodes, then K seeded schedules,
 * each a safety phase (the nemesis's faults, one at a time or overlapping) followed by a
 * liveness phase (every fault healed; a leader known to every running node must appear within
 * the liveness bound). The checker (checker.ts) reads each schedule's window of the history.
 * The network and every process are torn down on exit, on failure and on SIGINT/SIGTERM/SIGHUP;
 * what a SIGKILLed harness leaves behind is removed by `pnpm chaos --cleanup` (cleanup.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { leaseUntilMs, localConclaveConfig } from '@conclave/core'
import {
  checkHeals,
  checkLeaseOverlaps,
  checkMinorityLeases,
  checkWrites,
  hasQuorum,
  type LeaseEvent,
  leaderlessGaps,
  leaseHolderAgain,
  leaseSpansFromEvents,
  newWriteCheckState,
  type PartitionRecord,
  type Sample,
  type Violation,
  type Write,
} from './checker.js'
import { forgetResourcePid, recordResourcePid } from './cleanup.js'
import * as net from './netns.js'
import { hostMs, NetnsCluster, type ProcEvent, RESOURCE_PORT } from './netns-cluster.js'
import { bridge, components, loss, type NetFault, oneWay, ring, rulesFor, split } from './network-faults.js'
import { describeFault, type Fault, type FaultKind, planSchedule, type Schedule } from './schedule.js'
import { type FaultSpan, timelineSvg } from './timeline-svg.js'

export interface ChaosOptions {
  nodes: number
  schedules: number[]
  seed: number
  breakRules: string[]
  livenessMs: number
  /** How long to wait for the first leader known to every node before the first schedule. */
  warmupMs: number
  outDir: string
  dataDir: string
  kinds?: FaultKind[]
  /** The nodes' log level; other than `info`, every line they log goes to node-log.jsonl. */
  nodeLogLevel?: string
  /**
   * Every node's --tcp-rto-max-ms (its per-socket cap, which wins over the namespace's sysctl), and
   * unless 0 also the namespaces' net.ipv4.tcp_rto_max_ms; 0 = the kernel's own backoff;
   * undefined: the nodes' default (1000) and the kernel's sysctl default.
   */
  tcpRtoMaxMs?: number
  log(line: string): void
}

export interface ScheduleResult {
  index: number
  seed: number
  faults: string[]
  violations: Violation[]
  /**
   * Heal → a leased leader known to every running node, only for schedules in which that
   * agreement was lost when the faults healed (else undefined: nothing to re-elect).
   */
  reelectMs: number | undefined
  /** No leased leader known to every running node at the heal instant. */
  agreementLostAtHeal: boolean
  /**
   * Heal → the first accepted fenced write by a node holding the global lease at that instant
   * (checker.ts leaseHolderAgain), whether or not the lease was held at the heal; undefined: none
   * by the schedule's end.
   */
  leaseAgainMs: number | undefined
  /** Some node held the global lease at the heal instant. */
  leaseHeldAtHeal: boolean
  /** The liveness bound passed without agreement (a no-leader violation). */
  neverAgreed: boolean
  allKnowMs: number | undefined
  /** Intervals with no lease holder that began in this schedule's window (exact lease spans). */
  leaderlessGapsMs: number[]
  /** Of those, the longest one in progress at the heal or starting after it (0 if none). */
  maxLeaderlessAfterHealMs: number
  staleWrites: number
  acceptedWrites: number
  refusedWrites: number
  /** Writes held back past the writer's lease: accepted (same token still highest) / refused. */
  delayedAccepted: number
  delayedRefused: number
  durationMs: number
  /** Every node knew the leased leader when the schedule started (else it inherits a failure). */
  startHealthy: boolean
  svg: string
}

export interface RunResult {
  startupMs: number
  firstLeaderMs: number | undefined
  results: ScheduleResult[]
  leasePeriodMs: number
  toleranceMs: number
}

const SEEDS = 3
const PROBE_INTERVAL_MS = 25
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)))
const ENSURE_TOOLS = fileURLToPath(new URL('../scripts/ensure-netns-tools.sh', import.meta.url))
const RESOURCE = fileURLToPath(new URL('./fenced-resource.ts', import.meta.url))

/** The global lease period of the preset the nodes run, from the protocol's own formula. */
export function globalLeaseMs(): { leaseMs: number; driftBound: number } {
  const g = localConclaveConfig().global
  return {
    leaseMs: leaseUntilMs(0, g.electionTimeoutMinMs, g.driftBound, g.leaseMarginMs),
    driftBound: g.driftBound,
  }
}

/**
 * Allowed overlap of two nodes' lease intervals: a measurement tolerance only (float rounding of
 * the logged host times and the µs between a node's two clock readings). No drift allowance:
 * each node converts its own lease end with its own clock's rate.
 */
export const LEASE_TOLERANCE_MS = 1

export async function runChaos(o: ChaosOptions): Promise<RunResult> {
  const n = o.nodes
  const { leaseMs, driftBound } = globalLeaseMs()
  const toleranceMs = LEASE_TOLERANCE_MS
  mkdirSync(o.outDir, { recursive: true })
  const historyFile = join(o.outDir, 'history.jsonl')
  writeFileSync(historyFile, '')
  const nodeLogFile = join(o.outDir, 'node-warnings.jsonl')
  writeFileSync(nodeLogFile, '')
  const nodeLogLevel = o.nodeLogLevel ?? 'info'
  const fullLogFile = nodeLogLevel === 'info' ? undefined : join(o.outDir, 'node-log.jsonl')
  if (fullLogFile) writeFileSync(fullLogFile, '')

  await net.sh('bash', [ENSURE_TOOLS])
  net.lock()
  let resource: ChildProcess | undefined
  let cluster: NetnsCluster | undefined
  let tornDown = false
  const teardown = async () => {
    if (tornDown) return
    tornDown = true
    await cluster?.killAll().catch(() => {})
    resource?.kill('SIGKILL')
    forgetResourcePid()
    await net.teardown()
    rmSync(o.dataDir, { recursive: true, force: true })
    net.unlock()
  }
  const onSignal = (sig: NodeJS.Signals) => {
    o.log(`\n${sig}: tearing down the test network`)
    void teardown().finally(() => process.exit(130))
  }
  const onCrash = (err: unknown) => {
    o.log(`\nchaos harness failed: ${(err as Error)?.stack ?? err}; tearing down the test network`)
    void teardown().finally(() => process.exit(2))
  }
  // `on`, not `once`: a second signal or error during the teardown must not kill the process
  // before the network is gone (teardown runs once; the handlers are removed after it).
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('SIGHUP', onSignal)
  process.on('uncaughtException', onCrash)
  process.on('unhandledRejection', onCrash)

  try {
    await net.teardown() // leftovers of a crashed earlier run
    await net.setup(n, o.tcpRtoMaxMs === 0 ? undefined : o.tcpRtoMaxMs)
    rmSync(o.dataDir, { recursive: true, force: true })

    // History, appended by the nodes' probes and the resource as they report.
    let samples: Sample[] = []
    let leaseEvents: LeaseEvent[] = []
    let writes: Write[] = []
    let procs: ProcEvent[] = []
    const latest = new Map<number, Sample>()
    /** Each slot's last reported shard as a voter, kept while it is down (it stays a voter until removed). */
    const remembered = new Map<number, number>()
    const record = (kind: string, o2: object) =>
      appendFileSync(historyFile, `${JSON.stringify({ kind, ...o2 })}\n`)

    resource = spawn(
      process.execPath,
      ['--import', 'tsx', RESOURCE, '--listen', `${net.BRIDGE_IP}:${RESOURCE_PORT}`].concat(
        o.breakRules.includes('fence') ? ['--unfenced'] : [],
      ),
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let resourceUp: () => void = () => {}
    const resourceReady = new Promise<void>((r) => {
      resourceUp = r
    })
    createInterface({ input: resource.stdout as NodeJS.ReadableStream }).on('line', (text) => {
      const j = JSON.parse(text) as Record<string, unknown>
      if (j.listening) resourceUp()
      if (typeof j.token === 'number') {
        const w: Write = {
          hostMs: Number(j.hostMs),
          node: String(j.node),
          token: j.token,
          seq: Number(j.seq),
          accepted: j.accepted === true,
          delayed: j.delayed === true,
        }
        writes.push(w)
      }
    })
    await resourceReady
    recordResourcePid(resource.pid)

    const protocolBreak = o.breakRules.find((b) => b !== 'fence')
    cluster = new NetnsCluster({
      nodes: n,
      dir: o.dataDir,
      seeds: SEEDS,
      preset: 'local',
      tcpRtoMaxMs: o.tcpRtoMaxMs,
      breakRule: protocolBreak,
      logLevel: nodeLogLevel,
      probeIntervalMs: PROBE_INTERVAL_MS,
      onSample(s) {
        samples.push(s)
        latest.set(s.node, s)
        if (s.shard !== null && s.role !== 'observer') remembered.set(s.node, s.shard)
      },
      onLease(e) {
        leaseEvents.push(e)
      },
      onLog(node, line) {
        if (fullLogFile && line.msg !== 'chaos:sample')
          appendFileSync(fullLogFile, `${JSON.stringify({ ...line, slot: node, hostMs: hostMs() })}\n`)
        // Keep what the nodes warn about (cut-off peers, failed leaves, crashes) for diagnosis.
        if (
          (line.level === 'warn' || line.level === 'error' || line.level === 'raw') &&
          line.msg !== 'chaos:sample'
        )
          appendFileSync(nodeLogFile, `${JSON.stringify({ node, hostMs: hostMs(), ...line })}\n`)
      },
      onProc(e) {
        procs.push(e)
        if (e.state === 'down') latest.delete(e.node)
      },
    })
    const c = cluster
    await c.prepare()

    const t0 = hostMs()
    for (let i = 0; i < n; i += 5) {
      const batch = [...Array(Math.min(5, n - i)).keys()].map((k) => i + k)
      for (const j of batch) c.spawn(j)
      await c.waitFor(() => batch.every((j) => c.state(j) !== 'starting'), 60_000)
    }
    const startupMs = hostMs() - t0

    /** A leased leader known to every running node: when (host ms of the last agreeing sample). */
    const agreement = (requireAll: boolean): number | undefined => {
      const now = hostMs()
      const up = [...Array(n).keys()].filter((i) => c.state(i) === 'up')
      if (up.length === 0) return undefined
      if (requireAll && up.length < n) return undefined
      let holder: Sample | undefined
      for (const i of up) {
        const s = latest.get(i)
        if (s?.token !== null && s !== undefined && now - s.hostMs < 1000) holder = s
      }
      if (!holder) return undefined
      let at = holder.hostMs
      for (const i of up) {
        const s = latest.get(i)
        if (!s || now - s.hostMs > 2500 || s.leader !== holder.id || s.term !== holder.token) return undefined
        at = Math.max(at, s.hostMs)
      }
      return at
    }
    /** The node holding the lease now (its claimed end not passed), else the last one that did. */
    const leaderIndex = (): number | undefined => {
      const now = hostMs()
      let holding: Sample | undefined
      let last: Sample | undefined
      for (const s of latest.values()) {
        if (s.token === null) continue
        if (s.hostMs + s.leaseLeftMs >= now && (!holding || (s.token ?? 0) > (holding.token ?? 0)))
          holding = s
        if (!last || s.hostMs > last.hostMs) last = s
      }
      return (holding ?? last)?.node
    }

    const firstAt = await c.waitFor(() => agreement(true), o.warmupMs)
    const firstLeaderMs = firstAt === undefined ? undefined : firstAt - t0
    o.log(
      `${n} nodes started in ${(startupMs / 1000).toFixed(1)} s; ${firstLeaderMs === undefined ? `NO leader known to all within ${o.warmupMs / 1000} s` : `leader known to all ${(firstLeaderMs / 1000).toFixed(1)} s after launch`}`,
    )

    // The network state: every active fault's drops, merged into each namespace's rules.
    const activeNet = new Map<number, NetFault>()
    const applied = new Map<number, string>()
    const applyNet = async () => {
      await Promise.all(
        [...Array(n).keys()].map(async (i) => {
          const rules = rulesFor(i, activeNet.values(), net.nodeIp, net.BRIDGE_IP, net.SUBNET)
          if (applied.get(i) === rules) return
          applied.set(i, rules)
          await net.applyRules(i, rules)
        }),
      )
    }
    await applyNet()

    const writeState = newWriteCheckState()
    const results: RunResult['results'] = []
    let faultSeq = 0
    let recordedUpTo = 0
    for (const index of o.schedules) {
      const plan: Schedule = planSchedule(o.seed, index, {
        nodes: n,
        driftBound,
        seeds: SEEDS,
        kinds: o.kinds,
      })
      const start = hostMs()
      // A schedule that starts while some node still does not know the leader inherits that.
      const startHealthy = agreement(true) !== undefined
      const busy = new Set<number>()
      const faultSpans: FaultSpan[] = []
      const partitions: PartitionRecord[] = []
      const violations: Violation[] = []
      /**
       * Sides without a quorum of shards. The nodes report only their own shard, and a voter
       * that is down (or just removed) may or may not count: a side is flagged only if it is at
       * most half of all nodes and lacks a quorum both with the running voters only and with the
       * down ones counted too, so an uncertain voter set never raises a false alarm (it may miss
       * one; docs/testing.md).
       */
      const sidesWithoutQuorum = (sides: number[][]): number[][] => {
        const running = new Map<number, number>()
        for (const s of latest.values())
          if (s.shard !== null && s.role !== 'observer') running.set(s.node, s.shard)
        return sides.filter(
          (side) => side.length * 2 <= n && !hasQuorum(side, running, n) && !hasQuorum(side, remembered, n),
        )
      }

      const runFault = async (f: Fault): Promise<void> => {
        await sleep(start + f.startMs - hostMs())
        const leader = leaderIndex()
        const nodes =
          f.atLeader && leader !== undefined ? [leader, ...f.nodes.filter((x) => x !== leader)] : f.nodes
        const label = describeFault(f, f.atLeader ? nodes[0] : undefined).replace(/ @.*$/, '')
        const span: FaultSpan = { label, nodes: [], fromMs: hostMs(), toMs: hostMs() }
        faultSpans.push(span)
        const netFault = async (nf: NetFault, hit: number[], sides?: number[][]) => {
          const id = ++faultSeq
          activeNet.set(id, nf)
          await applyNet()
          const installed = hostMs()
          span.fromMs = installed
          span.nodes = hit
          const noQuorum = sidesWithoutQuorum(sides ?? [])
          await sleep(f.durationMs)
          activeNet.delete(id)
          await applyNet()
          span.toMs = hostMs()
          if (sides) partitions.push({ label, installedHostMs: installed, healedHostMs: span.toMs, noQuorum })
        }
        const all = [...Array(n).keys()]
        switch (f.kind) {
          case 'isolate-leader':
          case 'split': {
            const side = f.kind === 'isolate-leader' ? nodes.slice(0, 1) : nodes
            const rest = all.filter((i) => !side.includes(i))
            await netFault(split(side, n), all, [side, rest])
            break
          }
          // The minority-lease check covers every partition kind: the sides are the groups that
          // can still talk under this fault alone (components: one-way is a full cut for TCP).
          case 'bridge': {
            const nf = bridge(nodes)
            await netFault(nf, all, components(n, nf))
            break
          }
          case 'ring': {
            const nf = ring(nodes)
            await netFault(nf, all, components(n, nf))
            break
          }
          case 'one-way': {
            const nf = oneWay(nodes, n)
            await netFault(nf, all, components(n, nf))
            break
          }
          case 'loss':
            await netFault(loss(nodes, f.amount), nodes)
            break
          case 'kill':
          case 'pause':
          case 'leave-join': {
            const x = nodes[0] as number
            if (busy.has(x) || c.state(x) !== 'up') {
              span.label += ' (skipped: target busy)'
              return
            }
            busy.add(x)
            span.nodes = [x]
            if (f.kind === 'pause') {
              c.pause(x)
              await sleep(f.durationMs)
              c.resume(x)
            } else {
              if (f.kind === 'kill') await c.kill(x)
              else await c.leave(x)
              await sleep(f.durationMs)
              if (f.kind === 'kill' && f.offsetMs !== 0) c.setClock(x, f.offsetMs, c.clockOf(x).driftPpm)
              if (f.kind === 'leave-join') {
                await c.newIdentity(x)
                latest.delete(x)
                remembered.delete(x)
              }
              c.spawn(x)
            }
            busy.delete(x)
            span.toMs = hostMs()
            break
          }
          case 'clock': {
            const hit = nodes.filter((x) => !busy.has(x))
            span.nodes = hit
            for (const x of hit) c.setClock(x, c.clockOf(x).offsetMs, f.amount)
            await sleep(f.durationMs)
            for (const x of hit) c.setClock(x, c.clockOf(x).offsetMs, 0)
            span.toMs = hostMs()
            break
          }
          case 'rolling-restart':
            span.nodes = nodes
            for (const x of nodes) {
              if (busy.has(x) || c.state(x) !== 'up') continue
              busy.add(x)
              await c.leave(x)
              c.spawn(x)
              await c.waitFor(() => c.state(x) !== 'starting', 30_000)
              busy.delete(x)
            }
            span.toMs = hostMs()
            break
        }
      }

      await Promise.all(plan.faults.map(runFault))
      const healHostMs = hostMs()
      const agreementLostAtHeal = agreement(false) === undefined
      const agreedHostMs = await c.waitFor(() => agreement(false), o.livenessMs)
      // Restarted nodes must be up and know the leader too before the next schedule starts.
      const allAt = await c.waitFor(() => agreement(true), Math.max(o.livenessMs, 30_000))
      await sleep(500)
      const end = hostMs()

      // This schedule's window starts where the previous one ended (the first: at the launch, so
      // start-up and the first election are checked too). Every unexpected exit in it is a crash.
      const windowStart = results.length === 0 ? t0 : recordedUpTo
      if (results.length === 0 && firstAt === undefined)
        violations.push({
          kind: 'no-first-leader',
          atHostMs: t0,
          detail: `no leader known to all ${n} nodes within ${o.warmupMs / 1000} s of the launch: the run's schedules started on an unconverged cluster`,
        })
      for (const e of procs)
        if (e.unexpected && e.hostMs >= windowStart)
          violations.push({ kind: 'crash', atHostMs: e.hostMs, detail: `n${e.node} exited: ${e.unexpected}` })
      const spans = leaseSpansFromEvents(leaseEvents)
      violations.push(...checkLeaseOverlaps(spans, toleranceMs).filter((v) => v.atHostMs >= windowStart))
      violations.push(...checkMinorityLeases(spans, partitions, leaseMs, driftBound, toleranceMs))
      violations.push(...checkHeals([{ healHostMs, agreedHostMs }], o.livenessMs))
      const w = checkWrites(writes, writeState)
      violations.push(...w.violations)

      const gaps = leaderlessGaps(spans, windowStart, end)
      const again = leaseHolderAgain(spans, writes, healHostMs, end)
      const svgPath = join(o.outDir, `schedule-${index}.svg`)
      writeFileSync(
        svgPath,
        timelineSvg({
          title: `seed ${o.seed} schedule ${index}, ${n} nodes: ${faultSpans.map((f) => f.label).join(' + ') || '(no fault)'}`,
          nodes: n,
          fromMs: start - 1000,
          toMs: end,
          spans,
          faults: faultSpans,
          procs: procs.filter((e) => e.hostMs >= start - 1000),
          healMs: healHostMs,
          agreedMs: agreedHostMs,
          violations,
        }),
      )
      const result: ScheduleResult = {
        index,
        seed: plan.seed,
        faults: faultSpans.map((f) => f.label),
        violations,
        reelectMs:
          agreementLostAtHeal && agreedHostMs !== undefined
            ? Math.max(0, agreedHostMs - healHostMs)
            : undefined,
        agreementLostAtHeal,
        leaseAgainMs: again.afterHealMs,
        leaseHeldAtHeal: again.heldAtHeal,
        neverAgreed: agreedHostMs === undefined,
        leaderlessGapsMs: gaps.map((g) => g.durationMs),
        maxLeaderlessAfterHealMs: Math.max(
          0,
          ...gaps.filter((g) => g.toMs === undefined || g.toMs >= healHostMs).map((g) => g.durationMs),
        ),
        allKnowMs: allAt === undefined ? undefined : Math.max(0, allAt - healHostMs),
        staleWrites: w.stale,
        acceptedWrites: w.accepted,
        refusedWrites: w.refused,
        delayedAccepted: w.delayedAccepted,
        delayedRefused: w.delayedRefused,
        durationMs: end - start,
        startHealthy,
        svg: svgPath,
      }
      results.push(result)
      o.log(
        `schedule ${index} (${(result.durationMs / 1000).toFixed(1)} s)${startHealthy ? '' : ' [started with a node not knowing the leader]'}: ${result.faults.join(' + ') || '(no fault)'} → ${violations.length === 0 ? 'ok' : `${violations.length} VIOLATION(S)`}, leaderless max ${Math.round(Math.max(0, ...result.leaderlessGapsMs))} ms, ${agreementLostAtHeal ? `leader known to all again ${fmtMs(agreedHostMs === undefined ? undefined : agreedHostMs - healHostMs)} after heal` : 'agreement kept through the heal'}, lease holder writing ${fmtMs(again.afterHealMs)} after heal${again.heldAtHeal ? ' (lease held at the heal)' : ''}, known to all incl. restarted ${fmtMs(result.allKnowMs)}, writes ${w.accepted} accepted / ${w.refused} refused`,
      )
      for (const v of violations.slice(0, 10)) o.log(`    ${v.kind}: ${v.detail}`)
      if (violations.length > 0) o.log(`    timeline: ${svgPath}`)

      // Keep the history on disk; carry the last 3 s into the next window (leases crossing it).
      for (const s of samples) if (s.hostMs >= recordedUpTo) record('sample', s)
      for (const e of leaseEvents)
        if ((e.event === 'end' ? e.atHostMs : e.fromHostMs) >= recordedUpTo) record('lease', e)
      for (const x of writes) record('write', x)
      for (const e of procs) if (e.hostMs >= recordedUpTo) record('proc', e)
      recordedUpTo = end
      record('schedule', {
        ...result,
        startHostMs: start,
        healHostMs,
        endHostMs: end,
        faultSpans,
        partitions,
      })
      samples = samples.filter((s) => s.hostMs >= end - 3000)
      leaseEvents = leaseEvents.filter(
        (e) => (e.event === 'end' ? e.atHostMs : e.untilHostMs) >= end - 30_000,
      )
      writes = []
      procs = procs.filter((e) => e.hostMs >= end - 3000)
    }
    return { startupMs, firstLeaderMs, results, leasePeriodMs: leaseMs, toleranceMs }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    process.off('SIGHUP', onSignal)
    process.off('uncaughtException', onCrash)
    process.off('unhandledRejection', onCrash)
    await teardown()
  }
}

function fmtMs(ms: number | undefined): string {
  return ms === undefined ? 'NEVER' : `${Math.round(ms)} ms`
}
