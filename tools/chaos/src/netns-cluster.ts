/**
 * Real `conclave start` processes, one per network namespace (netns.ts), run from the same
 * bundle the CLI runs. The harness only spawns, signals and restarts them and reads their JSON
 * logs: `started`, and the TEST ONLY probe's `chaos:sample` and `chaos:lease` lines (apps/node/src/testing/
 * chaos-probe.ts). Every node gets the test clock (through a per-node clock file the nemesis
 * rewrites before a SIGUSR2) and, with --break, the safety rule to break; nothing else differs
 * from a production start.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { loadOrCreatePrivateKey } from '@conclave/core'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { LeaseEvent, Sample } from './checker.js'
import { BRIDGE_IP, nodeIp, nsName } from './netns.js'

const BUILD_SCRIPT = new URL('../../../apps/node/bin/build.mjs', import.meta.url).href
export const NODE_PORT = 4001
export const RESOURCE_PORT = 7700

export type ProcState = 'down' | 'starting' | 'up' | 'stopped' | 'leaving'

export interface ProcEvent {
  node: number
  hostMs: number
  state: ProcState
  /** Why it went down when the nemesis did not ask (exit code / signal). */
  unexpected?: string
}

export interface NetnsClusterInit {
  nodes: number
  dir: string
  seeds: number
  preset: string
  /** TEST ONLY safety rule to break in every node (CONCLAVE_TEST_BREAK). */
  breakRule: string | undefined
  /** The nodes' --log-level (info unless diagnosing: debug logs every trace event). */
  logLevel?: string
  /** The nodes' --tcp-rto-max-ms; undefined: not passed (the node's default). */
  tcpRtoMaxMs?: number
  probeIntervalMs: number
  onSample(s: Sample): void
  /** The node's own global lease events (`chaos:lease`), in the order it logged them. */
  onLease(e: LeaseEvent): void
  onProc(e: ProcEvent): void
  onLog?(node: number, line: Record<string, unknown>): void
}

export const hostMs = () => Number(process.hrtime.bigint()) / 1e6

interface Slot {
  child: ChildProcess | undefined
  state: ProcState
  /** The nemesis asked for this exit (kill, leave): not a crash. */
  expectExit: boolean
  exited: Promise<void>
  offsetMs: number
  driftPpm: number
  startedHostMs: number
}

export class NetnsCluster {
  readonly ids: string[] = []
  private readonly slots: Slot[] = []
  private bundle = ''
  private readonly waiters = new Set<() => void>()

  constructor(readonly init: NetnsClusterInit) {}

  dataDir(i: number): string {
    return join(this.init.dir, `node-${i}`)
  }

  private clockFile(i: number): string {
    return join(this.init.dir, `clock-${i}.json`)
  }

  addr(i: number): string {
    return `/ip4/${nodeIp(i)}/tcp/${NODE_PORT}/p2p/${this.ids[i]}`
  }

  state(i: number): ProcState {
    return this.slots[i]?.state ?? 'down'
  }

  async prepare(): Promise<void> {
    mkdirSync(this.init.dir, { recursive: true })
    const { ensureBuilt } = (await import(BUILD_SCRIPT)) as { ensureBuilt(): Promise<string> }
    this.bundle = await ensureBuilt()
    for (let i = 0; i < this.init.nodes; i++) await this.newIdentity(i)
  }

  /** A fresh data dir and key for slot i (a new node joining where an old one left). */
  async newIdentity(i: number): Promise<void> {
    rmSync(this.dataDir(i), { recursive: true, force: true })
    const key = await loadOrCreatePrivateKey(this.dataDir(i))
    this.ids[i] = peerIdFromPrivateKey(key).toString()
  }

  /** `ip` arguments that start slot i's node in its namespace (the `conclave start` flags). */
  startArgs(i: number): string[] {
    const seeds = [...Array(Math.min(this.init.seeds, this.init.nodes)).keys()].filter((j) => j !== i)
    const args = [
      'netns',
      'exec',
      nsName(i),
      process.execPath,
      this.bundle,
      'start',
      `--data-dir=${this.dataDir(i)}`,
      `--listen=/ip4/${nodeIp(i)}/tcp/${NODE_PORT}`,
      `--preset=${this.init.preset}`,
      `--log-level=${this.init.logLevel ?? 'info'}`,
      `--bootstrap-expect=${this.init.nodes}`,
      '--enable-test-hooks', // the second opt-in the CONCLAVE_TEST_* variables (spawn's env) need
    ]
    if (this.init.tcpRtoMaxMs !== undefined) args.push(`--tcp-rto-max-ms=${this.init.tcpRtoMaxMs}`)
    if (seeds.length > 0) args.push(`--bootstrap=${seeds.map((j) => this.addr(j)).join(',')}`)
    return args
  }

