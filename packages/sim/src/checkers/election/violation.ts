/**
 * What the election checkers report and what they need to know about a run.
 *
 * A checker is a plain function over a finished run: `(trace, ctx) => Violation[]`. It never
 * looks at a machine's private state — only at the trace the machines emitted, the faults the
 * simulator injected, and what the modelled external resource observed — so the same checker
 * judges Conclave and the baselines alike.
 */
import type { NodeId } from '@conclave/core'
import type { TraceRecord } from '../../trace.js'
import type { CheckContext, Violation } from '../types.js'

/** The simulator's Violation (checker = `invariant-<n>`), plus which rule and every node involved. */
export interface ElectionViolation extends Violation {
  /** DESIGN.md invariant number (1–7). */
  readonly invariant: number
  /** Short machine-readable name, e.g. 'two-global-leaders'. */
  readonly rule: string
  readonly nodes: readonly NodeId[]
}

/** Every ~20 ms the harness asks each live, unpaused node isLeader(now); this is one answer set. */
export interface LeaderProbe {
  readonly trueMs: number
  /** Nodes whose isLeader(localNow) was true at this instant. */
  readonly leaders: readonly NodeId[]
}

/** One write attempt at the modelled external resource (invariant 3). */
export interface FenceWrite {
  readonly trueMs: number
  readonly node: NodeId
  readonly token: number
  readonly accepted: boolean
}

/** The simulator's CheckContext (faults, trueTimeOf, endMs) plus what the election checkers need. */
export interface ElectionCheckContext extends CheckContext {
  /**
   * Invariant 5: a side without a quorum of shards must hold no global lease this long after
   * the partition starts (one lease period; use the global election timeout's lower bound).
   */
  readonly leasePeriodMs: number
  /** Clock-drift bound ρ (e.g. 0.01): allowance on lease-period bounds. */
  readonly driftBound: number
  /** Invariant 6: faults stopped at this true time (undefined: do not check liveness). */
  readonly faultsEndMs?: number
  /** Invariant 6: a leader known to all live nodes must appear within this many ms. */
  readonly convergeBoundMs?: number
  /** Invariants 2, 3, 5: the harness's isLeader probes and fenced writes. */
  readonly probes?: readonly LeaderProbe[]
  readonly fenceWrites?: readonly FenceWrite[]
  /**
   * Invariant 5: does this side hold a quorum at true time t? Default: derived from the shard
   * map in the trace (a majority of shards with a majority of their voters on the side), or a
   * majority of all nodes when the trace names no shards (flat baselines). `bridge`: the nodes
   * that reach both sides (sideHasQuorum).
   */
  quorumOf?(side: ReadonlySet<NodeId>, trueMs: number, bridge?: ReadonlySet<NodeId>): boolean
}

export type ElectionChecker = (
  trace: readonly TraceRecord[],
  ctx: ElectionCheckContext,
) => ElectionViolation[]

/** Bounds a checker's output: one broken rule can fire thousands of times in a long run. */
export const VIOLATIONS_PER_CHECKER_MAX = 50

export function pushBounded(out: ElectionViolation[], v: Omit<ElectionViolation, 'checker' | 'node'>): void {
  if (out.length < VIOLATIONS_PER_CHECKER_MAX) {
    out.push({
      checker: `invariant-${v.invariant}`,
      ...(v.nodes[0] === undefined ? {} : { node: v.nodes[0] }),
      ...v,
    })
  }
}
