/**
 * Idle cost of a real local cluster: N `conclave` node processes on 127.0.0.1, wait until a
 * leader is known by all, then measure over a quiet window, per process, the CPU of each thread
 * (from /proc/<pid>/task/<tid>/stat: the main thread runs JavaScript and the event loop, the
 * others are V8's GC helpers and libuv's pool), the resident memory, and the frames each node
 * sent by layer/type (from its /metrics). With `--cpu-prof DIR` every node also writes a V8 CPU
 * profile of its main thread there when it stops (the profiler itself costs CPU: compare windows
 * with and without it, never mix them). Every figure printed is measured in this run.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { killNodesOnExit, LocalCluster, onExitCleanup } from '@conclave/node/harness'
import { quantile } from './failover.js'

export interface IdleOptions {
  nodes: number
  windowS: number
  preset: 'lan' | 'local' | 'wan'
  basePort: number
  dataRoot: string
  /** Directory for the nodes' V8 CPU profiles (`node --cpu-prof`); undefined: no profiler. */
  cpuProfDir?: string
  /** Extra `node` flags for every node process (e.g. `--max-semi-space-size=1`). */
  nodeArgs?: string[]
  /** Seconds between the first leader known by all and the window. Default 5. */
  settleS?: number
  say(line: string): void
}

export interface IdleResult {
  nodes: number
  windowS: number
  convergeMs: number
  /** Per node, % of one core over the window: all threads, main thread, the other threads. */
  cpuPctPerNode: { p50: number; p99: number; mean: number }
  mainThreadPctPerNode: { p50: number; mean: number }
  otherThreadsPctPerNode: { p50: number; mean: number }
  /** The node with the most CPU (often the global or a shard leader), % of a core. */
  busiestPct: number
  /**
   * CPU per node (% of a core, all threads) by the role the node reported (GET /status) at the
   * end of the window: the global leader, the other shard leaders, everyone else. A leader sends
   * and receives several times a follower's frames, so the mean over nodes moves with them.
   */
  cpuPctByRole: Record<string, { nodes: number; mean: number; max: number }>
  /**
   * The per-node budget of each role (means over its nodes, per second unless marked): CPU of the
   * main thread and of the others (% of a core), wake-ups (as wakeupsPerSecPerNode), the driver's
   * timer ticks, frames sent (all types) and received (all layers), socket-level read and write
   * system calls. What a cut of frames or wake-ups can save, role by role.
   */
  budgetByRole: Record<
    string,
    {
      nodes: number
      mainPct: number
      otherPct: number
      wakeups: number
      driverTicks: number
      framesSent: number
      framesReceived: number
      reads: number
      writes: number
    }
  >
  /**
   * Voluntary context switches of the main thread per second per node (/proc/<pid>/status): each
   * is the event loop going to sleep in epoll, i.e. one wake-up (a timer or a socket read) per
   * switch. Independent of host load, like the system calls.
   */
  wakeupsPerSecPerNode: { mean: number; p50: number }
  rssMbPerNode: number
  /**
   * read/write system calls per second per node (from /proc/<pid>/io syscr, syscw): socket reads
   * and writes, plus the odd file or pipe access (the JSON log). Independent of host load, so a
   * change that saves frames shows here even when the CPU figures are noisy.
   */
  syscallsPerSecPerNode: { read: number; write: number }
  /** Frames sent per second per node, by layer/type, averaged over the nodes (and the driver's timer wake-ups per second). */
  framesPerSecByType: Record<string, number>
  /**
   * Lifeguard local health of the nodes (conclave_local_health) at the start and the end of the
   * window: SWIM probes run every (1 + health) probe intervals, so this is why an idle node probes
   * less often than the preset's interval.
   */
  localHealth: { meanAtStart: number; meanAtEnd: number; maxAtEnd: number }
  /**
   * Leases that ran out between two rounds of the same term during the window, summed over the
   * nodes, by scope (conclave_lease_lapses_total): count and total ms without a lease. 0 = the
   * global leader's isLeader() and every shard leader's lease were continuous.
   */
  leaseLapsesInWindow: Record<string, { count: number; ms: number }>
  /** leader:change log lines of all nodes during the window (0 = the cluster was really idle). */
  leaderChangesInWindow: number
  loadAvg: number[]
}

