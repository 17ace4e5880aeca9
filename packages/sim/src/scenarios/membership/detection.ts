/**
 * Online crash-detection bookkeeping (fed from `Simulation.onEvent`): for each watched crash,
 * when the first node suspected it, when the first declared it dead, and when each observer
 * learned it dead. Memory is O(crashes × nodes), never O(events).
 */
import type { NodeId } from '@conclave/core'
import type { TraceRecord } from '../../trace.js'

export interface Crash {
  readonly subject: NodeId
  readonly crashedAtMs: number
  firstSuspectMs: number
  firstDeadMs: number
  /** observer → true time it first had the subject dead (after the crash). */
  readonly deadAt: Map<NodeId, number>
  /** The nodes that had the subject alive (or suspect) in their view when it crashed. */
  readonly knewIt: ReadonlySet<NodeId>
}

export class DetectionTracker {
  readonly crashes: Crash[] = []
  private readonly open = new Map<NodeId, Crash>()

  watch(subject: NodeId, crashedAtMs: number, knewIt: ReadonlySet<NodeId>): void {
    const c: Crash = {
      subject,
      crashedAtMs,
      knewIt,
      firstSuspectMs: Number.POSITIVE_INFINITY,
      firstDeadMs: Number.POSITIVE_INFINITY,
      deadAt: new Map(),
    }
    this.crashes.push(c)
    this.open.set(subject, c)
  }

  /** Stop watching (the subject restarted: later news is about its new boot). */
  unwatch(subject: NodeId): void {
    this.open.delete(subject)
  }

  onRecord = (r: TraceRecord): void => {
    const e = r.event
    if (e.kind !== 'member:state') return
    const c = this.open.get(e.member)
    if (c === undefined) return
    if (e.state === 'suspect' || e.state === 'dead') c.firstSuspectMs = Math.min(c.firstSuspectMs, r.trueMs)
    if (e.state === 'dead') {
      c.firstDeadMs = Math.min(c.firstDeadMs, r.trueMs)
      if (!c.deadAt.has(e.node)) c.deadAt.set(e.node, r.trueMs)
    }
  }
}
