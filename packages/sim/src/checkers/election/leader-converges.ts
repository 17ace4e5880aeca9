/**
 * Invariant 6: after faults stop, a global leader known to every live node appears within a
 * bounded time. Judged by replaying beliefs (leader-knowledge.ts) from `faultsEndMs`: the first
 * instant at which every live node believes the same live leader must come no later than
 * `faultsEndMs + convergeBoundMs`. A run that ends before that deadline without agreement is a
 * liveness failure too (the harness runs the liveness phase at least that long).
 */
import type { NodeId } from '@conclave/core'
import type { TraceRecord } from '../../trace.js'
import { replay } from './leader-knowledge.js'
import type { ElectionCheckContext, ElectionViolation } from './violation.js'

/** True time (≥ fromMs) at which every live node first knows one live global leader. */
export function agreementAfter(
  trace: readonly TraceRecord[],
  ctx: Pick<ElectionCheckContext, 'faults'>,
  fromMs: number,
  minTerm = 0,
  ignore?: ReadonlySet<NodeId>,
): number | undefined {
  const ok = (b: { term: number } | undefined) => b !== undefined && b.term >= minTerm
  let at: number | undefined
  let agreedBefore = false
  const k = replay(
    trace,
    ctx.faults,
    (k, t) => {
      if (t < fromMs) {
        agreedBefore = ok(k.agreed())
        return false
      }
      if (agreedBefore) {
        at = fromMs // the agreement held when fromMs came
        return true
      }
      if (ok(k.agreed())) {
        at = t
        return true
      }
      return false
    },
    ignore,
  )
  if (at === undefined && ok(k.agreed())) at = fromMs // held before fromMs, nothing after
  return at
}

export function checkLeaderConverges(
  trace: readonly TraceRecord[],
  ctx: ElectionCheckContext,
): ElectionViolation[] {
  if (ctx.faultsEndMs === undefined || ctx.convergeBoundMs === undefined) return []
  const deadlineMs = ctx.faultsEndMs + ctx.convergeBoundMs
  const at = agreementAfter(trace, ctx, ctx.faultsEndMs)
  if (at !== undefined && at <= deadlineMs) return []
  return [
    {
      checker: 'invariant-6',
      invariant: 6,
      rule: 'no-agreed-leader',
      trueMs: deadlineMs,
      message:
        at === undefined
          ? `no global leader known to every live node after faults stopped at ${ctx.faultsEndMs} ms`
          : `every live node knew one leader only at ${at.toFixed(1)} ms, ${(at - ctx.faultsEndMs).toFixed(1)} ms after faults stopped (bound ${ctx.convergeBoundMs} ms)`,
      nodes: [],
    },
  ]
}
