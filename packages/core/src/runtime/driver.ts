/**
 * Drives one sans-IO Machine with real time: a single timer fires at the machine's
 * `nextTickAtMs()`, frames from the network are fed to `receive`, and after every input the
 * driver drains the machine and performs its Ready strictly in the contract's order —
 * persist (durable) → send → events (sans-io.ts; Raft §5.2: state is on stable storage before
 * the message that depends on it leaves).
 *
 * Persistence may be asynchronous (`persist` returns a Promise, e.g. fs.promises + fdatasync on
 * libuv's thread pool): the event loop keeps running timers and reading frames while the disk
 * works. Measured before: a synchronous fsync took up to ~100 ms per persist with 25 nodes on
 * one disk, and every one of them froze that node's loop. While a write is pending, the machine
 * keeps taking inputs, but the outputs of that Ready AND of every later Ready are held, in
 * order, until every write issued before them is durable. So nothing that depends on a state
 * leaves before that state is on disk (a crash loses the state and the messages together), and
 * writes are issued one batch at a time, in order, so a later value of a key is never
 * overwritten by an earlier one.
 *
 * Guarantees: inputs are never re-entered (an event listener that calls into the machine is
 * queued behind the current drain); at most one timer is armed; outputs leave in drain order; a
 * persist failure crashes the process (rethrown outside any promise) rather than sending
 * un-persisted votes.
 */
import { performance } from 'node:perf_hooks'
import type { Layer, Machine, NodeId, Outbound, PersistOp, Ready } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'
import { bucketIndex } from '../util/buckets.js'
import type { Clock } from './clock.js'

export interface DriverInit<E extends TraceEvent> {
  machine: Machine<E>
  clock: Clock
  /** Make ops durable. Synchronous (returns void) or asynchronous (resolves once durable). */
  persist(ops: readonly PersistOp[]): void | Promise<void>
  send(out: Outbound): void
  onEvent(event: E): void
  /** Called after each drained Ready (for polling queries such as leader()). */
  afterDrain?(nowMs: number): void
  /**
   * The driver's timer ran `lateMs` after the later of its deadline and the moment it was armed
   * (so a deadline already past when armed never counts): this process did not run for that
   * long (a stall: event-loop blocking, GC, SIGSTOP, CPU starvation). Called before the tick that
   * timer runs, so the machine can forgive what the stall hid before it acts on its deadlines
   * (a probe whose ack waited unread in our own socket). Only when lateMs ≥ timerLateMsMin.
   */
  onTimerLate?(lateMs: number, nowMs: number): void
  /** Lateness below this is timer jitter, not reported. Default: never reported. */
  timerLateMsMin?: number
}

/** setTimeout's limit; longer waits are re-armed. */
const TIMER_MS_MAX = 2 ** 31 - 1

/** Upper bounds (ms, inclusive) of Driver.timerLateMs's buckets. */
export const TIMER_LATE_MS_BOUNDS = [5, 20, 50, 100, 200, 500, 1000] as const

export class Driver<E extends TraceEvent = TraceEvent> {
  private timer: NodeJS.Timeout | undefined
  private timerAtMs = Number.POSITIVE_INFINITY
  private busy = false
  private readonly pending: Array<() => void> = []
  private stopped = true
  /** Readies whose outputs wait for a write (theirs or an earlier one), in drain order. Bounded
   * by the drains that happen during one write; each holds only that drain's outputs. */
  private readonly held: Array<{ ready: Ready<E>; durable: boolean }> = []
  /** The tail of the chain of pending writes (writes run one batch at a time, in order). */
  private writing: Promise<void> | undefined
  private writesPending = 0
  /** Drains performed and ops done, for metrics; `timerTicks`: ticks run by the driver's timer (wake-ups). */
  readonly counts = {
    drains: 0,
    persistOps: 0,
    persistMs: 0,
    sends: 0,
    events: 0,
    heldReadies: 0,
    timerTicks: 0,
    /** Timer runs at least timerLateMsMin late (stalls seen by the driver). */
    lateTimers: 0,
  }
  /**
   * Every timer run by how late it ran (ms after its deadline, per TIMER_LATE_MS_BOUNDS, one more
   * bucket above the last): the event-loop lag the protocol's timeouts lived with. A starved host
   * shows here first: 100 processes on 2 cores ran their election timers hundreds of ms late.
   */
  readonly timerLateMs = new Array<number>(TIMER_LATE_MS_BOUNDS.length + 1).fill(0)

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

