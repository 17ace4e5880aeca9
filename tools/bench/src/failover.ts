/**
 * Failover benchmark on real processes: N `conclave` node processes on 127.0.0.1 (one OS
 * process and one libp2p node each), then R times: kill -9 the process of the global leader
 * every live node agrees on, and measure until every live node has reported a new leader
 * (failover = the last survivor's wall-clock time of learning it − the kill time; all processes
 * share one clock). The killed node is restarted from its data dir before the next round, so
 * the cluster stays at N. Every figure printed is measured in this run.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  killNodesOnExit,
  LocalCluster,
  type NodeReport,
  onExitCleanup,
  parseProcStat,
} from '@conclave/node/harness'

export interface FailoverOptions {
  nodes: number
  rounds: number
  engine: 'conclave' | 'flat-raft'
  preset: 'lan' | 'local' | 'wan'
  basePort: number
  /** Parent of the nodes' data dirs. */
  dataRoot: string
  /**
   * Diagnosis: run the nodes with `--log-level debug` and append every log line (trace events
   * included, with the node index and the round) to this JSON-lines file. Debug logs cost CPU:
   * figures from such a run are diagnostic only.
   */
  traceOut?: string
  /** How long to wait for the first leader known by all once every node is up. Default 60 s. */
  convergeWaitMs?: number
  /**
   * Node processes starting at once while the cluster launches (LocalCluster startBatch: a
   * sliding window; the next is spawned as one logs `started`). Default 5.
   */
  startBatch?: number
  /**
   * Form the cluster from its first K nodes (`--bootstrap-expect K`, LocalCluster `founders`): only
   * they wait for K members; the others start once the K agree on a leader and join the running
   * cluster. Default: every node gets `--bootstrap-expect N` and the N start together.
   */
  bootstrapExpect?: number
  /**
   * Seconds between the first leader known by all and the idle window. Default 20: right after
   * convergence the nodes are still connecting to each other (SWIM reaches every member one probe
   * at a time: Noise handshakes, identify) and V8 is still compiling; that is start-up, not idle.
   */
  idleSettleS?: number
  /** Length of the idle CPU window in seconds. Default 10. */
  idleWindowS?: number
  /**
   * Seconds to wait, once the killed node is back and knows the leader, before the next kill.
   * Default 3. With 0 (the bench until session 4) the next kill came 0.2–2.3 s after the
   * restarted process started (measured from its `started` line), while it was still joining:
   * V8 compiling, Noise handshakes with the other nodes, its member list filling; each node it
   * meets does a handshake too. So the next failover ran on a host busy with the bench's own
   * restart. The restarted node's CPU during the settle is reported with each round.
   */
  roundSettleS?: number
  /** Progress lines (stderr). */
  say(line: string): void
}

export interface FailoverResult {
  engine: string
  nodes: number
  rounds: number
  failoverP50Ms: number
  failoverP99Ms: number
  failoverMaxMs: number
  failoversMs: number[]
  convergeMs: number
  /** Launch → the last of the N processes logged `started` (listening). */
  startedMs: number
  /** The `--bootstrap-expect` the first nodes got (N: every node waited for all N). */
  bootstrapExpect: number
  /**
   * The launch, phase by phase, from the nodes' own `launch:milestone` lines (node wall clock; ms
   * after launch) up to the first kill: `started` (the last process listening), `members` (the
   * last node to see N members alive), `first-shard-leader`, `every-node-shard-leader` (the last
   * node to learn a leader of its shard), `every-node-in-shard` and `leader-known-by-all`; with the
   * nodes' CPU seconds per node when the bench saw the phase complete. A phase not reached before
   * the first kill is missing.
   */
  launchPhases: LaunchPhase[]
  /**
   * When a leader was first known by all: connections the nodes had opened because they had none
   * to the peer, summed over the nodes that answered `/metrics` within 3 s, by the frame that made
   * them dial (`conclave_dials_total{frame}`), and the established TCP connections to the nodes'
   * listen ports (each connection once).
   */
  launchDials: LaunchDials
  /** Nodes that were shard voters (their `shard` milestone) when the first kill came. */
  nodesInShard: number
  /**
   * CPU seconds (user + system, from /proc) the N node processes had used, together, when a
   * leader was first known by all, divided by N: what launching a cluster costs per node.
   */
  launchCpuSPerNode: number
  idleCpuPctPerNode: number
  rssMbPerNode: number
  failedRounds: number
  /** The settle between rounds (roundSettleS) this run used. */
  roundSettleS: number
  dataRoot: string
}