  spawn(i: number): void {
    const prev = this.slots[i]
    if (prev && prev.state !== 'down') throw new Error(`n${i} is ${prev.state}, not down`)
    const offsetMs = prev?.offsetMs ?? 0
    const driftPpm = prev?.driftPpm ?? 0
    writeFileSync(this.clockFile(i), JSON.stringify({ offsetMs, driftPpm }))
    const args = this.startArgs(i)
    // Only what the node needs: never the harness's whole environment (no stray CONCLAVE_* setting).
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      CONCLAVE_TEST_CHAOS_PROBE: `${BRIDGE_IP}:${RESOURCE_PORT}`,
      CONCLAVE_TEST_CHAOS_INTERVAL_MS: String(this.init.probeIntervalMs),
      CONCLAVE_TEST_CLOCK_FILE: this.clockFile(i),
      CONCLAVE_TEST_CLOCK_OFFSET_MS: String(offsetMs),
      CONCLAVE_TEST_CLOCK_DRIFT_PPM: String(driftPpm),
    }
    if (this.init.breakRule) env.CONCLAVE_TEST_BREAK = this.init.breakRule
    // `ip netns exec` execs node in place: the child's pid is the node's pid (signals reach it).
    const child = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], env })
    let resolveExit = () => {}
    const slot: Slot = {
      child,
      state: 'starting',
      expectExit: false,
      exited: new Promise<void>((r) => {
        resolveExit = r
      }),
      offsetMs,
      driftPpm,
      startedHostMs: hostMs(),
    }
    this.slots[i] = slot
    this.init.onProc({ node: i, hostMs: hostMs(), state: 'starting' })
    child.once('exit', (code, signal) => {
      const unexpected = slot.expectExit ? undefined : `exit code ${code} signal ${signal}`
      slot.state = 'down'
      this.init.onProc({ node: i, hostMs: hostMs(), state: 'down', unexpected })
      resolveExit()
      this.notify()
    })
    const id = this.ids[i] as string
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (text) => {
      let line: Record<string, unknown>
      try {
        line = JSON.parse(text) as Record<string, unknown>
      } catch {
        line = { level: 'raw', msg: text }
      }
      if (line.msg === 'chaos:sample') {
        this.init.onSample({
          node: i,
          id,
          hostMs: Number(line.hostMs),
          role: String(line.role),
          leader: (line.leader as string | null) ?? null,
          term: Number(line.term),
          token: line.token === null || line.token === undefined ? null : Number(line.token),
          leaseLeftMs: Number(line.leaseLeftMs),
          driftPpm: Number(line.driftPpm),
          shard: line.shard === null || line.shard === undefined ? null : Number(line.shard),
        })
      } else if (line.msg === 'chaos:lease') {
        const term = Number(line.term)
        if (line.event === 'end')
          this.init.onLease({ node: i, id, event: 'end', term, atHostMs: Number(line.atHostMs) })
        else if (line.event === 'hold' || line.event === 'rebase')
          this.init.onLease({
            node: i,
            id,
            event: line.event,
            term,
            untilMs: Number(line.untilMs),
            fromHostMs: Number(line.fromHostMs),
            untilHostMs: Number(line.untilHostMs),
          })
      } else if (line.msg === 'started') {
        if (slot.state === 'starting') slot.state = 'up'
        this.init.onProc({ node: i, hostMs: hostMs(), state: 'up' })
      }
      this.init.onLog?.(i, line)
      this.notify()
    })
  }

  /** kill -9 (crash): resolves when the process is gone. */
  async kill(i: number): Promise<void> {
    const s = this.slots[i]
    if (!s?.child || s.state === 'down') return
    s.expectExit = true
    s.child.kill('SIGKILL')
    await s.exited
  }

  /** SIGTERM: the node leaves gracefully (hands over first) and exits; SIGKILL after timeoutMs. */
  async leave(i: number, timeoutMs = 8000): Promise<void> {
    const s = this.slots[i]
    if (!s?.child || s.state === 'down') return
    s.expectExit = true
    if (s.state === 'stopped') s.child.kill('SIGCONT')
    s.state = 'leaving'
    this.init.onProc({ node: i, hostMs: hostMs(), state: 'leaving' })
    s.child.kill('SIGTERM')
    const t = setTimeout(() => s.child?.kill('SIGKILL'), timeoutMs)
    await s.exited
    clearTimeout(t)
  }

  pause(i: number): boolean {
    const s = this.slots[i]
    if (!s?.child || s.state !== 'up') return false
    s.child.kill('SIGSTOP')
    s.state = 'stopped'
    this.init.onProc({ node: i, hostMs: hostMs(), state: 'stopped' })
    return true
  }

  resume(i: number): void {
    const s = this.slots[i]
    if (!s?.child || s.state !== 'stopped') return
    s.child.kill('SIGCONT')
    s.state = 'up'
    this.init.onProc({ node: i, hostMs: hostMs(), state: 'up' })
  }

  /** Set the clock skew used from the next (re)start on; a running node changes drift now. */
  setClock(i: number, offsetMs: number, driftPpm: number): void {
    const s = this.slots[i]
    if (!s) return
    s.offsetMs = offsetMs
    s.driftPpm = driftPpm
    writeFileSync(this.clockFile(i), JSON.stringify({ offsetMs, driftPpm }))
    // Only once the node has installed its SIGUSR2 handler (SIGUSR2's default action kills).
    if (s.child && (s.state === 'up' || s.state === 'stopped')) s.child.kill('SIGUSR2')
  }

  clockOf(i: number): { offsetMs: number; driftPpm: number } {
    const s = this.slots[i]
    return { offsetMs: s?.offsetMs ?? 0, driftPpm: s?.driftPpm ?? 0 }
  }

  async killAll(): Promise<void> {
    await Promise.all(this.slots.map((_, i) => this.kill(i)))
  }

  /** Wait (event-driven, bounded) until cond() is truthy; returns it, or undefined on timeout. */
  async waitFor<T>(cond: () => T | undefined | false, timeoutMs: number): Promise<T | undefined> {
    const deadline = hostMs() + timeoutMs
    for (;;) {
      const v = cond()
      if (v) return v
      const left = deadline - hostMs()
      if (left <= 0) return undefined
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t)
          this.waiters.delete(done)
          resolve()
        }
        const t = setTimeout(done, Math.min(left, 100))
        this.waiters.add(done)
      })
    }
  }

  private notify(): void {
    for (const w of [...this.waiters]) w()
  }
}
