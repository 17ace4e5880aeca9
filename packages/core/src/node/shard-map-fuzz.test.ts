/**
 * Seeded faults aimed at the global log: 25–35 nodes (5–7 shards), a 400 ms grace, and besides
 * crashes, restarts, partitions and pauses, whole shards killed at once (dissolve) or shrunk
 * below 3 (merge), while the global leader changes. Invariants 1–4 on the whole trace; after the
 * faults stop (everyone restarted, healed) one leader known to all live nodes.
 */
import { describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import { createRng } from '../util/rng.js'
import { lanConclaveConfig } from './conclave-config.js'
import { safetyViolations } from './safety-check.js'
import { TestNet, testIds } from './test-net.js'

export function shardMapFuzzRun(
  seed: number,
  onNet?: (net: TestNet) => void,
): { violations: string[]; live: boolean; dissolves: number } {
  const rng = createRng(seed)
  const cfg = lanConclaveConfig()
  cfg.shardMap.deadGraceMs = 400
  const net = new TestNet({ ids: testIds(25 + rng.int(11)), config: cfg, seed, latencyMs: 1 + rng.int(4) })
  onNet?.(net)
  net.runFor(1500)
  for (let step = 0; step < 16; step++) {
    const ids = net.opts.ids
    const r = rng.float()
    const shards = [...new Set(net.live().map((id) => net.machine(id).status(net.nowMs).shard))]
    const shard = shards.length > 0 ? shards[rng.int(shards.length)] : null
    const members = net
      .live()
      .filter((id) => shard !== null && net.machine(id).status(net.nowMs).shard === shard)
    if (r < 0.25) for (const m of members) net.crash(m)
    else if (r < 0.4) for (const m of members.slice(0, Math.max(0, members.length - 2))) net.crash(m)
    else if (r < 0.55) net.crash(ids[rng.int(ids.length)] as NodeId)
    else if (r < 0.65 && net.down.size > 0) net.restart([...net.down][rng.int(net.down.size)] as NodeId)
    else if (r < 0.75) {
      const side = ids.filter(() => rng.float() < 0.4)
      net.partition(
        side,
        ids.filter((id) => !side.includes(id)),
      )
    } else if (r < 0.85) net.heal()
    else {
      const victim = net.globalLeaders()[0]
      if (victim) net.pause(victim, 200 + rng.int(800))
    }
    net.runFor(300 + rng.int(900))
  }
  net.heal()
  for (const id of [...net.down]) net.restart(id)
  net.runFor(6000)
  const leaders = net.globalLeaders()
  const live = leaders.length === 1 && net.live().every((id) => net.machine(id).leader()?.id === leaders[0])
  const dissolves = net.events('shardmap:commit').filter((e) => e.change.startsWith('global dissolve')).length
  return { violations: safetyViolations(net.trace), live, dissolves }
}

describe('global log fuzz (whole shards die, shards shrink, leaders change)', () => {
  it('12 seeds: invariants 1–4 hold, a leader known to all after faults stop, dissolves happen', () => {
    const failing: string[] = []
    let dissolves = 0
    for (let seed = 2001; seed <= 2012; seed++) {
      const r = shardMapFuzzRun(seed)
      dissolves += r.dissolves
      if (r.violations.length > 0 || !r.live)
        failing.push(`seed ${seed}: live=${r.live} ${r.violations.slice(0, 3).join('; ')}`)
    }
    expect(failing).toEqual([])
    expect(dissolves).toBeGreaterThan(0)
  })
})
