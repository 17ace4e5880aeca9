/**
 * A cluster of real `conclave` node processes on 127.0.0.1, for the real-process tests, the
 * failover benchmark and the demo. Every node is its own OS process (its own libp2p node, key and
 * data dir); the harness only spawns, kills and restarts them, and reads what each node reports
 * in its JSON log (`started`, `leader:change` with the node's wall-clock time). It never decides
 * who leads. While one of its waits drags on, it watches the nodes' admin HTTP and captures a node
 * that stops answering (hang-watch.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { loadOrCreatePrivateKey } from '@conclave/core'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  captureHang,
  type HangWatchInit,
  hangWatchSettings,
  parseDebuggerUrl,
  probeAdmin,
  SilenceTracker,
  silentMsFor,
} from './hang-watch.js'

export { killNodesOnExit, onExitCleanup, removeDirOnExit } from './exit-cleanup.js'
export { type HangWatchInit, parseProcStat } from './hang-watch.js'
export { TEST_PORT_BLOCKS, type TestPorts, type TestSuite, testPorts } from './test-ports.js'

export const CONCLAVE_BIN = fileURLToPath(new URL('../../bin/conclave.mjs', import.meta.url))
const BUILD_SCRIPT = new URL('../../bin/build.mjs', import.meta.url).href

export interface LocalClusterInit {
  nodes: number
  /** Parent directory for the nodes' data dirs. */
  dir: string
  /** First TCP port; node i listens on basePort + i and serves admin HTTP on adminBasePort + i. */
  basePort: number
  adminBasePort?: number
  /**
   * A free port to move a node to when its own was taken by someone else between the caller's
   * check and the node's bind (testPorts' sparePort). With it, a node that exits before `started`
   * because its listen or admin port is in use (EADDRINUSE) is spawned once more with that port
   * replaced (addr(i) and adminPort(i) say where it is). A node spawned before the move has the
   * old address among its seeds; it reaches the moved node through the other seeds' gossip.
   * Default none: such a node stays down.
   */
  sparePort?(): Promise<number | undefined>
  engine?: 'conclave' | 'flat-raft'
  preset?: 'lan' | 'local' | 'wan'
  /** How many of the first nodes every other node bootstraps through (conclave engine). Default 3. */
  seedsMax?: number
  logLevel?: string
  /** conclave engine: members to wait for before the first election. Default: nodes. */
  bootstrapExpect?: number
  /**
   * conclave engine: form the cluster from its first `founders` nodes, as an operator does with
   * Consul's or Nomad's bootstrap_expect: only they get `--bootstrap-expect=founders`, start()
   * spawns them first and waits until they agree on a leader and each is in a shard, then spawns
   * the others with seeds only (they join the running cluster: observers that the global leader
   * assigns to shards, docs/protocol.md "Joining"). Overrides bootstrapExpect. Default: unset
   * (every node gets bootstrapExpect and they all start together).
   */
  founders?: number
  /**
   * Every node logs `launch:milestone` lines (apps/node/src/launch-milestones.ts): the bench's launch
   * timeline. Recorded in NodeReport.milestones. Default false.
   */
  launchMilestones?: boolean
  /** Nodes started by start(); the rest have keys and can be started later with spawnNode. Default: nodes. */
  initialNodes?: number
  /** Processes starting at once (spawned, not yet logged `started`); the next is spawned as one is up. Default 5. */
  startBatch?: number
  /** Extra `node` flags for every node process (e.g. `--cpu-prof`). Default none. */
  nodeArgs?: string[]
  /** Called for every JSON log line of every node. */
  onLog?(index: number, line: Record<string, unknown>): void
  /** More `conclave start` flags for node i (e.g. `--psk-file`, `--admin-token`). Default none. */
  extraArgs?(index: number): string[]
  /** Environment variables added for node i (test hooks). Default none. */
  extraEnv?(index: number): Record<string, string>
  /** The hang watch (hang-watch.ts): its settings, or false for none. Default on, with its defaults. */
  hangWatch?: HangWatchInit | false
  /** Called when a silent node was captured. Default: a line on stderr. */
  onHang?(index: number, capture: HangCapture): void
}

export interface HangCapture {
  index: number
  pid: number
  /** The report in the node's data dir. */
  path: string
  /** Spinning, blocked or stopped, with the figures that say so. */
  verdict: string
}