type ThreadTicks = Map<string, { name: string; ticks: number }>

/** utime + stime of each thread of `pid`, in clock ticks (USER_HZ = 100 on Linux). */
export function threadTicks(pid: number): ThreadTicks {
  const out: ThreadTicks = new Map()
  let tids: string[] = []
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.set(tid, { name, ticks: Number(fields[11]) + Number(fields[12]) })
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out
}

/** read and write system calls of `pid` so far (undefined once it is gone). */
function syscalls(pid: number): { read: number; write: number } | undefined {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8')
    return { read: Number(/^syscr: (\d+)/m.exec(io)?.[1]), write: Number(/^syscw: (\d+)/m.exec(io)?.[1]) }
  } catch {
    return undefined
  }
}

/** Voluntary context switches of the main thread of `pid` so far (undefined once it is gone). */
function voluntarySwitches(pid: number): number | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8')
    return Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1])
  } catch {
    return undefined
  }
}

async function role(port: number): Promise<string> {
  try {
    const st = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { role?: string }
    return st.role === 'global-leader' || st.role === 'shard-leader' ? st.role : 'other'
  } catch {
    return 'unknown'
  }
}

/** Not a rate: the Lifeguard local health gauge, read at the start and at the end of the window. */
const HEALTH = '(local health)'
/** Prefix of the lease-lapse counters ("(lease lapse) global count"): not frames. */
const LAPSE = '(lease lapse) '
/** Frames received, all layers: kept out of the sent-frame table. */
const RECEIVED = '(frames received)'

