/**
 * Invariant 1: at most one shard leader per (shard, shard term), at most one global leader per
 * global term (Raft §5.2 Election Safety). A leader announces itself with `shard:role` role
 * 'leader' and `global:leader`; two different nodes doing so for one term is a violation.
 */
import type { NodeId } from '@conclave/core'
import type { TraceRecord } from '../../trace.js'
import { type ElectionCheckContext, type ElectionViolation, pushBounded } from './violation.js'

export function checkOneLeaderPerTerm(
  trace: readonly TraceRecord[],
  _ctx?: ElectionCheckContext,
): ElectionViolation[] {
  const out: ElectionViolation[] = []
  const shardLeaders = new Map<string, NodeId>()
  const globalLeaders = new Map<number, NodeId>()
  for (const { trueMs, event: e } of trace) {
    if (e.kind === 'shard:role' && e.role === 'leader') {
      const key = `${e.shard}/${e.term}`
      const prev = shardLeaders.get(key)
      if (prev === undefined) shardLeaders.set(key, e.node)
      else if (prev !== e.node) {
        pushBounded(out, {
          invariant: 1,
          rule: 'two-shard-leaders',
          trueMs,
          message: `shard ${e.shard} term ${e.term}: leaders ${prev} and ${e.node}`,
          nodes: [prev, e.node],
        })
      }
    } else if (e.kind === 'global:leader') {
      const prev = globalLeaders.get(e.term)
      if (prev === undefined) globalLeaders.set(e.term, e.leader)
      else if (prev !== e.leader) {
        pushBounded(out, {
          invariant: 1,
          rule: 'two-global-leaders',
          trueMs,
          message: `global term ${e.term}: leaders ${prev} and ${e.leader}`,
          nodes: [prev, e.leader],
        })
      }
    }
  }
  return out
}
