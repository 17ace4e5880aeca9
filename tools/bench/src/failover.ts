/**
 * Failover benchmark on real processes: N `conclave` node processes on 127.0.0.1 (one OS
 * process and one libp2p node each), then R times: kill -9 the process of the global leader
 * every live node agrees on, and measure until every live node has reported a new leader
 * (failover = the last survivor's wall-clock time of learning it − the kill time; all processes
 * share one clock). The killed node is restarted from its data dir before the next round, so
 * the cluster stays at N. Every figure printed is measured in this run.
 */
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalCluster } from '@conclave/node/harness'

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

export async function runFailover(o: FailoverOptions): Promise<FailoverResult> {
  const dir = mkdtempSync(join(o.dataRoot, 'conclave-bench-'))
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
    },
    nodes: o.nodes,
    startBatch: o.startBatch,
    dir,
    basePort: o.basePort,
    adminBasePort: o.basePort + 2000,
    engine: o.engine,
    preset: o.preset,
  })
  try {
    const t0 = Date.now()
    await cluster.start()
    await cluster.waitFor(
      () => cluster.nodes.every((n) => n.ready),
      30_000 + o.nodes * 1500,
      'all nodes started',
    )
    const startedMs = Date.now() - t0
    o.say(`${o.nodes} processes started in ${startedMs} ms (${o.startBatch ?? 5} starting at a time)`)
    const launchCpuS = () => cluster.nodes.reduce((sum, _, i) => sum + (cluster.usage(i)?.cpuS ?? 0), 0)
    try {
      await cluster.waitFor(() => cluster.agreedLeader(), o.convergeWaitMs ?? 60_000, 'a leader known by all')
    } catch (err) {
      o.say(`the ${o.nodes} processes had used ${launchCpuS().toFixed(1)} CPU-s together`)
      throw err
    }
    const convergeMs = Date.now() - t0
    const launchCpuSPerNode = launchCpuS() / o.nodes
    o.say(
      `leader known by all ${convergeMs} ms after launch; the nodes had used ${launchCpuSPerNode.toFixed(2)} CPU-s each`,
    )

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
    const settleS = o.roundSettleS ?? 3
    for (let r = 0; r < o.rounds; r++) {
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
      }
      cluster.spawnNode(i)
      await cluster.waitFor(
        () => cluster.nodes[i]?.ready && cluster.agreedLeader(),
        60_000,
        'the killed node back and agreeing',
      )
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
      launchCpuSPerNode: round2(launchCpuSPerNode),
      idleCpuPctPerNode: round2(idleCpuPctPerNode),
      rssMbPerNode: round2(rssMbPerNode),
      failedRounds,
      roundSettleS: settleS,
      dataRoot: o.dataRoot,
    }
  } finally {
    await cluster.stopAll()
    if (trace !== undefined) closeSync(trace)
    // A hang report lives in the silent node's data dir (the harness's hang watch): keep them all.
    if (cluster.hangCaptures.length > 0) o.say(`kept ${dir} for its hang reports`)
    else rmSync(dir, { recursive: true, force: true })
  }
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
