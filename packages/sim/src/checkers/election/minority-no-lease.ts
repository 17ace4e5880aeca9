/**
 * Invariant 5: a side of a partition without a quorum of shards holds no global lease after one
 * lease period. For every two-way partition, each side that lacks a quorum (shard-map.ts) is
 * watched from `start + leasePeriodMs·(1+ρ)` until the heal: no node on it may claim a global
 * lease reaching into that window, nor answer isLeader() true in a probe inside it. A shard-map
 * change committed during the partition starts a new segment, judged with the map from then on
 * and watched from one lease period after the change.
 * Nodes in neither group (a bridge) reach both sides: they count towards either side's quorum
 * (and so does a shard one of them votes in: it may lead it), and are not judged themselves.
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
    // The shard map can change during the partition (a committed config change, dissolve, or
    // split `add`): quorum is judged per segment between such commits, each watched from one
    // lease period after it starts. (Swarm seed 57: a split's `add shard 2`, committed by shards
    // 0 and 2 on side A after the cut, made A a majority of {0, 1, 2}; judged with the map of
    // the cut, {0, 1}, A's legitimate lease was reported.)
    const cuts = [p.trueMs]
    /** Times of committed GLOBAL-log changes (the shard set changed) in the window. */
    const globalCuts: number[] = []
    for (const r of trace) {
      if (r.trueMs <= p.trueMs) continue
      if (r.trueMs >= endMs) break
      if (r.event.kind !== 'shardmap:commit') continue
      if (r.trueMs > (cuts[cuts.length - 1] ?? 0)) cuts.push(r.trueMs)
      if (r.event.change.startsWith('global ')) globalCuts.push(r.trueMs)
    }
    const inA = new Set(p.groupA)
    const inB = new Set(p.groupB)
    const bridge = allNodes.filter((n) => !inA.has(n) && !inB.has(n))
    const bridgeSet = new Set(bridge)
    for (const group of [p.groupA, p.groupB]) {
      const side = new Set(group)
      // Quorum counts the bridge too: a side reaches its nodes, and they vote.
      const reach = new Set([...group, ...bridge])
      for (let k = 0; k < cuts.length; k++) {
        const segFromMs = cuts[k] as number
        const segEndMs = cuts[k + 1] ?? endMs
        const fromMs = segFromMs + ctx.leasePeriodMs * (1 + ctx.driftBound)
        if (fromMs >= segEndMs) continue
        const quorumAt = (t: number) =>
          ctx.quorumOf
            ? ctx.quorumOf(reach, t, bridgeSet)
            : sideHasQuorum(reach, shardMapAt(trace, t), allNodes, bridgeSet)
        // A global-log change is used from the moment it is in the leader's log (Raft thesis
        // §4.1), before its commit: a side may hold a quorum of the NEXT committed shard set as
        // well (majorities of the two sets intersect, so at most one side holds either). Swarm
        // seed 661: `add shard 2` in the leader's log gave side B shards 1 and 2 of {0, 1, 2}
        // 700 ms before it committed.
        const nextGlobal = globalCuts.find((t) => t > segFromMs)
        if (quorumAt(segFromMs) || (nextGlobal !== undefined && quorumAt(nextGlobal))) continue
        for (const iv of globalLeases) {
          if (side.has(iv.node) && iv.untilMs > fromMs && iv.fromMs < segEndMs) {
            pushBounded(out, {
              invariant: 5,
              rule: 'minority-lease',
              trueMs: Math.max(iv.fromMs, fromMs),
              message: `${iv.node} on a side without quorum (partition at ${p.trueMs}) claims a global lease (term ${iv.term}) until ${iv.untilMs.toFixed(1)}, past ${fromMs.toFixed(1)}`,
              nodes: [iv.node],
            })
          }
        }
        for (const probe of ctx.probes ?? []) {
          if (probe.trueMs <= fromMs || probe.trueMs >= segEndMs) continue
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
  }
  return out
}
