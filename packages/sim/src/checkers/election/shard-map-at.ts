/**
 * Who votes in which shard at a given true time. Used by invariant 5 to decide which side of a
 * partition holds a quorum of shards.
 *
 * What a node claims (its latest `shard:role`, or its `status().shard` read by the harness) is
 * only a starting point: a voter removed from a shard while it was down still claims that shard
 * after a restart. The committed shard logs decide (Raft §4.1 single-server changes): each
 * `shardmap:commit` that a shard leader emits for a committed config entry
 * (`add X to shard S` / `remove X from shard S`) overrides the claims, the entry with the highest
 * log index per (node, shard) winning; a shard the global log dissolved (`global dissolve shard S`,
 * until a `global restore shard S`) counts no more, as the global group no longer counts it; a
 * shard a split is forming (`global form shard S`) counts only from `global add shard S` on.
 */
import type { NodeId } from '@conclave/core'
import type { TraceRecord } from '../../trace.js'

/** The shard map the trace shows at trueMs: claims from `shard:role`, corrected by the committed logs. */
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
  return withCommittedConfig(map, trace, trueMs)
}

const CONFIG_CHANGE = /^(add|remove) (\S+) (?:to|from) shard (\d+)$/
/** `global dissolve shard 3 (…)`, `global add shard 7, form shard 8 seeds a,b,c (…)`. */
const GLOBAL_CHANGE = /^global (dissolve|restore|form|add) shard/
/** `global state total 3 removed 1,4 forming none (map v9)`. */
const GLOBAL_STATE = /^global state total \d+ removed ([\d,]+|none) forming (\d+|none)/
const GLOBAL_PART = /(dissolve|restore|form|add) shard ([\d,]+)/g

/**
 * `claimed` (shard → voters as the nodes say) corrected by the committed config entries and
 * global dissolves in the trace up to trueMs. Pure: returns a new map.
 */
export function withCommittedConfig(
  claimed: ReadonlyMap<number, readonly NodeId[]>,
  trace: readonly TraceRecord[],
  trueMs: number,
): Map<number, NodeId[]> {
  // (shard → node → the committed entry with the highest index about that node)
  const committed = new Map<number, Map<NodeId, { index: number; member: boolean }>>()
  const dissolved = new Set<number>()
  /** Shards a split reserved (`global form shard S`) that are not global voters yet (`global add shard S`). */
  const forming = new Set<number>()
  for (const { trueMs: t, event: e } of trace) {
    if (t > trueMs) break
    if (e.kind !== 'shardmap:commit') continue
    const c = CONFIG_CHANGE.exec(e.change)
    if (c) {
      const [, op, node, shardText] = c
      if (node === undefined || shardText === undefined) continue
      const shard = Number(shardText)
      const byNode = committed.get(shard) ?? new Map<NodeId, { index: number; member: boolean }>()
      const prev = byNode.get(node)
      if (prev === undefined || e.index >= prev.index)
        byNode.set(node, { index: e.index, member: op === 'add' })
      committed.set(shard, byNode)
      continue
    }
    const st = GLOBAL_STATE.exec(e.change)
    if (st) {
      // The whole committed state (a new global leadership's first commit): replaces both sets.
      dissolved.clear()
      forming.clear()
      if (st[1] !== 'none') for (const x of (st[1] ?? '').split(',')) dissolved.add(Number(x))
      if (st[2] !== 'none') forming.add(Number(st[2]))
      continue
    }
    if (!GLOBAL_CHANGE.test(e.change)) continue
    for (const g of e.change.matchAll(GLOBAL_PART)) {
      for (const s of (g[2] ?? '').split(',')) {
        if (g[1] === 'dissolve') {
          dissolved.add(Number(s))
          forming.delete(Number(s))
        } else if (g[1] === 'restore') dissolved.delete(Number(s))
        else if (g[1] === 'form') forming.add(Number(s))
        else forming.delete(Number(s))
      }
    }
  }
  const map = new Map<number, NodeId[]>()
  for (const [shard, voters] of claimed) map.set(shard, [...voters])
  for (const [shard, byNode] of committed) {
    const voters = new Set(map.get(shard) ?? [])
    for (const [node, { member }] of byNode) {
      if (member) voters.add(node)
      else voters.delete(node)
    }
    map.set(shard, [...voters])
  }
  for (const shard of dissolved) map.delete(shard)
  for (const shard of forming) map.delete(shard)
  return map
}

/**
 * A side holds a global quorum when a strict majority of shards each have a strict majority of
 * their voters on it (DESIGN.md, Global group). With no shards in the trace (flat baselines),
 * a strict majority of all nodes. `bridge`: nodes that reach both sides (also in `side`). A shard
 * with a bridge voter can be held by either side whatever its other voters: the bridge node can
 * lead it (it reaches every voter, so it holds the shard lease) and it acks either side's global
 * leader. (Election bridge scenario, 60 nodes, seed 7: shard 8 = one A voter, two B voters and a
 * bridge node that led it; side A held 7 of 13 shards through it, 6 by the voters-on-the-side
 * count, and its global lease was reported as a minority's.)
 */
export function sideHasQuorum(
  side: ReadonlySet<NodeId>,
  shards: ReadonlyMap<number, readonly NodeId[]>,
  allNodes: readonly NodeId[],
  bridge?: ReadonlySet<NodeId>,
): boolean {
  if (shards.size === 0) return allNodes.filter((n) => side.has(n)).length * 2 > allNodes.length
  let held = 0
  for (const voters of shards.values()) {
    if (voters.filter((v) => side.has(v)).length * 2 > voters.length) held++
    else if (bridge !== undefined && voters.some((v) => bridge.has(v))) held++
  }
  return held * 2 > shards.size
}
