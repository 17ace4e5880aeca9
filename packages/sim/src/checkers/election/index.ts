/**
 * The election checkers, all run on every simulation (DESIGN.md invariants 1–6; invariant 7,
 * dead members returning only with a new incarnation or boot epoch, is the membership checker).
 */
import type { TraceRecord } from '../../trace.js'
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

export const electionCheckers: readonly ElectionChecker[] = [
  checkOneLeaderPerTerm,
  checkOneLeaseHolder,
  checkFencingOrder,
  checkOneGlobalVotePerShard,
  checkMinorityNoLease,
  checkLeaderConverges,
]

export function checkElection(trace: readonly TraceRecord[], ctx: ElectionCheckContext): ElectionViolation[] {
  return electionCheckers.flatMap((check) => check(trace, ctx))
}