  /**
   * Resolves once every write issued so far is durable (or after waitMsMax): a stopping node must
   * not remove or reuse its data dir while a write into it is still in flight.
   */
  async settled(waitMsMax = 5_000): Promise<void> {
    if (this.writesPending === 0 || this.writing === undefined) return
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMsMax)
      timer.unref()
    })
    await Promise.race([this.writing, timeout])
    clearTimeout(timer)
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
      this.counts.persistOps += ready.persist.length
      if (this.writesPending === 0) {
        const t0 = performance.now()
        const result = this.init.persist(ready.persist)
        if (result instanceof Promise) this.hold(ready, result, t0)
        else {
          this.counts.persistMs += performance.now() - t0
          this.perform(ready)
        }
      } else {
        // Issue this write only after the earlier ones: the same key may be in both.
        const ops = ready.persist
        const prev = this.writing as Promise<void>
        const t0 = performance.now()
        this.hold(
          ready,
          prev.then(() => this.init.persist(ops)),
          t0,
        )
      }
    } else if (this.held.length > 0) {
      this.held.push({ ready, durable: true })
      this.counts.heldReadies++
    } else this.perform(ready)
    this.init.afterDrain?.(this.init.clock.nowMs())
  }

  private hold(ready: Ready<E>, write: Promise<void>, t0: number): void {
    const entry = { ready, durable: false }
    this.held.push(entry)
    this.counts.heldReadies++
    this.writesPending++
    const done = write.then(
      () => {
        this.counts.persistMs += performance.now() - t0
        this.writesPending--
        entry.durable = true
        // Through run(): a listener that calls into the machine is queued, never nested.
        if (this.stopped) this.held.length = 0
        else this.run(() => this.release())
      },
      (err: unknown) => {
        // Never send what could not be persisted: crash, outside the promise chain.
        setImmediate(() => {
          throw err
        })
        return new Promise<void>(() => {})
      },
    )
    this.writing = done
  }

  /** Perform, in order, every held Ready whose write (and every earlier write) is durable. */
  private release(): void {
    while (this.held.length > 0 && (this.held[0] as { durable: boolean }).durable) {
      const { ready } = this.held.shift() as { ready: Ready<E> }
      this.perform(ready)
    }
  }

  private perform(ready: Ready<E>): void {
    for (const out of ready.send) this.init.send(out)
    this.counts.sends += ready.send.length
    for (const ev of ready.events) this.init.onEvent(ev)
    this.counts.events += ready.events.length
  }

  private arm(): void {
    if (this.stopped) return
    const atMs = this.init.machine.nextTickAtMs()
    // The timer follows the machine's deadline, later as well as earlier: a follower pushes its
    // election deadline back on every heartbeat. Keeping an earlier armed timer instead (session
    // 3) cost one empty wake-up per election timeout, 2.4 per node per second in an idle 25-node
    // cluster, at ≈ 90 µs of CPU each on this host; a clearTimeout + setTimeout costs ≈ 0.4 µs.
    if (this.timer && this.timerAtMs === atMs) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.timerAtMs = atMs
    if (!Number.isFinite(atMs)) return
    const armedMs = this.init.clock.nowMs()
    // Whole milliseconds, rounded up: Node arms libuv's timer with the delay truncated and, when
    // it fires short of a fractional delay, sleeps 1 ms more: two wake-ups for one deadline (the
    // deadlines here are fractional, from performance.now). Rounding up wakes once, at the same
    // time (strace of an idle follower: ≈ 0.8 such 1-ms sleeps per second).
    const delayMs = Math.min(Math.ceil(Math.max(0, atMs - armedMs)), TIMER_MS_MAX)
    const dueMs = Math.max(atMs, armedMs)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.timerAtMs = Number.POSITIVE_INFINITY
      this.counts.timerTicks++
      this.run((nowMs) => {
        const lateMs = nowMs - dueMs
        const i = bucketIndex(TIMER_LATE_MS_BOUNDS, lateMs)
        this.timerLateMs[i] = (this.timerLateMs[i] ?? 0) + 1
        if (lateMs >= (this.init.timerLateMsMin ?? Number.POSITIVE_INFINITY)) {
          this.counts.lateTimers++
          this.init.onTimerLate?.(lateMs, nowMs)
        }
        this.init.machine.tick(nowMs)
      })
    }, delayMs)
  }
}
