/**
 * A simulated cluster of real `Membership` machines: starts nodes with a seed list, restarts
 * them (rejoining with a new boot epoch), and answers "does every live node see every live
 * node alive?" cheaply enough to ask every 100 ms at 5000 nodes.
 */
import {
  createRng,
  decodeClaimEntry,
  lanConfig,
  Membership,
  type MembershipConfig,
  type NodeId,
  type Rng,
  simSigner,
  type TraceEvent,
} from '@conclave/core'
import type { NetworkModel } from '../../network-model.js'
import { idsFor } from '../../peer-ids.js'
import { Simulation } from '../../simulation.js'

export interface ClusterInit {
  seed: number
  network: NetworkModel
  config?: MembershipConfig
  /** Ids to mint: the initial nodes plus spares that join later (churn). */
  idsTotal: number
}

export class MembershipCluster {
  readonly sim: Simulation
  readonly ids: NodeId[]
  /** The scenario's own stream (victims, timings), apart from the simulator's streams. */
  readonly rng: Rng
  readonly config: MembershipConfig
  private readonly seedsOf = new Map<NodeId, NodeId[]>()
  private readonly started: NodeId[] = []
  private readonly gone = new Set<NodeId>()
  private readonly signer = simSigner()

  constructor(init: ClusterInit) {
    this.config = init.config ?? lanConfig()
    this.ids = idsFor(init.idsTotal, init.seed)
    this.rng = createRng(init.seed ^ 0x5ce7a710)
    // Keep what the checkers need, not the O(N²) "met a member" chatter of a bootstrap: joins,
    // and alive events unless they take back an earlier suspicion or death by that observer.
    const flagged = new Set<string>()
    const keepTrace = (e: TraceEvent): boolean => {
      if (e.kind === 'member:join') return false
      if (e.kind !== 'member:state') return true
      const key = `${e.node}|${e.member}`
      if (e.state !== 'alive') {
        flagged.add(key)
        return true
      }
      return flagged.delete(key)
    }
    this.sim = new Simulation({ seed: init.seed, network: init.network, keepTrace })
  }

  /** Start a node now; it joins through `seeds` (and again through them after each restart). */
  start(id: NodeId, seeds: NodeId[]): void {
    this.seedsOf.set(id, seeds)
    this.started.push(id)
    this.sim.addNode(id, (ctx) => {
      const m = new Membership(
        { id: ctx.id, bootEpoch: ctx.bootEpoch, rng: ctx.rng, config: this.config, signer: this.signer },
        ctx.nowMs,
      )
      m.join(this.seedsOf.get(ctx.id) ?? [], ctx.nowMs)
      return m
    })
  }

  /**
   * Starts `ids` now as a cluster that has already converged: every node adopts the signed
   * claims of all the others (`Membership.adoptView`) instead of learning them through join
   * pages and anti-entropy, the O(N²) exchange that dominates a large simulated bootstrap. The
   * view adopted is the one a real join converges to (every member alive at its first claim);
   * scenarios that are about joining do the real thing instead. A node restarted later joins
   * through `seedsOf(id)` like any other.
   */
  startConverged(ids: readonly NodeId[], seedsOf: (id: NodeId) => NodeId[]): void {
    const firstBoot = new Set<NodeId>(ids)
    for (const id of ids) {
      this.seedsOf.set(id, seedsOf(id))
      this.started.push(id)
      this.sim.addNode(id, (ctx) => {
        const m = new Membership(
          { id: ctx.id, bootEpoch: ctx.bootEpoch, rng: ctx.rng, config: this.config, signer: this.signer },
          ctx.nowMs,
        )
        // The first boot adopts the converged view (below); a restart joins for real.
        if (!firstBoot.delete(ctx.id)) m.join(this.seedsOf.get(ctx.id) ?? [], ctx.nowMs)
        return m
      })
    }
    // Each claim decoded once and shared read-only by every table (entries are relayed as is).
    const claims = ids.map((id) =>
      decodeClaimEntry((this.membership(id) as Membership).ownClaimEntry(), this.config.frameBytesMax),
    )
    for (const id of ids) this.sim.act<Membership, number>(id, (m, nowMs) => m.adoptView(claims, nowMs))
  }

  membership(id: NodeId): Membership | undefined {
    return this.sim.machine<Membership>(id)
  }

  /** Crash a node (it may be restarted later). */
  crash(id: NodeId): void {
    this.sim.crash(id)
  }

  restart(id: NodeId): void {
    this.sim.restart(id)
  }

  /** Graceful leave; the process exits `exitAfterMs` later, as a real one would. */
  leave(id: NodeId, exitAfterMs: number): void {
    this.gone.add(id)
    this.sim.act<Membership, void>(id, (m, nowMs) => m.leave(nowMs))
    this.sim.schedule(this.sim.nowMs + exitAfterMs, () => this.sim.crash(id))
  }

  /** Nodes that are running now and have not left (paused nodes count: they are not gone). */
  live(): NodeId[] {
    return this.started.filter((id) => this.sim.isUp(id) && !this.gone.has(id))
  }

  /** Started nodes that never crashed or left (the healthy core, for traffic figures). */
  everStarted(): readonly NodeId[] {
    return this.started
  }

  hasLeft(id: NodeId): boolean {
    return this.gone.has(id)
  }

  /** Pick `k` distinct random nodes from `from`. */
  pick(from: readonly NodeId[], k: number): NodeId[] {
    const pool = [...from]
    const out: NodeId[] = []
    while (out.length < k && pool.length > 0) {
      const i = this.rng.int(pool.length)
      out.push(pool[i] as NodeId)
      pool[i] = pool[pool.length - 1] as NodeId
      pool.pop()
    }
    return out
  }

  /** Does every live node see every live node (itself included) alive or suspect? */
  allSeeAll(): boolean {
    const live = this.live()
    // Cheap filter first: the alive count; the full O(N²) check runs only when it passes.
    for (const id of live) {
      const m = this.membership(id)
      if (m === undefined || m.aliveCount() < live.length) return false
    }
    for (const id of live) {
      const m = this.membership(id) as Membership
      for (const other of live) {
        const view = m.member(other)
        if (view === undefined || view.state === 'dead' || view.state === 'left') return false
      }
    }
    return true
  }

  rejections(): number {
    let sum = 0
    for (const id of this.live()) sum += this.membership(id)?.rejections.total() ?? 0
    return sum
  }
}
