/**
 * Random fault schedules for the swarm (VOPR-style): a seeded sequence of crashes, restarts,
 * pauses, partitions (two-way and one-way, random splits and "leader cut off"), heals, loss
 * bursts and (growth seeds) joins of fresh nodes, aimed at the leaders as often as at random nodes. Everything comes from the seed, so
 * the same seed gives the same schedule (and, with the same commit, the same trace).
 *
 * Bounds: at most `crashedMax` nodes down at once (a minority, so liveness can recover), pauses
 * of at most 3 s, loss of at most 20%.
 */
import type { NodeId, Rng } from '@conclave/core'
import type { ElectionRun } from '../scenarios/election/harness.js'

export type FaultAction =
  | 'crash-random'
  | 'crash-leader'
  | 'crash-shard-leader'
  | 'restart'
  | 'pause-random'
  | 'pause-leader'
  | 'partition-random'
  | 'partition-leader'
  | 'partition-one-way'
  | 'heal'
  | 'loss'
  | 'join'

const ACTIONS: readonly FaultAction[] = [
  'crash-random',
  'crash-leader',
  'crash-shard-leader',
  'restart',
  'restart',
  'pause-random',
  'pause-leader',
  'partition-random',
  'partition-leader',
  'partition-one-way',
  'heal',
  'heal',
  'loss',
  'join',
  'join',
]

export interface ScheduleOptions {
  /** How long the safety phase injects faults, ms. */
  readonly durationMs: number
  /** Gap between two faults is uniform in [gapMinMs, gapMaxMs]. */
  readonly gapMinMs: number
  readonly gapMaxMs: number
}

function sample(rng: Rng, items: readonly NodeId[], k: number): NodeId[] {
  const pool = [...items]
  const out: NodeId[] = []
  while (out.length < k && pool.length > 0) {
    const i = rng.int(pool.length)
    out.push(pool[i] as NodeId)
    pool.splice(i, 1)
  }
  return out
}

/** Play a random schedule on `run` for opts.durationMs; returns the actions taken, in order. */
export function playFaults(run: ElectionRun, rng: Rng, opts: ScheduleOptions): FaultAction[] {
  const taken: FaultAction[] = []
  const ids = run.ids
  const crashedMax = Math.floor((ids.length - 1) / 2)
  const endMs = run.sim.nowMs + opts.durationMs
  for (;;) {
    const gap = rng.range(opts.gapMinMs, opts.gapMaxMs)
    if (run.sim.nowMs + gap >= endMs) break
    run.sim.runFor(gap)
    const action = ACTIONS[rng.int(ACTIONS.length)] as FaultAction
    const down = ids.filter((id) => !run.sim.isUp(id))
    const up = ids.filter((id) => run.sim.isUp(id))
    const leader = run.actingLeader()?.id
    switch (action) {
      case 'crash-random':
      case 'crash-leader':
      case 'crash-shard-leader': {
        if (down.length >= crashedMax) continue
        let victim: NodeId | undefined
        if (action === 'crash-leader') victim = leader
        else if (action === 'crash-shard-leader') {
          const sl = up.filter((id) => run.subject(id)?.shardLeader?.()?.id === id)
          victim = sl[rng.int(Math.max(1, sl.length))]
        }
        victim ??= up[rng.int(up.length)]
        if (victim === undefined) continue
        run.crash(victim)
        break
      }
      case 'restart': {
        const id = down[rng.int(Math.max(1, down.length))]
        if (id === undefined) continue
        run.sim.restart(id)
        break
      }
      case 'pause-random':
      case 'pause-leader': {
        const id =
          action === 'pause-leader' && leader !== undefined ? leader : up[rng.int(Math.max(1, up.length))]
        if (id === undefined) continue
        run.sim.pause(id, rng.range(50, 3000))
        break
      }
      case 'partition-random':
      case 'partition-leader':
      case 'partition-one-way': {
        const k = 1 + rng.int(Math.max(1, ids.length - 1))
        let side = sample(rng, ids, k)
        if (action === 'partition-leader' && leader !== undefined && !side.includes(leader))
          side = [leader, ...side.slice(1)]
        const set = new Set(side)
        run.partition(
          side,
          ids.filter((id) => !set.has(id)),
          action === 'partition-one-way',
        )
        break
      }
      case 'heal':
        run.sim.heal()
        break
      case 'loss':
        run.sim.setLoss(rng.int(3) === 0 ? 0 : rng.float() * 0.2)
        break
      case 'join': {
        // Growth seeds only (run-seed.ts): fresh nodes join, so shards fill up and split.
        if (run.joiners.length === 0) continue
        run.join(1 + rng.int(8))
        break
      }
    }
    taken.push(action)
  }
  run.sim.runUntil(endMs)
  return taken
}