/** Last stderr lines kept per node for a hang report. */
const TAIL_LINES = 30
const TAIL_LINE_CHARS = 2000

export interface NodeReport {
  id: string
  index: number
  pid: number | undefined
  alive: boolean
  ready: boolean
  /** Last leader this node logged, with the node's wall clock when it learned it. */
  leader: { id: string | null; term: number; wallMs: number } | undefined
  startedWallMs: number
  /** `launch:milestone` lines this process logged (node wall clock), when launchMilestones is on. */
  milestones: Partial<Record<'members' | 'shard' | 'shard-leader', number>>
  exit: Promise<number | null> | undefined
  /** The inspector's URL once the node printed it (after SIGUSR1; the hang watch). */
  inspectorUrl?: string
}

export class LocalCluster {
  readonly ids: string[] = []
  readonly nodes: NodeReport[] = []
  private readonly procs: (ChildProcess | undefined)[] = []
  private listeners = new Set<() => void>()
  private bundle = CONCLAVE_BIN
  private sourceMapFile: string | undefined
  private readonly tails: string[][] = []
  /** Hang reports written so far (bounded by the watch's capturesMax). */
  readonly hangCaptures: HangCapture[] = []
  private readonly capturing = new Set<Promise<void>>()
  private readonly captured = new Set<number>()
  private readonly probing = new Map<number, number>()
  private silence: SilenceTracker | undefined
  /** Ports a node was moved to (sparePort); at most one move per node. */
  private readonly movedListen = new Map<number, number>()
  private readonly movedAdmin = new Map<number, number>()
  private readonly moved = new Set<number>()

  constructor(readonly init: LocalClusterInit) {}

  /** Create the keys (so every peer id is known up front) and spawn every node. */
  async start(): Promise<void> {
    mkdirSync(this.init.dir, { recursive: true })
    // Build the bundle once here, so N processes do not race to rebuild it.
    const { ensureBuilt, BUNDLE } = (await import(BUILD_SCRIPT)) as {
      ensureBuilt(): Promise<string>
      BUNDLE: string
    }
    this.bundle = await ensureBuilt()
    this.sourceMapFile = `${BUNDLE}.map`
    for (let i = 0; i < this.init.nodes; i++) {
      const key = await loadOrCreatePrivateKey(this.dataDir(i))
      this.ids.push(peerIdFromPrivateKey(key).toString())
    }
    // At most `startBatch` processes starting at once (a sliding window, not batches that wait for
    // their slowest member): N processes loading at once on 2 cores slow every handshake.
    const window = this.init.startBatch ?? 5
    const initial = this.init.initialNodes ?? this.init.nodes
    const starting = (upTo: number) => {
      let n = 0
      for (let j = 0; j < upTo; j++) if (this.nodes[j]?.alive && !this.nodes[j]?.ready) n++
      return n
    }
    let next = 0
    const founders = this.founders()
    if (founders !== undefined && founders < initial) {
      // The founders alone first: a founder that saw a joiner alive before its view held every
      // founder would deal a different bootstrap map (the K smallest ids it sees).
      while (next < founders) {
        while (next < founders && starting(next) < window) this.spawnNode(next++)
        await this.waitFor(
          () => next >= founders || starting(next) < window,
          60_000,
          `founder ${next} to start`,
        )
      }
      await this.waitFor(
        () => {
          const f = this.nodes.slice(0, founders)
          const first = f[0]?.leader
          return (
            first?.id &&
            f.every(
              (n) =>
                n.milestones.shard !== undefined && n.leader?.id === first.id && n.leader.term === first.term,
            )
          )
        },
        60_000,
        `the ${founders} founders to agree on a leader`,
      )
    }
    while (next < initial) {
      while (next < initial && starting(next) < window) this.spawnNode(next++)
      await this.waitFor(
        () => next >= initial || starting(next) < window,
        60_000,
        `node ${next - window} to start`,
      )
    }
    await this.waitFor(
      () => this.nodes.slice(0, initial).every((n) => n?.ready || !n?.alive),
      60_000,
      'every node to start',
    )
  }

  dataDir(i: number): string {
    return join(this.init.dir, `node-${i}`)
  }

  addr(i: number): string {
    return `/ip4/127.0.0.1/tcp/${this.listenPort(i)}/p2p/${this.ids[i]}`
  }

