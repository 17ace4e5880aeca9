/**
 * Invariant 3: fencing tokens seen by the external resource strictly increase from one leader
 * to the next, and a stale token is refused. Judged on the resource's log of write attempts:
 * - accepted tokens never go down, and a token once accepted from one node is never accepted
 *   from another (the resource must refuse stale writers);
 * - one token is never presented by two different nodes, accepted or not: fencing token =
 *   global term, so two writers with one token means two leaders acted in one term.
 */
import type { NodeId } from '@conclave/core'
import type { TraceRecord } from '../../trace.js'
import { type ElectionCheckContext, type ElectionViolation, pushBounded } from './violation.js'

export function checkFencingOrder(
  _trace: readonly TraceRecord[],
  ctx: ElectionCheckContext,
): ElectionViolation[] {
  const out: ElectionViolation[] = []
  const ownerOf = new Map<number, NodeId>()
  let maxAccepted = Number.NEGATIVE_INFINITY
  let maxOwner: NodeId | undefined
  for (const w of ctx.fenceWrites ?? []) {
    const owner = ownerOf.get(w.token)
    if (owner === undefined) ownerOf.set(w.token, w.node)
    else if (owner !== w.node) {
      pushBounded(out, {
        invariant: 3,
        rule: 'token-reused',
        trueMs: w.trueMs,
        message: `fencing token ${w.token} presented by ${owner} and by ${w.node}`,
        nodes: [owner, w.node],
      })
    }
    if (!w.accepted) continue
    if (w.token < maxAccepted || (w.token === maxAccepted && w.node !== maxOwner)) {
      pushBounded(out, {
        invariant: 3,
        rule: 'stale-token-accepted',
        trueMs: w.trueMs,
        message: `resource accepted token ${w.token} from ${w.node} after ${maxAccepted} from ${maxOwner}`,
        nodes: [w.node],
      })
    }
    if (w.token > maxAccepted) {
      maxAccepted = w.token
      maxOwner = w.node
    }
  }
  return out
}
