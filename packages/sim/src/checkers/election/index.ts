/**
 * The invariant checkers run on every election simulation: DESIGN.md invariants 1–6 here, and
 * invariant 7 (dead members return only with a new incarnation or boot epoch) from the
 * membership checkers.
 */
import type { TraceRecord } from '../../trace.js'
import { deadStaysDead } from '../membership.js'
import { checkFencingOrder } from './fencing-order.js'
import { checkLeaderConverges } from './leader-converges.js'
import { checkMinorityNoLease } from './minority-no-lease.js'
import { checkOneGlobalVotePerShard } from './one-global-vote-per-shard.js'
import { checkOneLeaderPerTerm } from './one-leader-per-term.js'
import { checkOneLeaseHolder } from './one-lease-holder.js'
import type { ElectionCheckContext, ElectionChecker, ElectionViolation } from './violation.js'

export { countDisruptions } from './disruptions.js'
export { FencingResource } from './fencing-resource.js'
export { agreementAfter } from './leader-converges.js'
export { LeaderKnowledge, replay } from './leader-knowledge.js'
export { leaseIntervals } from './lease-intervals.js'
export { shardMapAt, sideHasQuorum } from './shard-map-at.js'
export type {
  ElectionCheckContext,
  ElectionChecker,
  ElectionViolation,
  FenceWrite,
  LeaderProbe,
} from './violation.js'
export {
  checkFencingOrder,
  checkLeaderConverges,
  checkMinorityNoLease,
  checkOneGlobalVotePerShard,
  checkOneLeaderPerTerm,
  checkOneLeaseHolder,
}

/** Invariant 7 is the membership engineer's checker (checkers/membership.ts), reused here. */
export const checkDeadStaysDead: ElectionChecker = (trace, ctx) =>
  deadStaysDead(trace, ctx).map((v) => ({
    ...v,
    invariant: 7,
    rule: 'dead-came-back',
    nodes: v.node ? [v.node] : [],
  }))

export const electionCheckers: readonly ElectionChecker[] = [
  checkOneLeaderPerTerm,
  checkOneLeaseHolder,
  checkFencingOrder,
  checkOneGlobalVotePerShard,
  checkMinorityNoLease,
  checkLeaderConverges,
  checkDeadStaysDead,
]

export function checkElection(trace: readonly TraceRecord[], ctx: ElectionCheckContext): ElectionViolation[] {
  return electionCheckers.flatMap((check) => check(trace, ctx))
}
