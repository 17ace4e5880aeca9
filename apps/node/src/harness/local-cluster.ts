/**
 * A cluster of real `conclave` node processes on 127.0.0.1, for the real-process tests, the
 * failover benchmark and the demo. Every node is its own OS process (its own libp2p node, key and
 * data dir); the harness only spawns, kills and restarts them, and reads what each node reports
 * in its JSON log (`started`, `leader:change` with the node's wall-clock time). It never decides
 * who leads.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { loadOrCreatePrivateKey } from '@conclave/core'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

export const CONCLAVE_BIN = fileURLToPath(new URL('../../bin/conclave.mjs', import.meta.url))
const BUILD_SCRIPT = new URL('../../bin/build.mjs', import.meta.url).href

export interface LocalClusterInit {
  nodes: number
  /** Parent directory for the nodes' data dirs. */
  dir: string
  /** First TCP port; node i listens on basePort + i and serves admin HTTP on adminBasePort + i. */
  basePort: number
  adminBasePort?: number
  engine?: 'conclave' | 'flat-raft'
  preset?: 'lan' | 'local' | 'wan'
  /** How many of the first nodes every other node bootstraps through (conclave engine). Default 3. */
  seedsMax?: number
  logLevel?: string
  /** conclave engine: members to wait for before the first election. Default: nodes. */
  bootstrapExpect?: number
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
}

export interface NodeReport {
  id: string
  index: number
  pid: number | undefined
  alive: boolean
  ready: boolean
  /** Last leader this node logged, with the node's wall clock when it learned it. */
  leader: { id: string | null; term: number; wallMs: number } | undefined
  startedWallMs: number
  exit: Promise<number | null> | undefined
}

export class LocalCluster {
  readonly ids: string[] = []
  readonly nodes: NodeReport[] = []
  private readonly procs: (ChildProcess | undefined)[] = []
  private listeners = new Set<() => void>()
  private bundle = CONCLAVE_BIN

  constructor(readonly init: LocalClusterInit) {}

  /** Create the keys (so every peer id is known up front) and spawn every node. */
  async start(): Promise<void> {
    mkdirSync(this.init.dir, { recursive: true })
    // Build the bundle once here, so N processes do not race to rebuild it.
    const { ensureBuilt } = (await import(BUILD_SCRIPT)) as { ensureBuilt(): Promise<string> }
    this.bundle = await ensureBuilt()
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
    return `/ip4/127.0.0.1/tcp/${this.init.basePort + i}/p2p/${this.ids[i]}`
  }

  adminPort(i: number): number {
    return (this.init.adminBasePort ?? this.init.basePort + 1000) + i
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
      `--listen=/ip4/127.0.0.1/tcp/${this.init.basePort + i}`,
      `--admin=127.0.0.1:${this.adminPort(i)}`,
      `--engine=${engine}`,
      `--preset=${this.init.preset ?? 'local'}`,
      `--log-level=${this.init.logLevel ?? 'info'}`,
    ]
    if (seeds.length > 0) args.push(`--bootstrap=${seeds.map((j) => this.addr(j)).join(',')}`)
    // Every node computes the same bootstrap shard map once N members are alive (docs/protocol.md).
    if (engine === 'conclave') args.push(`--bootstrap-expect=${this.init.bootstrapExpect ?? this.init.nodes}`)
    if (engine === 'flat-raft') args.push(`--voters=${this.ids.join(',')}`)
    args.push(...(this.init.extraArgs?.(i) ?? []))
    return args
  }

  spawnNode(i: number): void {
    const child = spawn(process.execPath, [...(this.init.nodeArgs ?? []), this.bundle, ...this.args(i)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    this.procs[i] = child
    const report: NodeReport = {
      id: this.ids[i] as string,
      index: i,
      pid: child.pid,
      alive: true,
      ready: false,
      leader: undefined,
      startedWallMs: Date.now(),
      exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    }
    this.nodes[i] = report
    child.once('exit', () => {
      report.alive = false
      this.notify()
    })
    const rl = createInterface({ input: child.stderr as NodeJS.ReadableStream })
    rl.on('line', (text) => {
      let line: Record<string, unknown>
      try {
        line = JSON.parse(text) as Record<string, unknown>
      } catch {
        line = { level: 'raw', msg: text }
      }
      if (line.msg === 'started') report.ready = true
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
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const v = cond()
      if (v) return v
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
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

  /** SIGKILL every node still running. */
  async stopAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.kill(i, signal)))
  }

  private notify(): void {
    for (const l of [...this.listeners]) l()
  }
}