/** With --bootstrap-expect K < N: the rounds start once no node joined a shard for this long. */
const GROWTH_QUIET_MS = 10_000

export interface LaunchPhase {
  phase: string
  ms: number
  cpuSPerNode: number
}

export interface LaunchDials {
  answered: number
  total: number
  byFrame: Record<string, number>
  connections: number
  /**
   * The global election up to that moment, summed over the same nodes: every non-zero
   * `conclave_global_*` counter and `conclave_timer_lateness_ms` bucket (apps/node metrics.ts),
   * keyed by the metric's name and labels, e.g. `conclave_global_rounds_total{phase="prevote",end="timed-out"}`.
   */
  globalElection: Record<string, number>
}

export async function runFailover(o: FailoverOptions): Promise<FailoverResult> {
  const dir = mkdtempSync(join(o.dataRoot, 'conclave-bench-'))
  let t0 = Date.now()
  const phases = new LaunchPhases()
  const founders =
    o.bootstrapExpect !== undefined && o.bootstrapExpect < o.nodes ? o.bootstrapExpect : undefined
  // Every leader change any node logs during a round: how the round unfolded (printed per round).
  const seen: { i: number; leader: string | null; term: number; wallMs: number }[] = []
  let round = 0
  const trace = o.traceOut ? openSync(o.traceOut, 'a') : undefined
  const cluster = new LocalCluster({
    logLevel: trace === undefined ? undefined : 'debug',
    onLog: (i, line) => {
      if (trace !== undefined && line.msg !== 'dial failed')
        writeSync(trace, `${JSON.stringify({ i, round, ...line })}\n`)
      if (line.msg === 'leader:change' && seen.length < 10_000)
        seen.push({
          i,
          leader: (line.leader as string | null) ?? null,
          term: Number(line.term),
          wallMs: Number(line.wallMs),
        })
      if (round === 0 && line.msg === 'launch:milestone') phases.check(cluster, t0)
    },
    nodes: o.nodes,
    founders,
    launchMilestones: true,
    startBatch: o.startBatch,
    dir,
    basePort: o.basePort,
    adminBasePort: o.basePort + 2000,
    engine: o.engine,
    preset: o.preset,
  })
  // Ctrl-C or `timeout` skip the finally below: the nodes and the dir (unless it holds a hang
  // report) go on a signal too.
  const unwatchNodes = killNodesOnExit(cluster)
  const unwatchDir = onExitCleanup(() => {
    if (cluster.hangCaptures.length === 0) rmSync(dir, { recursive: true, force: true })
  })
  try {
    t0 = Date.now()
    await cluster.start()
    await cluster.waitFor(
      () => cluster.nodes.length === o.nodes && cluster.nodes.every((n) => n.ready),
      30_000 + o.nodes * 1500,
      'all nodes started',
    )
    const startedMs = Date.now() - t0
    phases.add('started', startedMs, cpuSPerNode(cluster))
    o.say(
      `${o.nodes} processes started in ${startedMs} ms (${o.startBatch ?? 5} starting at a time${founders !== undefined ? `, the first ${founders} first` : ''})`,
    )
    try {
      await cluster.waitFor(() => cluster.agreedLeader(), o.convergeWaitMs ?? 60_000, 'a leader known by all')
    } catch (err) {
      o.say(`the ${o.nodes} processes had used ${(cpuSPerNode(cluster) * o.nodes).toFixed(1)} CPU-s together`)
      o.say(`launch phases reached: ${phases.describe()}`)
      o.say(`dials: ${JSON.stringify(await launchDials(cluster, o.basePort))}`)
      o.say(`nodes without the most common leader: ${await describeLaggards(cluster, undefined, t0)}`)
      throw err
    }
    const convergeMs = Date.now() - t0
    const launchCpuSPerNode = cpuSPerNode(cluster)
    phases.add('leader-known-by-all', convergeMs, launchCpuSPerNode)
    const dials = await launchDials(cluster, o.basePort)
    o.say(
      `leader known by all ${convergeMs} ms after launch; the nodes had used ${launchCpuSPerNode.toFixed(2)} CPU-s each`,
    )
    o.say(`launch phases: ${phases.describe()}`)
    o.say(
      `dials ${dials.total} (${dials.answered} nodes answered): ${Object.entries(dials.byFrame)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; ${dials.connections} connections`,
    )
    o.say(`global election by then: ${JSON.stringify(dials.globalElection)}`)
    const inShard = () => cluster.nodes.filter((n) => n.milestones.shard !== undefined)
    if (founders !== undefined || inShard().length < o.nodes) {
      // The joiners (or, in the `local` preset past 25 nodes, the members that did not found the
      // cluster: bootstrapFoundersMax) become voters after the leader is known (assignment, then
      // splits), and a few may stay observers for good (a split takes 5 waiting members:
      // protocol.md, "Split"): measure the idle cost and the failovers once no node has joined a
      // shard for 10 s (at most 60 s), not while the cluster grows.
      const lastJoinMs = () => Math.max(0, ...inShard().map((n) => n.milestones.shard ?? 0))
      const until = Date.now() + 60_000
      while (Date.now() < until && Date.now() - Math.max(lastJoinMs(), t0 + convergeMs) < GROWTH_QUIET_MS)
        await new Promise((r) => setTimeout(r, 500))
      o.say(
        `${inShard().length} of ${o.nodes} nodes in a shard (the last joined ${lastJoinMs() - t0} ms after launch); rounds start ${Date.now() - t0} ms after launch`,
      )
    }

    // Idle cost: CPU over a quiet window once the cluster has settled, and resident memory.
    await new Promise((r) => setTimeout(r, (o.idleSettleS ?? 20) * 1000))
    const before = cluster.nodes.map((_, i) => cluster.usage(i))
    const w0 = Date.now()
    await new Promise((r) => setTimeout(r, (o.idleWindowS ?? 10) * 1000))
    const windowS = (Date.now() - w0) / 1000
    let cpuS = 0
    let rssMb = 0
    let counted = 0
    cluster.nodes.forEach((_, i) => {
      const a = before[i]
      const b = cluster.usage(i)
      if (!a || !b) return
      cpuS += b.cpuS - a.cpuS
      rssMb += b.rssMb
      counted++
    })
    const idleCpuPctPerNode = counted ? (100 * cpuS) / windowS / counted : Number.NaN
    const rssMbPerNode = counted ? rssMb / counted : Number.NaN
    o.say(
      `idle: ${idleCpuPctPerNode.toFixed(2)}% of a core per node, ${rssMbPerNode.toFixed(1)} MB RSS per node`,
    )

    const failoversMs: number[] = []
    let failedRounds = 0
    let nodesInShard = cluster.nodes.filter((n) => n.milestones.shard !== undefined).length
    const settleS = o.roundSettleS ?? 3
    for (let r = 0; r < o.rounds; r++) {
      if (r === 0) nodesInShard = cluster.nodes.filter((n) => n.milestones.shard !== undefined).length
      if (r === 0)
        o.say(
          `launch phases by the first kill: ${phases.describe()}; ${cluster.nodes.filter((n) => n.milestones.shard !== undefined).length} of ${o.nodes} nodes in a shard`,
        )
      const old = await cluster.waitFor(() => cluster.agreedLeader(), 30_000, 'a leader known by all')
      const i = cluster.indexOf(old.id)
      round = r + 1
      seen.length = 0
      const tKill = Date.now()
      if (trace !== undefined)
        writeSync(
          trace,
          `${JSON.stringify({ i, round, msg: 'bench:kill', wallMs: tKill, leader: old.id, term: old.term })}\n`,
        )
      await cluster.kill(i, 'SIGKILL')
      try {
        const next = await cluster.waitFor(
          () => {
            const live = cluster.live()
            const ok = live.every((n) => n.leader?.id && n.leader.id !== old.id && n.leader.wallMs >= tKill)
            return ok ? cluster.agreedLeader() : undefined
          },
          30_000,
          'every survivor to know a new leader',
        )
        const ms = Math.max(...cluster.live().map((n) => (n.leader?.wallMs ?? tKill) - tKill))
        failoversMs.push(ms)
        o.say(`  ${describeRound(seen, tKill, (id) => cluster.indexOf(id))}`)
        o.say(
          `round ${r + 1}/${o.rounds}: killed node ${i} (term ${old.term}) → node ${cluster.indexOf(next.id)} leads term ${next.term}, all ${cluster.live().length} survivors knew in ${ms} ms`,
        )
      } catch (err) {
        failedRounds++
        o.say(`round ${r + 1}/${o.rounds}: FAILED: ${(err as Error).message}`)
        o.say(`  ${describeRound(seen, tKill, (id) => cluster.indexOf(id))}`)
        o.say(`  survivors without the new leader: ${await describeLaggards(cluster, old.id, tKill)}`)
      }
      cluster.spawnNode(i)
      try {
        await cluster.waitFor(
          () => cluster.nodes[i]?.ready && cluster.agreedLeader(),
          60_000,
          'the killed node back and agreeing',
        )
      } catch (err) {
        // No leader every live node agrees on: there is no leader to kill next. Report what ran.
        o.say(`after round ${r + 1}: ${(err as Error).message}; stopping the rounds`)
        o.say(`  nodes without the agreed leader: ${await describeLaggards(cluster, undefined, tKill)}`)
        break
      }
      if (settleS > 0 && r + 1 < o.rounds) {
        const back = Date.now() - (cluster.nodes[i]?.startedWallMs ?? Date.now())
        const cpu0 = cluster.usage(i)?.cpuS ?? 0
        await new Promise((res) => setTimeout(res, settleS * 1000))
        const cpuPct = (100 * ((cluster.usage(i)?.cpuS ?? 0) - cpu0)) / settleS
        o.say(
          `  node ${i} back and agreeing ${back} ms after its restart; its CPU over the next ${settleS} s: ${cpuPct.toFixed(1)}% of a core`,
        )
      }
    }
    const sorted = [...failoversMs].sort((a, b) => a - b)
    return {
      engine: o.engine,
      nodes: o.nodes,
      rounds: o.rounds,
      failoverP50Ms: quantile(sorted, 0.5),
      failoverP99Ms: quantile(sorted, 0.99),
      failoverMaxMs: sorted.at(-1) ?? Number.NaN,
      failoversMs,
      convergeMs,
      startedMs,
      bootstrapExpect: founders ?? o.nodes,
      launchPhases: phases.list(),
      launchDials: dials,
      nodesInShard,
      launchCpuSPerNode: round2(launchCpuSPerNode),
      idleCpuPctPerNode: round2(idleCpuPctPerNode),
      rssMbPerNode: round2(rssMbPerNode),
      failedRounds,
      roundSettleS: settleS,
      dataRoot: o.dataRoot,
    }
  } finally {
    await cluster.stopAll()
    unwatchNodes()
    unwatchDir()
    if (trace !== undefined) closeSync(trace)
    // A hang report lives in the silent node's data dir (the harness's hang watch): keep them all.
    if (cluster.hangCaptures.length > 0) o.say(`kept ${dir} for its hang reports`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

/** The N node processes' CPU seconds (user + system, /proc) so far, per node. */
function cpuSPerNode(cluster: LocalCluster): number {
  return round2(
    cluster.nodes.reduce((sum, _, i) => sum + (cluster.usage(i)?.cpuS ?? 0), 0) / cluster.init.nodes,
  )
}

/**
 * The launch's phases from the nodes' `launch:milestone` lines: each phase is recorded once, when
 * the last node needed logged it (its wall clock, ms after launch), with the CPU read right then.
 */
class LaunchPhases {
  private readonly phases: LaunchPhase[] = []

  add(phase: string, ms: number, cpu: number): void {
    if (!this.phases.some((p) => p.phase === phase)) this.phases.push({ phase, ms, cpuSPerNode: cpu })
  }

  /** Called on every milestone line until the first kill. */
  check(cluster: LocalCluster, t0: number): void {
    const nodes = cluster.nodes
    if (nodes.length < cluster.init.nodes) return
    const lastOf = (key: keyof NodeReport['milestones']): number | undefined => {
      let last = Number.NEGATIVE_INFINITY
      for (const n of nodes) {
        const at = n.milestones[key]
        if (at === undefined) return undefined
        last = Math.max(last, at)
      }
      return last - t0
    }
    const firstLeader = Math.min(
      ...nodes.map((n) => n.milestones['shard-leader'] ?? Number.POSITIVE_INFINITY),
    )
    const found: [string, number | undefined][] = [
      ['members', lastOf('members')],
      ['first-shard-leader', Number.isFinite(firstLeader) ? firstLeader - t0 : undefined],
      ['every-node-in-shard', lastOf('shard')],
      ['every-node-shard-leader', lastOf('shard-leader')],
    ]
    for (const [phase, ms] of found) {
      if (ms === undefined || this.phases.some((p) => p.phase === phase)) continue
      this.add(phase, ms, cpuSPerNode(cluster))
    }
  }

  list(): LaunchPhase[] {
    return [...this.phases].sort((a, b) => a.ms - b.ms)
  }

  describe(): string {
    return this.list()
      .map((p) => `${p.phase} ${(p.ms / 1000).toFixed(1)} s (${p.cpuSPerNode} CPU-s/node)`)
      .join(', ')
  }
}

/** Dials by frame summed over the nodes' `/metrics` (3 s each, in parallel), and connections now. */
async function launchDials(cluster: LocalCluster, basePort: number): Promise<LaunchDials> {
  const byFrame: Record<string, number> = {}
  const globalElection: Record<string, number> = {}
  let answered = 0
  let total = 0
  await Promise.all(
    cluster.nodes.map(async (n, i) => {
      if (!n.alive) return
      try {
        const res = await fetch(`http://127.0.0.1:${cluster.adminPort(i)}/metrics`, {
          signal: AbortSignal.timeout(3000),
        })
        const text = await res.text()
        answered++
        for (const m of text.matchAll(/^conclave_dials_total\{frame="([^"]+)"\} (\d+)$/gm)) {
          const v = Number(m[2])
          byFrame[m[1] as string] = (byFrame[m[1] as string] ?? 0) + v
          total += v
        }
        for (const m of text.matchAll(
          /^(conclave_(?:global_\w+|timer_lateness_ms_bucket)(?:\{[^}]*\})?) (\d+)$/gm,
        )) {
          const v = Number(m[2])
          if (v > 0) globalElection[m[1] as string] = (globalElection[m[1] as string] ?? 0) + v
        }
      } catch {
        // not answering within 3 s (a starved event loop): counted by `answered`
      }
    }),
  )
  return {
    answered,
    total,
    byFrame,
    connections: listenConnections(basePort, cluster.init.nodes),
    globalElection,
  }
}

/** Established TCP connections whose local port is one of the nodes' listen ports (/proc/net/tcp). */
function listenConnections(basePort: number, nodes: number): number {
  let n = 0
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f[3] !== '01') continue // ESTABLISHED
      const port = Number.parseInt(f[1]?.split(':')[1] ?? '', 16)
      if (port >= basePort && port < basePort + nodes) n++
    }
  }
  return n
}

