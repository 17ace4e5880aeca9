/**
 * Seeded fault fuzzing on the in-test network: crashes, restarts and partitions, then a quiet
 * liveness phase. Checks invariants 1, 2 (shared clock), 3 and 4, and that a single leader known
 * to every live node appears. A failure names its seed; the same seed replays exactly.
 */
import { describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'
import { createRng } from '../util/rng.js'
import { type ConclaveConfig, lanConclaveConfig, type UnsafeBreak } from './conclave-config.js'
import { TestNet, testIds } from './test-net.js'

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

/** A crash also wipes volatile state; pauses are not modelled here (the simulator has them). */
export function fuzzRun(
  seed: number,
  brk?: UnsafeBreak,
): { violations: string[]; live: boolean; net: TestNet } {
  const rng = createRng(seed)
  const n = 3 + rng.int(23)
  const cfg: ConclaveConfig = lanConclaveConfig()
  if (brk) cfg.unsafe = { break: brk }
  const net = new TestNet({ ids: testIds(n), config: cfg, seed, latencyMs: 1 + rng.int(4) })
  net.runFor(1500)
  for (let step = 0; step < 20; step++) {
    const ids = net.opts.ids
    const pick = ids[rng.int(ids.length)] as NodeId
    const r = rng.float()
    if (r < 0.25 && net.live().length > 1) net.crash(pick)
    else if (r < 0.5 && net.down.size > 0) net.restart([...net.down][rng.int(net.down.size)] as NodeId)
    else if (r < 0.65) {
      const side = ids.filter(() => rng.float() < 0.4)
      net.partition(
        side,
        ids.filter((id) => !side.includes(id)),
      )
    } else if (r < 0.75) {
      // Isolate the global leader (the partition-minority scenario).
      const leader = net.globalLeaders()[0]
      if (leader)
        net.partition(
          [leader],
          ids.filter((id) => id !== leader),
        )
    } else if (r < 0.85) net.heal()
    else if (r < 0.95) {
      // Pause the global leader (or anyone) for longer than a lease (the pause-leader scenario).
      const victim = net.globalLeaders()[0] ?? pick
      net.pause(victim, 200 + rng.int(1200))
    }
    net.runFor(100 + rng.int(400))
  }
  net.heal()
  for (const id of [...net.down]) net.restart(id)
  net.runFor(5000)
  const leaders = net.globalLeaders()
  const live = leaders.length === 1 && net.live().every((id) => net.machine(id).leader()?.id === leaders[0])
  return { violations: safetyViolations(net.trace), live, net }
}

describe('election fuzz (seeded faults, then liveness)', () => {
  it('30 seeds: no safety violation, and a leader known to all after faults stop', () => {
    const failing: string[] = []
    for (let seed = 1; seed <= 30; seed++) {
      const r = fuzzRun(seed)
      if (r.violations.length > 0 || !r.live)
        failing.push(`seed ${seed}: live=${r.live} ${r.violations.slice(0, 3).join('; ')}`)
    }
    expect(failing).toEqual([])
  })
})
