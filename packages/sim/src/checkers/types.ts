/**
 * Shared types of the invariant checkers. A checker is a plain function over a finished trace
 * (`(trace, ctx) => Violation[]`): no state, no simulator internals, so the same checker runs
 * over a simulated trace, a recorded real-process trace, or a hand-written one in a test.
 */
import type { NodeId } from '@conclave/core'
import type { FaultRecord, TraceRecord } from '../trace.js'

export interface Violation {
  /** Which checker found it (its function name). */
  readonly checker: string
  /** True time of the offending event, ms. */
  readonly trueMs: number
  /** The node whose event broke the rule. */
  readonly node?: NodeId
  readonly message: string
}

export interface CheckContext {
  /** Every fault the simulator injected, in time order. */
  readonly faults: readonly FaultRecord[]
  /** Map a node's local clock reading to true time (clock offset and drift undone). */
  trueTimeOf(id: NodeId, localMs: number): number
  /** True time at which the run ended, ms. */
  readonly endMs: number
}

export type Checker = (trace: readonly TraceRecord[], ctx: CheckContext) => Violation[]

/** Build a CheckContext from a Simulation (or anything that looks like one). */
export function checkContextOf(sim: {
  faults: readonly FaultRecord[]
  trueTimeOf(id: NodeId, localMs: number): number
  nowMs: number
}): CheckContext {
  return { faults: sim.faults, trueTimeOf: (id, localMs) => sim.trueTimeOf(id, localMs), endMs: sim.nowMs }
}