/**
 * How a round unfolded, from the nodes' own leader:change logs: for each (leader, term) the nodes
 * reported, how many nodes reported it and when the first and the last did (ms after the kill).
 */
function describeRound(
  seen: readonly { i: number; leader: string | null; term: number; wallMs: number }[],
  tKill: number,
  indexOf: (id: string) => number,
): string {
  const byKey = new Map<string, { n: Set<number>; firstMs: number; lastMs: number }>()
  for (const e of seen) {
    const key = `${e.leader === null ? 'none' : `node ${indexOf(e.leader)}`} t${e.term}`
    const v = byKey.get(key) ?? { n: new Set<number>(), firstMs: Infinity, lastMs: -Infinity }
    v.n.add(e.i)
    v.firstMs = Math.min(v.firstMs, e.wallMs - tKill)
    v.lastMs = Math.max(v.lastMs, e.wallMs - tKill)
    byKey.set(key, v)
  }
  return [...byKey]
    .sort((a, b) => a[1].firstMs - b[1].firstMs)
    .map(([k, v]) => `${k}: ${v.n.size} nodes ${v.firstMs}..${v.lastMs} ms`)
    .join('; ')
}

/**
 * The live nodes that did not learn a new leader after the kill at `tKill` (or, without `old`,
 * that disagree with the most common leader): index, the leader and term they last logged, and
 * their process state and CPU from /proc (a node whose CPU does not move while it stays behind is
 * stalled, not busy), and its `/status` (3 s). At most 10 listed.
 */
