/**
 * Invariants 1–4 over an in-test-network trace (one shared clock): at most one leader per
 * (shard, term) and per global term, no two nodes' leases of one scope overlap, global lease
 * terms never go back (fencing), one global vote per shard per term. Used by the fuzz test and
 * the shard-map scenarios; returns one line per violation.
 */
import type { NodeId } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'

type Traced = TraceEvent & { trueMs: number }

export function safetyViolations(trace: readonly Traced[]): string[] {
  const out: string[] = []
  const shardLeaders = new Map<string, NodeId>()
  const globalLeaders = new Map<number, NodeId>()
  const globalVotes = new Map<string, NodeId>()
  const holds = new Map<string, { node: NodeId; from: number; until: number }[]>()
  const open = new Map<string, { node: NodeId; from: number; until: number }>()
  let lastToken = 0
  for (const e of trace) {
    if (e.kind === 'shard:leader' && e.node === e.leader) {
      const k = `${e.shard}/${e.term}`
      const prev = shardLeaders.get(k)
      if (prev !== undefined && prev !== e.node) out.push(`inv1: shard ${k} leaders ${prev} and ${e.node}`)
      shardLeaders.set(k, e.node)
    } else if (e.kind === 'global:leader') {
      const prev = globalLeaders.get(e.term)
      if (prev !== undefined && prev !== e.node)
        out.push(`inv1: global term ${e.term} leaders ${prev} and ${e.node}`)
      globalLeaders.set(e.term, e.node)
    } else if (e.kind === 'global:vote') {
      const k = `${e.shard}/${e.term}`
      const prev = globalVotes.get(k)
      if (prev !== undefined && prev !== e.candidate)
        out.push(`inv4: shard ${e.shard} voted ${prev} and ${e.candidate} in ${e.term}`)
      globalVotes.set(k, e.candidate)
    } else if (e.kind === 'lease:hold') {
      const scope = e.scope === 'global' ? 'global' : `shard-${e.shard}`
      if (e.scope === 'global') {
        if (e.term < lastToken) out.push(`inv3: token ${e.term} after ${lastToken}`)
        lastToken = Math.max(lastToken, e.term)
      }
      const key = `${scope}|${e.node}`
      const cur = open.get(key)
      if (cur && cur.until >= e.fromMs) cur.until = Math.max(cur.until, e.untilMs)
      else {
        const iv = { node: e.node, from: e.fromMs, until: e.untilMs }
        open.set(key, iv)
        const list = holds.get(scope) ?? []
        list.push(iv)
        holds.set(scope, list)
      }
    } else if (e.kind === 'lease:end') {
      const scope = e.scope === 'global' ? 'global' : `shard-${e.shard}`
      const cur = open.get(`${scope}|${e.node}`)
      if (cur) cur.until = Math.min(cur.until, e.atMs)
    }
  }
  for (const [scope, list] of holds) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]
        const b = list[j]
        if (a && b && a.node !== b.node && a.from < b.until && b.from < a.until) {
          out.push(`inv2: ${scope} ${a.node} [${a.from},${a.until}] ∩ ${b.node} [${b.from},${b.until}]`)
        }
      }
    }
  }
  return out
}
