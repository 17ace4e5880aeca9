/**
 * Invariant 5: a side of a partition without a quorum of shards holds no global lease after one
 * lease period. For every two-way partition, each side that lacks a quorum (shard-map.ts) is
 * watched from `start + leasePeriodMs·(1+ρ)` until the heal: no node on it may claim a global
 * lease reaching into that window, nor answer isLeader() true in a probe inside it.
 * Nodes in neither group (a bridge) reach both sides: they count towards either side's quorum
 * and are not judged themselves.
 */
import type { NodeId } from '@conclave/core'
import type { TraceRecord } from '../../trace.js'
import { leaseIntervals } from './lease-intervals.js'
import { shardMapAt, sideHasQuorum } from './shard-map-at.js'
import { type ElectionCheckContext, type ElectionViolation, pushBounded } from './violation.js'

export function checkMinorityNoLease(
  trace: readonly TraceRecord[],
  ctx: ElectionCheckContext,
): ElectionViolation[] {
  const out: ElectionViolation[] = []
  const allNodes = ctx.faults
    .filter((f) => f.kind === 'add' && f.node !== undefined)
    .map((f) => f.node as NodeId)
  const globalLeases = leaseIntervals(trace, ctx).get('global') ?? []
  for (let i = 0; i < ctx.faults.length; i++) {
    const p = ctx.faults[i]
    if (p?.kind !== 'partition' || p.oneWay || p.groupA === undefined || p.groupB === undefined) continue
    const heal = ctx.faults.slice(i + 1).find((f) => f.kind === 'heal')
    const endMs = heal?.trueMs ?? Number.POSITIVE_INFINITY
    const watchFromMs = p.trueMs + ctx.leasePeriodMs * (1 + ctx.driftBound)
    if (watchFromMs >= endMs) continue
    const shards = shardMapAt(trace, p.trueMs)
    const inA = new Set(p.groupA)
    const inB = new Set(p.groupB)
    const bridge = allNodes.filter((n) => !inA.has(n) && !inB.has(n))
    for (const group of [p.groupA, p.groupB]) {
      const side = new Set(group)
      // Quorum counts the bridge too: a side reaches its nodes, and they vote.
      const reach = new Set([...group, ...bridge])
      const quorum = ctx.quorumOf ? ctx.quorumOf(reach, p.trueMs) : sideHasQuorum(reach, shards, allNodes)
      if (quorum) continue
      for (const iv of globalLeases) {
        if (side.has(iv.node) && iv.untilMs > watchFromMs && iv.fromMs < endMs) {
          pushBounded(out, {
            invariant: 5,
            rule: 'minority-lease',
            trueMs: Math.max(iv.fromMs, watchFromMs),
            message: `${iv.node} on a side without quorum (partition at ${p.trueMs}) claims a global lease (term ${iv.term}) until ${iv.untilMs.toFixed(1)}, past ${watchFromMs.toFixed(1)}`,
            nodes: [iv.node],
          })
        }
      }
      for (const probe of ctx.probes ?? []) {
        if (probe.trueMs <= watchFromMs || probe.trueMs >= endMs) continue
        const acting = probe.leaders.filter((n) => side.has(n))
        if (acting.length > 0) {
          pushBounded(out, {
            invariant: 5,
            rule: 'minority-acting-leader',
            trueMs: probe.trueMs,
            message: `isLeader() true on ${acting.join(', ')}, on a side without quorum (partition at ${p.trueMs})`,
            nodes: acting,
          })
        }
      }
    }
  }
  return out
}
