/**
 * Invariant 4: each shard grants at most one global vote per global term. The shard's vote is
 * committed in its control log before it leaves, so even after a shard leader change the
 * shard never votes twice (DESIGN.md, Global group). Evidence: `global:vote` events; two
 * different candidates for one (shard, term) is a violation, whoever the shard leaders were.
 */
import type { NodeId } from '@conclave/core'
import type { TraceRecord } from '../../trace.js'
import { type ElectionCheckContext, type ElectionViolation, pushBounded } from './violation.js'

export function checkOneGlobalVotePerShard(
  trace: readonly TraceRecord[],
  _ctx?: ElectionCheckContext,
): ElectionViolation[] {
  const out: ElectionViolation[] = []
  const votes = new Map<string, { candidate: NodeId; voter: NodeId }>()
  for (const { trueMs, event: e } of trace) {
    if (e.kind !== 'global:vote') continue
    const key = `${e.shard}/${e.term}`
    const prev = votes.get(key)
    if (prev === undefined) votes.set(key, { candidate: e.candidate, voter: e.node })
    else if (prev.candidate !== e.candidate) {
      pushBounded(out, {
        invariant: 4,
        rule: 'two-global-votes',
        trueMs,
        message: `shard ${e.shard} voted twice in global term ${e.term}: for ${prev.candidate} (via ${prev.voter}) and ${e.candidate} (via ${e.node})`,
        nodes: [prev.voter, e.node],
      })
    }
  }
  return out
}
