/**
 * The six membership scenarios: what each does to the cluster during its measured phase. Every
 * choice (victims, timings) comes from the cluster's seeded scenario stream.
 *
 * - crash: one random live node crashes every 2 s (samples for the detection percentiles).
 * - loss: random loss (default 5%) on every message for the whole phase; no other fault.
 * - pause: every 10 s a different random node freezes for 2 s (GC stall / SIGSTOP).
 * - partition: a random 20% of the nodes is cut off both ways for 10 s, then healed.
 * - churn: every second, in turn: a new node joins, a node crashes, a node leaves gracefully,
 *   the node that crashed longest ago restarts, if that was at least 10 s ago (new boot epoch).
 * - join: no warm-up; all nodes start within 1 s and join through the same single seed.
 */
import type { NodeId } from '@conclave/core'
import type { MembershipCluster } from './cluster.js'
import type { DetectionTracker } from './detection.js'
import type { MembershipScenarioName } from './types.js'

export interface PlanContext {
  readonly cluster: MembershipCluster
  readonly tracker: DetectionTracker
  /** True time at which the measured phase starts, and its length. */
  readonly startMs: number
  readonly durationMs: number
  readonly lossRate: number
  /** Scenario-specific results the report picks up. */
  readonly results: { healAtMs?: number; pauses?: Array<{ node: NodeId; fromMs: number; toMs: number }> }
}

export interface Plan {
  readonly defaultDurationS: number
  /** Extra ids to mint beyond the initial nodes (churn joins fresh nodes). */
  spares(nodes: number, durationMs: number): number
  /** Schedule the phase's faults on ctx.cluster.sim. */
  schedule(ctx: PlanContext): void
}

const CRASH_SPACING_MS = 2000
const PAUSE_EVERY_MS = 10_000
const PAUSE_MS = 2000
const PARTITION_MS = 10_000
const PARTITION_FRACTION = 0.2
const CHURN_EVERY_MS = 1000
const LEAVE_EXIT_AFTER_MS = 1000
const RESTART_AFTER_MS = 10_000

function crashOne(ctx: PlanContext, exclude: ReadonlySet<NodeId>): NodeId | undefined {
  const { cluster, tracker } = ctx
  const candidates = cluster.live().filter((id) => !exclude.has(id) && !cluster.sim.isPaused(id))
  const [victim] = cluster.pick(candidates, 1)
  if (victim === undefined) return undefined
  // Observers: the nodes that know the victim alive now (a node still joining may not have it).
  const knewIt = new Set<NodeId>()
  for (const id of cluster.live()) {
    const state = cluster.membership(id)?.member(victim)?.state
    if (id !== victim && (state === 'alive' || state === 'suspect')) knewIt.add(id)
  }
  cluster.crash(victim)
  tracker.watch(victim, cluster.sim.nowMs, knewIt)
  return victim
}

export const plans: Record<MembershipScenarioName, Plan> = {
  crash: {
    defaultDurationS: 60,
    spares: () => 0,
    schedule(ctx) {
      const { sim } = ctx.cluster
      // Leave the cluster at least 75% alive, and the last crash 4 s to spread.
      const crashesMax = Math.max(1, Math.floor(ctx.cluster.live().length / 4))
      const count = Math.min(crashesMax, Math.floor((ctx.durationMs - 4000) / CRASH_SPACING_MS))
      for (let i = 0; i < count; i++) {
        sim.schedule(ctx.startMs + 1000 + i * CRASH_SPACING_MS, () => crashOne(ctx, new Set()))
      }
    },
  },

  loss: {
    defaultDurationS: 600,
    spares: () => 0,
    schedule(ctx) {
      ctx.cluster.sim.setLoss(ctx.lossRate)
    },
  },

  pause: {
    defaultDurationS: 60,
    spares: () => 0,
    schedule(ctx) {
      const { cluster } = ctx
      const pauses: Array<{ node: NodeId; fromMs: number; toMs: number }> = []
      ctx.results.pauses = pauses
      const used = new Set<NodeId>()
      for (
        let at = ctx.startMs + 2000;
        at + PAUSE_MS <= ctx.startMs + ctx.durationMs - 2000;
        at += PAUSE_EVERY_MS
      ) {
        cluster.sim.schedule(at, () => {
          const [node] = cluster.pick(
            cluster.live().filter((id) => !used.has(id)),
            1,
          )
          if (node === undefined) return
          used.add(node)
          cluster.sim.pause(node, PAUSE_MS)
          pauses.push({ node, fromMs: at, toMs: at + PAUSE_MS })
        })
      }
    },
  },

  partition: {
    defaultDurationS: 40,
    spares: () => 0,
    schedule(ctx) {
      const { cluster } = ctx
      const at = ctx.startMs + 2000
      cluster.sim.schedule(at, () => {
        const live = cluster.live()
        const minority = new Set(
          cluster.pick(live, Math.max(1, Math.round(live.length * PARTITION_FRACTION))),
        )
        cluster.sim.partition(
          [...minority],
          live.filter((id) => !minority.has(id)),
        )
      })
      cluster.sim.schedule(at + PARTITION_MS, () => {
        cluster.sim.heal()
        ctx.results.healAtMs = cluster.sim.nowMs
      })
    },
  },

  churn: {
    defaultDurationS: 60,
    spares: (_nodes, durationMs) => Math.ceil(durationMs / CHURN_EVERY_MS / 4) + 1,
    schedule(ctx) {
      const { cluster } = ctx
      const crashed: Array<{ id: NodeId; atMs: number }> = []
      const untouched = new Set<NodeId>()
      let spareNext = cluster.everStarted().length
      let step = 0
      for (let at = ctx.startMs + 1000; at <= ctx.startMs + ctx.durationMs - 4000; at += CHURN_EVERY_MS) {
        const action = step++ % 4
        cluster.sim.schedule(at, () => {
          const live = cluster.live()
          switch (action) {
            case 0: {
              const id = cluster.ids[spareNext++]
              if (id !== undefined) cluster.start(id, cluster.pick(live, 3))
              return
            }
            case 1: {
              const victim = crashOne(ctx, untouched)
              if (victim !== undefined) crashed.push({ id: victim, atMs: cluster.sim.nowMs })
              return
            }
            case 2: {
              const [leaver] = cluster.pick(
                live.filter((id) => !cluster.sim.isPaused(id)),
                1,
              )
              if (leaver !== undefined) cluster.leave(leaver, LEAVE_EXIT_AFTER_MS)
              return
            }
            default: {
              // Restart the oldest crash once its detection had time to complete.
              const back = crashed[0]
              if (back === undefined || cluster.sim.nowMs - back.atMs < RESTART_AFTER_MS) return
              crashed.shift()
              ctx.tracker.unwatch(back.id)
              cluster.restart(back.id)
            }
          }
        })
      }
    },
  },

  join: {
    defaultDurationS: 30,
    spares: () => 0,
    // The nodes are started by the runner (no warm-up); nothing else happens.
    schedule() {},
  },
}