  listenPort(i: number): number {
    return this.movedListen.get(i) ?? this.init.basePort + i
  }

  adminPort(i: number): number {
    return this.movedAdmin.get(i) ?? (this.init.adminBasePort ?? this.init.basePort + 1000) + i
  }

  /** The founders count when the cluster forms from its first nodes (conclave engine only). */
  private founders(): number | undefined {
    const f = this.init.founders
    return (this.init.engine ?? 'conclave') === 'conclave' && f !== undefined
      ? Math.min(f, this.init.nodes)
      : undefined
  }

  private args(i: number): string[] {
    const engine = this.init.engine ?? 'conclave'
    const seedsMax = this.init.seedsMax ?? 3
    const seeds =
      engine === 'flat-raft'
        ? this.ids.map((_, j) => j).filter((j) => j !== i)
        : [...Array(Math.min(seedsMax, this.init.nodes)).keys()].filter((j) => j !== i)
    const args = [
      'start',
      `--data-dir=${this.dataDir(i)}`,
      `--listen=/ip4/127.0.0.1/tcp/${this.listenPort(i)}`,
      `--admin=127.0.0.1:${this.adminPort(i)}`,
      `--engine=${engine}`,
      `--preset=${this.init.preset ?? 'local'}`,
      `--log-level=${this.init.logLevel ?? 'info'}`,
    ]
    if (seeds.length > 0) args.push(`--bootstrap=${seeds.map((j) => this.addr(j)).join(',')}`)
    // Every node computes the same bootstrap shard map once N members are alive (docs/protocol.md).
    // With founders, only they do; the others join through the seeds (the first nodes).
    const founders = this.founders()
    if (founders !== undefined) {
      if (i < founders) args.push(`--bootstrap-expect=${founders}`)
    } else if (engine === 'conclave')
      args.push(`--bootstrap-expect=${this.init.bootstrapExpect ?? this.init.nodes}`)
    if (engine === 'flat-raft') args.push(`--voters=${this.ids.join(',')}`)
    args.push(...(this.init.extraArgs?.(i) ?? []))
    return args
  }