async function describeLaggards(
  cluster: LocalCluster,
  old: string | undefined,
  tKill: number,
): Promise<string> {
  const live = cluster.live()
  const counts = new Map<string, number>()
  for (const n of live)
    if (n.leader?.id)
      counts.set(`${n.leader.id}/${n.leader.term}`, (counts.get(`${n.leader.id}/${n.leader.term}`) ?? 0) + 1)
  const common = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0]
  const behind = live.filter((n) =>
    old !== undefined
      ? !(n.leader?.id && n.leader.id !== old && n.leader.wallMs >= tKill)
      : `${n.leader?.id}/${n.leader?.term}` !== common,
  )
  const shown = behind.slice(0, 10).map(async (n) => {
    const lead = n.leader?.id ? `node ${cluster.indexOf(n.leader.id)} t${n.leader.term}` : 'none'
    let proc = ''
    try {
      const stat = parseProcStat(readFileSync(`/proc/${n.pid}/stat`, 'utf8'))
      // wchan: where a sleeping main thread waits in the kernel (e.g. pipe_write: a full stderr pipe)
      const wchan = readFileSync(`/proc/${n.pid}/wchan`, 'utf8').trim() || '-'
      proc = `, state ${stat.state} (wchan ${wchan}), ${((stat.utimeTicks + stat.stimeTicks) / 100).toFixed(2)} CPU-s`
    } catch {
      proc = ', no /proc entry'
    }
    let status = 'no /status within 3 s'
    try {
      const res = await fetch(`http://127.0.0.1:${cluster.adminPort(n.index)}/status`, {
        signal: AbortSignal.timeout(3000),
      })
      const st = (await res.json()) as Record<string, unknown>
      const idx = (id: unknown) => (typeof id === 'string' ? `node ${cluster.indexOf(id)}` : 'none')
      status = `role ${st.role}, shard ${st.shard}, shard leader ${idx(st.shardLeader)} t${st.shardTerm}, global leader ${idx(st.globalLeader)} t${st.globalTerm}, members ${JSON.stringify(st.members)}`
    } catch {
      // not answering: a starved or stalled event loop
    }
    return `node ${n.index} (last logged ${lead}${proc}; ${status})`
  })
  const lines = await Promise.all(shown)
  return `${behind.length} of ${live.length}${lines.length > 0 ? `: ${lines.join('; ')}` : ''}`
}

/** Nearest-rank quantile of sorted values (NaN when empty). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.max(1, Math.ceil(q * sorted.length))
  return sorted[rank - 1] as number
}

function round2(x: number): number {
  return Math.round(x * 100) / 100
}

/**
 * Where benchmarks keep data dirs by default: tmpfs (/dev/shm) when present. fsync there costs
 * microseconds instead of 3–100 ms on this machine's shared disk (measured: up to 100 ms per
 * persist with 25 nodes fsyncing at once), so the figures measure the protocol and the network,
 * not the disk. Durability against process crashes (kill -9) is unchanged — the page cache
 * survives the process; durability against machine crashes is not exercised. `--data-root`
 * chooses a disk instead.
 */
export function defaultDataRoot(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
}
