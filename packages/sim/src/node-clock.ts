/**
 * A simulated node's own clock: localMs = offsetMs + trueMs * (1 + driftPpm / 1e6).
 *
 * Guarantees: the mapping is strictly increasing (drift is bounded well above -1e6 ppm), so a
 * node's clock is monotonic, and `trueOf(localOf(t))` recovers t up to float rounding. Checkers
 * use `trueOf` to put a node's local claims (lease intervals) on the common true-time axis.
 */
import { assert } from '@conclave/core'

export interface ClockInit {
  /** Local time when true time is 0, in ms. Default 0. */
  offsetMs?: number
  /** Rate error in parts per million: +100 runs 0.01% fast. Default 0; |driftPpm| < 100_000. */
  driftPpm?: number
}

export class NodeClock {
  readonly offsetMs: number
  readonly driftPpm: number
  private readonly rate: number

  constructor(init: ClockInit = {}) {
    this.offsetMs = init.offsetMs ?? 0
    this.driftPpm = init.driftPpm ?? 0
    assert(Number.isFinite(this.offsetMs), () => `clock offsetMs ${this.offsetMs}`)
    assert(Math.abs(this.driftPpm) < 100_000, () => `clock driftPpm ${this.driftPpm} out of range`)
    this.rate = 1 + this.driftPpm / 1e6
  }

  localOf(trueMs: number): number {
    return this.offsetMs + trueMs * this.rate
  }

  trueOf(localMs: number): number {
    return (localMs - this.offsetMs) / this.rate
  }
}
