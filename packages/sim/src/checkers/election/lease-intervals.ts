/**
 * Lease claims on the true-time axis. Each `lease:hold` claims [fromMs, untilMs] of the holder's
 * OWN clock; the simulator knows every clock exactly (offset + drift), so the claim maps to true
 * time with `trueTimeOf`. A claim ends early at the holder's `lease:end` and at its crash (a
 * crashed process acts on nothing); it does NOT end at a pause — a paused leader that resumes
 * may still act on its lease, which is what invariant 2 must survive.
 * Consecutive claims of one holder in one term are merged, so the interval lists stay short.
 */
import type { NodeId } from '@conclave/core'
import type { TraceRecord } from '../../trace.js'
import type { ElectionCheckContext } from './violation.js'

export interface LeaseInterval {
  readonly node: NodeId
  readonly scope: 'shard' | 'global'
  readonly shard: number
  readonly term: number
  /** True time, ms. */
  fromMs: number
  /** True time, ms (after clipping at lease:end or crash). */
  untilMs: number
}

/** 'global' or `shard/<n>`: the resource a lease is exclusive over. */
export function leaseKey(scope: 'shard' | 'global', shard: number): string {
  return scope === 'global' ? 'global' : `shard/${shard}`
}

export function leaseIntervals(
  trace: readonly TraceRecord[],
  ctx: Pick<ElectionCheckContext, 'trueTimeOf' | 'faults'>,
): Map<string, LeaseInterval[]> {
  const byKey = new Map<string, LeaseInterval[]>()
  const byHolder = new Map<NodeId, LeaseInterval[]>()
  const clip = (node: NodeId, atMs: number, key?: string) => {
    for (const iv of byHolder.get(node) ?? []) {
      if (key !== undefined && leaseKey(iv.scope, iv.shard) !== key) continue
      if (iv.untilMs > atMs) iv.untilMs = Math.max(iv.fromMs, atMs)
    }
  }
  const faults = ctx.faults
  let f = 0
  for (const { trueMs, event: e } of trace) {
    // Faults strictly before this event happened first (at a tie the event was drained first).
    for (; f < faults.length && (faults[f]?.trueMs ?? 0) < trueMs; f++) {
      const fault = faults[f]
      if (fault?.kind === 'crash' && fault.node !== undefined) clip(fault.node, fault.trueMs)
    }
    if (e.kind === 'lease:hold') {
      const key = leaseKey(e.scope, e.shard)
      const fromMs = ctx.trueTimeOf(e.node, e.fromMs)
      const untilMs = ctx.trueTimeOf(e.node, e.untilMs)
      if (untilMs <= fromMs) continue
      const mine = byHolder.get(e.node) ?? []
      byHolder.set(e.node, mine)
      const last = mine.findLast((iv) => leaseKey(iv.scope, iv.shard) === key)
      if (last !== undefined && last.term === e.term && fromMs <= last.untilMs) {
        last.untilMs = Math.max(last.untilMs, untilMs)
        last.fromMs = Math.min(last.fromMs, fromMs)
        continue
      }
      const iv: LeaseInterval = {
        node: e.node,
        scope: e.scope,
        shard: e.shard,
        term: e.term,
        fromMs,
        untilMs,
      }
      mine.push(iv)
      const list = byKey.get(key) ?? []
      byKey.set(key, list)
      list.push(iv)
    } else if (e.kind === 'lease:end') {
      clip(e.node, ctx.trueTimeOf(e.node, e.atMs), leaseKey(e.scope, e.shard))
    }
  }
  for (; f < faults.length; f++) {
    const fault = faults[f]
    if (fault?.kind === 'crash' && fault.node !== undefined) clip(fault.node, fault.trueMs)
  }
  return byKey
}
