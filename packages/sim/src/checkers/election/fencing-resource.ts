/**
 * The external resource of invariant 3, modelled in the simulator: a store guarded by fencing
 * tokens (Kleppmann, "How to do distributed locking", 2016). It accepts a write whose token is
 * above every token it accepted before, or equal to the last one from the same writer (a leader
 * writes many times in its term); anything else is refused as stale.
 *
 * The harness drives it: every ~20 ms, each live, unpaused node whose isLeader(now) is true
 * writes with fencingToken(now). The log of attempts is what the checker judges.
 */
import type { NodeId } from '@conclave/core'
import type { FenceWrite } from './violation.js'

export class FencingResource {
  private maxToken = Number.NEGATIVE_INFINITY
  private maxOwner: NodeId | undefined
  /** Bounded by the run: one entry per leader per probe interval. */
  readonly log: FenceWrite[] = []
  accepted = 0
  refused = 0

  write(node: NodeId, token: number, trueMs: number): boolean {
    const ok = token > this.maxToken || (token === this.maxToken && node === this.maxOwner)
    if (ok) {
      this.maxToken = token
      this.maxOwner = node
      this.accepted++
    } else {
      this.refused++
    }
    this.log.push({ trueMs, node, token, accepted: ok })
    return ok
  }
}
