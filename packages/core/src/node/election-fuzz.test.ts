/**
 * Seeded fault fuzzing on the in-test network: crashes, restarts and partitions, then a quiet
 * liveness phase. Checks invariants 1, 2 (shared clock), 3 and 4, and that a single leader known
 * to every live node appears. A failure names its seed; the same seed replays exactly.
 */
import { describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import { createRng } from '../util/rng.js'
import { type ConclaveConfig, lanConclaveConfig, type UnsafeBreak } from './conclave-config.js'
import { safetyViolations } from './safety-check.js'
import { TestNet, testIds } from './test-net.js'

/** A crash also wipes volatile state; pauses are not modelled here (the simulator has them). */
export function fuzzRun(
  seed: number,
  brk?: UnsafeBreak,
  deadGraceMs?: number,
): { violations: string[]; live: boolean; net: TestNet } {
  const rng = createRng(seed)
  const n = 3 + rng.int(23)
  const cfg: ConclaveConfig = lanConclaveConfig()
  if (brk) cfg.unsafe = { break: brk }
  if (deadGraceMs !== undefined) cfg.shardMap.deadGraceMs = deadGraceMs
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

  it('30 seeds with a 400 ms grace: removals, dissolves and merges under faults stay safe and live', () => {
    const failing: string[] = []
    let dissolves = 0
    for (let seed = 1001; seed <= 1030; seed++) {
      const r = fuzzRun(seed, undefined, 400)
      dissolves += r.net
        .events('shardmap:commit')
        .filter((e) => e.change.startsWith('global dissolve')).length
      if (r.violations.length > 0 || !r.live)
        failing.push(`seed ${seed}: live=${r.live} ${r.violations.slice(0, 3).join('; ')}`)
    }
    expect(failing).toEqual([])
    expect(dissolves).toBeGreaterThan(0) // the run really exercised the global log
  })
})