  spawnNode(i: number): void {
    // --inspect-port=0 starts nothing: it only lets SIGUSR1 (the hang watch) open the inspector on
    // a free port, which the node then prints on stderr.
    const inspect = this.init.hangWatch === false ? [] : ['--inspect-port=127.0.0.1:0']
    const milestones = this.init.launchMilestones || this.founders() !== undefined
    const env = {
      ...process.env,
      ...(milestones ? { CONCLAVE_LAUNCH_MEMBERS: String(this.init.nodes) } : {}),
      ...this.init.extraEnv?.(i),
    }
    const child = spawn(
      process.execPath,
      [...inspect, ...(this.init.nodeArgs ?? []), this.bundle, ...this.args(i)],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env,
      },
    )
    this.procs[i] = child
    const report: NodeReport = {
      id: this.ids[i] as string,
      index: i,
      pid: child.pid,
      alive: true,
      ready: false,
      leader: undefined,
      startedWallMs: Date.now(),
      milestones: {},
      exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    }
    this.nodes[i] = report
    let inUse: number | undefined // a port this process could not bind, from its stderr
    const mayMove = () => !report.ready && this.init.sparePort !== undefined && !this.moved.has(i)
    child.once('exit', () => {
      // The reason a process that never started exited may still be in the stderr pipe at 'exit':
      // decided at 'close', once every line is read.
      if (mayMove()) return
      report.alive = false
      this.notify()
    })
    child.once('close', () => {
      if (!report.alive) return
      if (inUse !== undefined && mayMove()) {
        this.moved.add(i)
        void this.moveAndRespawn(i, inUse, report)
        return
      }
      report.alive = false
      this.notify()
    })
    const tail: string[] = []
    this.tails[i] = tail
    const rl = createInterface({ input: child.stderr as NodeJS.ReadableStream })
    rl.on('line', (text) => {
      tail.push(text.slice(0, TAIL_LINE_CHARS))
      if (tail.length > TAIL_LINES) tail.shift()
      let line: Record<string, unknown>
      try {
        line = JSON.parse(text) as Record<string, unknown>
      } catch {
        line = { level: 'raw', msg: text }
        const url = parseDebuggerUrl(text)
        if (url) report.inspectorUrl = url
      }
      if (line.msg === 'started') report.ready = true
      // libp2p's and the admin server's bind errors: "listen EADDRINUSE: address already in use
      // 127.0.0.1:PORT". Both print before the process exits (the exit comes from the error).
      const clash = /EADDRINUSE\b.*127\.0\.0\.1:(\d+)/.exec(text)
      if (clash && !report.ready) inUse ??= Number(clash[1])
      if (line.msg === 'launch:milestone') {
        const what = line.what
        if (what === 'members' || what === 'shard' || what === 'shard-leader')
          report.milestones[what] = Number(line.wallMs)
      }
      if (line.msg === 'leader:change') {
        report.leader = {
          id: (line.leader as string | null) ?? null,
          term: Number(line.term),
          wallMs: Number(line.wallMs),
        }
      }
      this.init.onLog?.(i, line)
      this.notify()
    })
  }

  /**
   * Node i exited before `started` because `port`, one of its own, was in use: spawn it again with
   * that port replaced by a spare one. Its report stays alive (not started) until the new process
   * has its own, so a wait for every node to start does not end in between.
   */
  private async moveAndRespawn(i: number, port: number, report: NodeReport): Promise<void> {
    const spare =
      port === this.listenPort(i) || port === this.adminPort(i) ? await this.init.sparePort?.() : undefined
    report.alive = false
    if (spare !== undefined) {
      const which = port === this.listenPort(i) ? this.movedListen : this.movedAdmin
      which.set(i, spare)
      process.stderr.write(`[harness] node ${i}: port ${port} in use at start; restarted on ${spare}\n`)
      this.spawnNode(i)
    }
    this.notify()
  }

  /** SIGKILL (crash) or SIGTERM (graceful leave). Resolves when the process is gone. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.procs[i]
    const report = this.nodes[i]
    if (!child || !report?.alive) return
    child.kill(signal)
    await report.exit
  }

  live(): NodeReport[] {
    return this.nodes.filter((n) => n.alive)
  }

  /** The leader every live node agrees on (same id and term), or undefined. */
  agreedLeader(): { id: string; term: number } | undefined {
    const live = this.live()
    const first = live[0]?.leader
    if (!first?.id) return undefined
    for (const n of live) if (n.leader?.id !== first.id || n.leader.term !== first.term) return undefined
    return { id: first.id, term: first.term }
  }

  /**
   * The agreed leader once it is another node than `old`, in a higher term: what a test waits
   * for after killing or stopping `old` (`waitFor(() => cluster.newLeaderThan(old), …)`).
   */
  newLeaderThan(old: { id: string; term: number }): { id: string; term: number } | undefined {
    const a = this.agreedLeader()
    return a && a.id !== old.id && a.term > old.term ? a : undefined
  }

  indexOf(id: string): number {
    return this.ids.indexOf(id)
  }

  /** Wait (event-driven, with a deadline) until `cond` holds; throws with `what` on timeout. */
  async waitFor<T>(cond: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
    const t0 = Date.now()
    const deadline = t0 + timeoutMs
    for (;;) {
      const v = cond()
      if (v) return v
      this.watchTick(Date.now() - t0)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${this.notReady()}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(left, 250))
        function done() {
          clearTimeout(t)
          listeners.delete(done)
          resolve()
        }
        const listeners = this.listeners
        listeners.add(done)
      })
    }
  }

  /** For a timeout's message: the nodes that exited or never logged `started`, with their last line. */
  private notReady(): string {
    const bad = this.nodes.filter((n) => n && (!n.alive || !n.ready))
    if (bad.length === 0) return ''
    return ` (${bad
      .slice(0, 5)
      .map(
        (n) =>
          `node ${n.index} ${n.alive ? 'not started' : 'exited'}: ${(this.tails[n.index]?.at(-1) ?? '').slice(0, 300)}`,
      )
      .join('; ')})`
  }

  async status(i: number): Promise<Record<string, unknown>> {
    const res = await fetch(`http://127.0.0.1:${this.adminPort(i)}/status`)
    return (await res.json()) as Record<string, unknown>
  }

  /** Resident set size (MB) and total CPU seconds of a node's process, from /proc. */
  usage(i: number): { rssMb: number; cpuS: number } | undefined {
    const pid = this.nodes[i]?.pid
    if (!pid || !this.nodes[i]?.alive) return undefined
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const ticks = Number(fields[11]) + Number(fields[12]) // utime + stime (fields 14, 15)
      const rssPages = Number(fields[21]) // field 24
      return { rssMb: (rssPages * 4096) / 1e6, cpuS: ticks / 100 }
    } catch {
      return undefined
    }
  }

  /** SIGKILL every node still running (after any hang capture in progress has finished). */
  async stopAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await Promise.all([...this.capturing])
    await Promise.all(this.nodes.map((_, i) => this.kill(i, signal)))
  }

  /**
   * One step of the hang watch, called from waitFor while it waits (`waitedMs` so far): once a wait
   * has lasted probeAfterMs, probe every live node's /healthz every probeEveryMs (one probe in
   * flight per node) and capture a node silent for silentMs (scaled on a saturated host; hang-watch.ts).
   */
  private watchTick(waitedMs: number): void {
    if (this.init.hangWatch === false) return
    const w = hangWatchSettings(this.init.hangWatch)
    if (waitedMs < w.probeAfterMs) return
    const silentMs = silentMsFor(w.silentMs, loadavg()[0] ?? 0, availableParallelism(), w.loadScaleMax)
    const everyMs = w.probeEveryMs
    this.silence ??= new SilenceTracker(3 * everyMs)
    const now = Date.now()
    const watched = this.nodes.filter((n) => n.alive && n.ready && n.pid !== undefined)
    for (const n of watched) {
      const pid = n.pid as number
      if ((this.probing.get(pid) ?? 0) + everyMs > now) continue
      this.probing.set(pid, Number.POSITIVE_INFINITY) // in flight
      void probeAdmin(this.adminPort(n.index), Math.max(everyMs, 5000)).then((ok) => {
        this.probing.set(pid, Date.now())
        if (ok) this.silence?.answered(pid, Date.now())
      })
    }
    for (const k of [...this.probing.keys()]) if (!watched.some((n) => n.pid === k)) this.probing.delete(k)
    const silent = this.silence.tick(
      now,
      watched.map((n) => n.pid as number),
      silentMs,
    )
    for (const { pid, silentMs: ms } of silent) {
      if (this.captured.has(pid) || this.captured.size >= w.capturesMax) continue
      const n = watched.find((x) => x.pid === pid)
      if (!n) continue
      this.captured.add(pid)
      // captureHang never throws, but onHang may: reported, never an unhandled rejection (which
      // would end the harness) nor a failed stopAll.
      const job = this.capture(n, ms, w.nativeStacks)
        .catch((err) => {
          process.stderr.write(`[harness] hang capture of node ${n.index}: ${String(err)}\n`)
        })
        .finally(() => this.capturing.delete(job))
      this.capturing.add(job)
    }
  }

  private async capture(n: NodeReport, silentMs: number, nativeStacks: boolean): Promise<void> {
    const pid = n.pid as number
    const child = this.procs[n.index]
    const { path, verdict } = await captureHang(
      {
        index: n.index,
        pid,
        dataDir: this.dataDir(n.index),
        silentMs,
        sourceMapFile: this.sourceMapFile,
        startInspector: async (timeoutMs) => {
          if (!n.inspectorUrl) {
            try {
              process.kill(pid, 'SIGUSR1')
            } catch {
              return undefined
            }
          }
          const deadline = Date.now() + timeoutMs
          while (!n.inspectorUrl && Date.now() < deadline && n.alive)
            await new Promise((r) => setTimeout(r, 50))
          return n.inspectorUrl
        },
        context: () => [
          ...(this.tails[n.index] ?? []).map((l) => `  ${l}`),
          `  stderr pipe as the harness reads it: flowing ${child?.stderr?.readableFlowing}, buffered ${child?.stderr?.readableLength} bytes, alive ${n.alive}`,
        ],
      },
      nativeStacks,
    )
    const capture = { index: n.index, pid, path, verdict }
    this.hangCaptures.push(capture)
    if (this.init.onHang) this.init.onHang(n.index, capture)
    else
      process.stderr.write(
        `[harness] node ${n.index} (pid ${pid}) silent ${Math.round(silentMs / 1000)} s: ${verdict}; report ${path}\n`,
      )
  }

  private notify(): void {
    for (const l of [...this.listeners]) l()
  }
}
