/**
 * Lifeguard dynamic suspicion timeout (Lifeguard §4.2, memberlist suspicion.go).
 *
 * A suspicion starts with the longest timeout and shrinks, logarithmically, with every
 * independent confirmation (a different accuser at the same incarnation):
 *   timeout(C) = max(min, max − (max − min) · log(C + 1) / log(K + 1))
 * with C confirmations so far and K expected. A lone, possibly slow, accuser therefore needs
 * `max` to kill a node; once the other monitors agree it takes only `min`. The deadline is
 * always measured from the start of the suspicion, so confirmations can only bring it closer.
 */
import type { NodeId } from '../sans-io.js'

export function suspicionTimeoutMs(
  minMs: number,
  maxMs: number,
  confirmations: number,
  expected: number,
): number {
  if (expected < 1 || confirmations >= expected) return minMs
  const frac = Math.log(confirmations + 1) / Math.log(expected + 1)
  return Math.max(minMs, Math.floor(maxMs - (maxMs - minMs) * frac))
}

/** min = mult · max(1, log10(N)) · probeIntervalMs (memberlist's suspicionTimeout). */
export function suspicionMinMs(mult: number, members: number, probeIntervalMs: number): number {
  return Math.round(mult * Math.max(1, Math.log10(Math.max(1, members))) * probeIntervalMs)
}

export class Suspicion {
  /** Accusers, the first included; bounded by expected + 1. */
  readonly accusers = new Set<NodeId>()
  deadlineMs: number

  constructor(
    readonly startMs: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    /** Independent confirmations expected (monitors − 1). */
    private readonly expected: number,
    firstAccuser: NodeId,
  ) {
    this.accusers.add(firstAccuser)
    this.deadlineMs = startMs + maxMs
  }

  get confirmations(): number {
    return this.accusers.size - 1
  }

  /** Records an accuser; true when it was new (and the deadline may have moved closer). */
  confirm(accuser: NodeId): boolean {
    if (this.accusers.has(accuser) || this.accusers.size > this.expected) return false
    this.accusers.add(accuser)
    this.deadlineMs =
      this.startMs + suspicionTimeoutMs(this.minMs, this.maxMs, this.confirmations, this.expected)
    return true
  }

  /** A stall of this process: nothing it could have heard counts against the suspect. */
  postpone(ms: number): void {
    this.deadlineMs += ms
  }
}
