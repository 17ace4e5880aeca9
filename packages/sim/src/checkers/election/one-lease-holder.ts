/**
 * Invariant 2: at any instant of true time at most one node holds a valid global lease, and at
 * most one per shard — given clock drift within ρ (the simulator's clocks drift, the checker
 * maps every claim to true time exactly, so the protocol's ρ discount is what is being tested).
 *
 * Two kinds of evidence:
 * - the leases the holders claimed (`lease:hold`, see lease-intervals.ts): two different nodes'
 *   claims on one resource may not overlap in true time (touching ends are fine);
 * - the harness's isLeader probes: at one instant at most one node may answer true. This catches
 *   a leader that acts without claiming a lease at all (the `--break lease` rule).
 */
import type { TraceRecord } from '../../trace.js'
import { leaseIntervals } from './lease-intervals.js'
import { type ElectionCheckContext, type ElectionViolation, pushBounded } from './violation.js'

/** Float slack when comparing mapped times, ms. */
const EPSILON_MS = 1e-6

export function checkOneLeaseHolder(
  trace: readonly TraceRecord[],
  ctx: ElectionCheckContext,
): ElectionViolation[] {
  const out: ElectionViolation[] = []
  for (const [key, list] of leaseIntervals(trace, ctx)) {
    const sorted = [...list].sort((a, b) => a.fromMs - b.fromMs)
    let reach = Number.NEGATIVE_INFINITY
    let reachBy = sorted[0]
    for (const iv of sorted) {
      if (reachBy !== undefined && iv.node !== reachBy.node && iv.fromMs < reach - EPSILON_MS) {
        pushBounded(out, {
          invariant: 2,
          rule: key === 'global' ? 'two-global-leases' : 'two-shard-leases',
          trueMs: iv.fromMs,
          message: `${key}: ${iv.node} (term ${iv.term}) holds from ${iv.fromMs.toFixed(3)} while ${reachBy.node} (term ${reachBy.term}) holds until ${reach.toFixed(3)}`,
          nodes: [reachBy.node, iv.node],
        })
      }
      if (iv.untilMs > reach) {
        reach = iv.untilMs
        reachBy = iv
      }
    }
  }
  for (const probe of ctx.probes ?? []) {
    if (probe.leaders.length > 1) {
      pushBounded(out, {
        invariant: 2,
        rule: 'two-acting-leaders',
        trueMs: probe.trueMs,
        message: `isLeader() true on ${probe.leaders.length} nodes at once: ${probe.leaders.join(', ')}`,
        nodes: probe.leaders,
      })
    }
  }
  return out
}
