/**
 * Who votes in which shard at a given true time, as the trace tells it: each node's latest
 * `shard:role` event (observers and nodes that never reported a role are in no shard). Used by
 * invariant 5 to decide which side of a partition holds a quorum of shards.
 */
import type { NodeId } from '@conclave/core'
import type { TraceRecord } from '../../trace.js'

export function shardMapAt(trace: readonly TraceRecord[], trueMs: number): Map<number, NodeId[]> {
  const shardOf = new Map<NodeId, number | null>()
  for (const { trueMs: t, event: e } of trace) {
    if (t > trueMs) break
    if (e.kind === 'shard:role') shardOf.set(e.node, e.role === 'observer' ? null : e.shard)
  }
  const map = new Map<number, NodeId[]>()
  for (const [node, shard] of shardOf) {
    if (shard === null) continue
    const voters = map.get(shard) ?? []
    voters.push(node)
    map.set(shard, voters)
  }
  return map
}

/**
 * A side holds a global quorum when a strict majority of shards each have a strict majority of
 * their voters on it (DESIGN.md, Global group). With no shards in the trace (flat baselines),
 * a strict majority of all nodes.
 */
export function sideHasQuorum(
  side: ReadonlySet<NodeId>,
  shards: ReadonlyMap<number, readonly NodeId[]>,
  allNodes: readonly NodeId[],
): boolean {
  if (shards.size === 0) return allNodes.filter((n) => side.has(n)).length * 2 > allNodes.length
  let held = 0
  for (const voters of shards.values()) {
    if (voters.filter((v) => side.has(v)).length * 2 > voters.length) held++
  }
  return held * 2 > shards.size
}
