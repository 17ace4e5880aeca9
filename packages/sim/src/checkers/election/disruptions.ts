/**
 * Disruptions: needless global leader changes (a figure, not an invariant). A new global term is
 * needless when the leader it replaced was healthy: up, not paused within the last
 * `windowMs`, and not cut off from most nodes by an active partition. The classic case is a
 * partitioned node returning with an inflated term and deposing a healthy leader — what PreVote
 * (Raft thesis §9.6) and CheckQuorum exist to prevent. Planned handovers (priority transfer)
 * count too; the report says so.
 */
import type { NodeId } from '@conclave/core'
import type { FaultRecord, TraceRecord } from '../../trace.js'

export function countDisruptions(
  trace: readonly TraceRecord[],
  faults: readonly FaultRecord[],
  windowMs: number,
): { disruptions: number; leaderChanges: number } {
  const allNodes = faults.filter((f) => f.kind === 'add').length
  let leader: { node: NodeId; term: number } | undefined
  let disruptions = 0
  let leaderChanges = 0
  for (const { trueMs, event: e } of trace) {
    if (e.kind !== 'global:leader') continue
    if (leader !== undefined && e.term > leader.term) {
      leaderChanges++
      if (healthy(leader.node, trueMs, faults, windowMs, allNodes)) disruptions++
    }
    if (leader === undefined || e.term > leader.term) leader = { node: e.leader, term: e.term }
  }
  return { disruptions, leaderChanges }
}

function healthy(
  node: NodeId,
  atMs: number,
  faults: readonly FaultRecord[],
  windowMs: number,
  n: number,
): boolean {
  let up = true
  let cutOff = false
  for (const f of faults) {
    if (f.trueMs > atMs) break
    if (f.kind === 'heal') cutOff = false
    if (f.kind === 'partition' && !f.oneWay) {
      const inA = f.groupA?.includes(node) ?? false
      const inB = f.groupB?.includes(node) ?? false
      const sideSize = inA ? (f.groupA?.length ?? 0) : inB ? (f.groupB?.length ?? 0) : n
      if (sideSize * 2 <= n) cutOff = true
    }
    if (f.node !== node) continue
    if (f.kind === 'crash') up = false
    if (f.kind === 'restart') up = f.trueMs < atMs - windowMs
    if (f.kind === 'pause' && f.trueMs + (f.durationMs ?? 0) >= atMs - windowMs) return false
  }
  return up && !cutOff
}
