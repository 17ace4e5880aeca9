/**
 * Drives one sans-IO Machine with real time: a single timer fires at the machine's
 * `nextTickAtMs()`, frames from the network are fed to `receive`, and after every input the
 * driver drains the machine and performs its Ready strictly in the contract's order —
 * persist (fsynced, synchronous) → send → events (sans-io.ts; Raft §5.2: state is on stable
 * storage before the message that depends on it leaves).
 *
 * Guarantees: inputs are never re-entered (an event listener that calls into the machine is
 * queued behind the current drain); at most one timer is armed; a persist failure throws out of
 * the driver and crashes the process rather than sending un-persisted votes.
 */
import { performance } from 'node:perf_hooks'
import type { Layer, Machine, NodeId, Outbound, PersistOp } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'
import type { Clock } from './clock.js'

export interface DriverInit<E extends TraceEvent> {
  machine: Machine<E>
  clock: Clock
  persist(ops: readonly PersistOp[]): void
  send(out: Outbound): void
  onEvent(event: E): void
  /** Called after each drained Ready (for polling queries such as leader()). */
  afterDrain?(nowMs: number): void
}

/** setTimeout's limit; longer waits are re-armed. */
const TIMER_MS_MAX = 2 ** 31 - 1

export class Driver<E extends TraceEvent = TraceEvent> {
  private timer: NodeJS.Timeout | undefined
  private timerAtMs = Number.POSITIVE_INFINITY
  private busy = false
  private readonly pending: Array<() => void> = []
  private stopped = true
  /** Drains performed and ops done, for metrics. */
  readonly counts = { drains: 0, persistOps: 0, persistMs: 0, sends: 0, events: 0 }

  constructor(private readonly init: DriverInit<E>) {}

  get machine(): Machine<E> {
    return this.init.machine
  }

  start(): void {
    this.stopped = false
    this.run(() => this.init.machine.tick(this.init.clock.nowMs()))
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.timerAtMs = Number.POSITIVE_INFINITY
  }

  receive(from: NodeId, layer: Layer, bytes: Uint8Array): void {
    this.run(() => this.init.machine.receive(from, layer, bytes, this.init.clock.nowMs()))
  }

  /**
   * Run an input against the machine (a tick, a frame, an API call such as transferLeadership),
   * then drain and perform its outputs. Calls made while draining are queued, never nested.
   */
  run(input: (nowMs: number) => void): void {
    if (this.stopped) return
    if (this.busy) {
      this.pending.push(() => input(this.init.clock.nowMs()))
      return
    }
    this.busy = true
    try {
      input(this.init.clock.nowMs())
      this.drain()
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        next()
        this.drain()
      }
    } finally {
      this.busy = false
    }
    this.arm()
  }

  private drain(): void {
    const ready = this.init.machine.drain()
    this.counts.drains++
    if (ready.persist.length > 0) {
      const t0 = performance.now()
      this.init.persist(ready.persist)
      this.counts.persistMs += performance.now() - t0
      this.counts.persistOps += ready.persist.length
    }
    for (const out of ready.send) this.init.send(out)
    this.counts.sends += ready.send.length
    for (const ev of ready.events) this.init.onEvent(ev)
    this.counts.events += ready.events.length
    this.init.afterDrain?.(this.init.clock.nowMs())
  }

  private arm(): void {
    if (this.stopped) return
    const atMs = this.init.machine.nextTickAtMs()
    if (atMs === this.timerAtMs && this.timer) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.timerAtMs = atMs
    if (!Number.isFinite(atMs)) return
    const delayMs = Math.min(Math.max(0, atMs - this.init.clock.nowMs()), TIMER_MS_MAX)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.timerAtMs = Number.POSITIVE_INFINITY
      this.run((nowMs) => this.init.machine.tick(nowMs))
    }, delayMs)
  }
}
