/**
 * Detects stalls of this process (event-loop blocking, GC pauses, SIGSTOP) so the driver can
 * report them to the machine (`notePause`, Lifeguard §3: a node that was itself frozen must not
 * accuse others of being slow). A drift timer: it asks to run every `intervalMs`; when it runs
 * more than `pauseMsMin` late, the lateness is a stall this process lived through.
 */
import type { Clock } from './clock.js'

export interface LoopMonitorInit {
  clock: Clock
  /** How often the timer runs. Default 100 ms: a stall is seen within that much of its end. */
  intervalMs?: number
  /** Lateness below this is normal timer jitter, not a stall. Default 50 ms. */
  pauseMsMin?: number
  onPause(durationMs: number, nowMs: number): void
  /**
   * Called on every run of the timer, after the stall check: other periodic work of the process
   * rides on this wake-up instead of arming a timer of its own (each wake-up of an idle process
   * costs ≈ 0.09 ms of CPU on the 2-core host, docs/performance.md).
   */
  onCheck?(nowMs: number): void
}

export class LoopMonitor {
  private timer: NodeJS.Timeout | undefined
  private expectedMs = 0
  private worstMs = 0
  private readonly intervalMs: number
  private readonly pauseMsMin: number

  constructor(private readonly init: LoopMonitorInit) {
    this.intervalMs = init.intervalMs ?? 100
    this.pauseMsMin = init.pauseMsMin ?? 50
  }

  /** Largest stall seen since start, in ms (exported as a metric). */
  get worstPauseMs(): number {
    return this.worstMs
  }

  start(): void {
    if (this.timer) return
    this.expectedMs = this.init.clock.nowMs() + this.intervalMs
    this.timer = setInterval(() => this.check(), this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  private check(): void {
    const nowMs = this.init.clock.nowMs()
    const lateMs = nowMs - this.expectedMs
    this.expectedMs = nowMs + this.intervalMs
    if (lateMs >= this.pauseMsMin) {
      this.worstMs = Math.max(this.worstMs, lateMs)
      this.init.onPause(lateMs, nowMs)
    }
    this.init.onCheck?.(nowMs)
  }
}