async function sentFrames(port: number): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    for (const m of text.matchAll(/^conclave_messages_sent_total\{type="([^"]+)"\} (\d+)/gm))
      out.set(m[1] as string, Number(m[2]))
    let received = 0
    for (const m of text.matchAll(/^conclave_messages_received_total\{layer="[^"]+"\} (\d+)/gm))
      received += Number(m[1])
    out.set(RECEIVED, received)
    const ticks = /^conclave_driver_timer_ticks_total (\d+)/m.exec(text)
    if (ticks) out.set('(driver timer ticks)', Number(ticks[1]))
    const stalls = /^conclave_process_stalls_total\{what="reported"\} (\d+)/m.exec(text)
    if (stalls) out.set('(stalls reported to Lifeguard)', Number(stalls[1]))
    for (const m of text.matchAll(/^conclave_lease_lapse(s|_ms)_total\{scope="([^"]+)"\} (\d+)/gm))
      out.set(`${LAPSE}${m[2]} ${m[1] === 's' ? 'count' : 'ms'}`, Number(m[3]))
    const health = /^conclave_local_health (\d+)/m.exec(text)
    if (health) out.set(HEALTH, Number(health[1]))
  } catch {
    // a node that does not answer contributes nothing
  }
  return out
}

export async function runIdle(o: IdleOptions): Promise<IdleResult> {
  const dir = mkdtempSync(join(o.dataRoot, 'conclave-idle-'))
  if (o.cpuProfDir) mkdirSync(o.cpuProfDir, { recursive: true })
  let leaderChanges = 0
  const cluster = new LocalCluster({
    onLog: (_i, line) => {
      if (line.msg === 'leader:change') leaderChanges++
    },
    nodes: o.nodes,
    dir,
    basePort: o.basePort,
    adminBasePort: o.basePort + 2000,
    preset: o.preset,
    nodeArgs: [
      ...(o.nodeArgs ?? []),
      ...(o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : []),
    ],
  })
  // Ctrl-C or `timeout` skip the finally below: the nodes and the dir (unless it holds a hang
  // report) go on a signal too.
  const unwatchNodes = killNodesOnExit(cluster)
  const unwatchDir = onExitCleanup(() => {
    if (cluster.hangCaptures.length === 0) rmSync(dir, { recursive: true, force: true })
  })
  try {
    const t0 = Date.now()
    await cluster.start()
    await cluster.waitFor(() => cluster.agreedLeader(), 90_000, 'a leader known by all')
    const convergeMs = Date.now() - t0
    const settleS = o.settleS ?? 5
    o.say(
      `leader known by all ${convergeMs} ms after launch; settling ${settleS} s, then a ${o.windowS} s window`,
    )
    await new Promise((r) => setTimeout(r, settleS * 1000))
    const pids = cluster.nodes.map((n) => n.pid as number)
    const framesBefore = await Promise.all(cluster.nodes.map((_, i) => sentFrames(cluster.adminPort(i))))
    const before = pids.map(threadTicks)
    const ioBefore = pids.map(syscalls)
    const switchesBefore = pids.map(voluntarySwitches)
    const changes0 = leaderChanges
    const w0 = Date.now()
    await new Promise((r) => setTimeout(r, o.windowS * 1000))
    const after = pids.map(threadTicks)
    const ioAfter = pids.map(syscalls)
    const switchesAfter = pids.map(voluntarySwitches)
    const changesInWindow = leaderChanges - changes0
    const windowS = (Date.now() - w0) / 1000
    const framesAfter = await Promise.all(cluster.nodes.map((_, i) => sentFrames(cluster.adminPort(i))))
    const roles = await Promise.all(cluster.nodes.map((_, i) => role(cluster.adminPort(i))))
    const s = (xs: number[]) => [...xs].sort((a, b) => a - b)
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
    const total: number[] = []
    const main: number[] = []
    const other: number[] = []
    const byThread = new Map<string, number>()
    pids.forEach((pid, i) => {
      let t = 0
      let m = 0
      for (const [tid, a] of after[i] ?? new Map()) {
        const d = a.ticks - ((before[i] as ThreadTicks).get(tid)?.ticks ?? 0)
        t += d
        if (Number(tid) === pid) m += d
        const name = a.name.replace(/[0-9]+$/, '#')
        byThread.set(name, (byThread.get(name) ?? 0) + d)
      }
      total.push(t / windowS)
      main.push(m / windowS)
      other.push((t - m) / windowS)
    })
    const types = new Map<string, number>()
    const healthAt = (ms: Map<string, number>[]) => ms.map((m) => m.get(HEALTH) ?? 0)
    framesAfter.forEach((m, i) => {
      for (const [k, v] of m)
        if (k !== HEALTH && k !== RECEIVED && !k.startsWith(LAPSE))
          types.set(k, (types.get(k) ?? 0) + v - (framesBefore[i]?.get(k) ?? 0))
    })
    const framesPerSecByType: Record<string, number> = {}
    for (const [k, v] of [...types].sort((a, b) => b[1] - a[1]))
      framesPerSecByType[k] = round2(v / windowS / o.nodes)
    // Each node's read and write system calls per second, once: undefined where /proc was
    // unreadable at either end (left out of the sums, 0 in its role's budget, as the wake-ups).
    const ioRate = pids.map((_, i) => {
      const a = ioBefore[i]
      const b = ioAfter[i]
      return a && b ? { read: (b.read - a.read) / windowS, write: (b.write - a.write) / windowS } : undefined
    })
    const ioSum = (k: 'read' | 'write') => ioRate.reduce((n, r) => n + (r?.[k] ?? 0), 0)
    const byRole = new Map<string, number[]>()
    total.forEach((pct, i) => {
      const r = roles[i] as string
      byRole.set(r, [...(byRole.get(r) ?? []), pct])
    })
    const cpuPctByRole: IdleResult['cpuPctByRole'] = {}
    for (const [r, xs] of [...byRole].sort())
      cpuPctByRole[r] = { nodes: xs.length, mean: round2(mean(xs)), max: round2(Math.max(...xs)) }
    // Each node's wake-ups per second, once: undefined where /proc was unreadable at either end
    // (left out of the mean over nodes, 0 in its role's budget).
    const wakeupRate = pids.map((_, i) => {
      const a = switchesBefore[i]
      const b = switchesAfter[i]
      return a !== undefined && b !== undefined ? (b - a) / windowS : undefined
    })
    const wakeups = wakeupRate.filter((w) => w !== undefined)
    const rate = (i: number, k: string) =>
      ((framesAfter[i]?.get(k) ?? 0) - (framesBefore[i]?.get(k) ?? 0)) / windowS
    const sentRate = (i: number) => {
      let n = 0
      for (const [k, v] of framesAfter[i] ?? new Map<string, number>())
        if (!k.startsWith('(')) n += v - (framesBefore[i]?.get(k) ?? 0)
      return n / windowS
    }
    const budgetByRole: IdleResult['budgetByRole'] = {}
    for (const r of [...new Set(roles)].sort()) {
      const ix = roles.flatMap((x, i) => (x === r ? [i] : []))
      const m = (f: (i: number) => number) => round2(mean(ix.map(f)))
      budgetByRole[r] = {
        nodes: ix.length,
        mainPct: m((i) => main[i] as number),
        otherPct: m((i) => other[i] as number),
        wakeups: m((i) => wakeupRate[i] ?? 0),
        driverTicks: m((i) => rate(i, '(driver timer ticks)')),
        framesSent: m(sentRate),
        framesReceived: m((i) => rate(i, RECEIVED)),
        reads: m((i) => ioRate[i]?.read ?? 0),
        writes: m((i) => ioRate[i]?.write ?? 0),
      }
    }
    const leaseLapsesInWindow: IdleResult['leaseLapsesInWindow'] = {}
    for (const scope of ['global', 'shard']) {
      const sum = (what: string) =>
        framesAfter.reduce((n, m, i) => {
          const k = `${LAPSE}${scope} ${what}`
          return n + (m.get(k) ?? 0) - (framesBefore[i]?.get(k) ?? 0)
        }, 0)
      leaseLapsesInWindow[scope] = { count: sum('count'), ms: sum('ms') }
    }
    const rss = cluster.nodes.map((_, i) => cluster.usage(i)?.rssMb ?? 0)
    o.say(
      `CPU by thread name (sum over nodes, % of a core): ${[...byThread]
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${(v / windowS).toFixed(1)}`)
        .join(', ')}`,
    )
    return {
      nodes: o.nodes,
      windowS: round2(windowS),
      convergeMs,
      cpuPctPerNode: {
        p50: round2(quantile(s(total), 0.5)),
        p99: round2(quantile(s(total), 0.99)),
        mean: round2(mean(total)),
      },
      mainThreadPctPerNode: { p50: round2(quantile(s(main), 0.5)), mean: round2(mean(main)) },
      otherThreadsPctPerNode: { p50: round2(quantile(s(other), 0.5)), mean: round2(mean(other)) },
      busiestPct: round2(Math.max(...total)),
      cpuPctByRole,
      budgetByRole,
      wakeupsPerSecPerNode: { mean: round2(mean(wakeups)), p50: round2(quantile(s(wakeups), 0.5)) },
      rssMbPerNode: round2(mean(rss)),
      syscallsPerSecPerNode: {
        read: round2(ioSum('read') / o.nodes),
        write: round2(ioSum('write') / o.nodes),
      },
      framesPerSecByType,
      localHealth: {
        meanAtStart: round2(mean(healthAt(framesBefore))),
        meanAtEnd: round2(mean(healthAt(framesAfter))),
        maxAtEnd: Math.max(0, ...healthAt(framesAfter)),
      },
      leaseLapsesInWindow,
      leaderChangesInWindow: changesInWindow,
      loadAvg: (await import('node:os')).loadavg().map(round2),
    }
  } finally {
    // SIGTERM: a graceful exit, so --cpu-prof writes its profiles.
    await cluster.stopAll(o.cpuProfDir ? 'SIGTERM' : 'SIGKILL')
    unwatchNodes()
    unwatchDir()
    // A hang report lives in the silent node's data dir (the harness's hang watch): keep them all.
    if (cluster.hangCaptures.length > 0) o.say(`kept ${dir} for its hang reports`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100
}
