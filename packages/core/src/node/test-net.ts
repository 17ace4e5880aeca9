/**
 * A tiny deterministic in-process network for election unit tests (no sleeps, no simulator
 * dependency): fixed latency, per-node stores, crash/restart, partitions, and a static
 * membership (everyone alive) so the election layers can be tested on their own.
 */

import type { MemberView } from '../membership/index.js'
import { simSigner } from '../membership/index.js'
import type { Layer, NodeId, Outbound } from '../sans-io.js'
import { emptyReady } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'
import { createRng } from '../util/rng.js'
import { RejectionCounter } from '../wire/errors.js'
import type { ConclaveConfig } from './conclave-config.js'
import { type ConclaveInit, ConclaveMachine, type MembershipLike } from './conclave-machine.js'

/** Shared truth for the fake membership: who is dead since when, and each node's meta.shard. */
export interface FakeWorld {
  ids: () => readonly NodeId[]
  priorities: Map<NodeId, number>
  deadSinceMs: Map<NodeId, number>
  shardOf: Map<NodeId, number | null>
  observers: Set<NodeId>
  roles: Map<NodeId, string[]>
  /** Nodes whose membership view is one member short (it has not met everyone yet). */
  shortViews: Set<NodeId>
}

/** A perfect membership oracle: everyone alive unless the test crashed it (then dead at once). */
export function staticMembership(id: NodeId, world: FakeWorld): MembershipLike {
  const view = (m: NodeId): MemberView => {
    const dead = world.deadSinceMs.get(m)
    return {
      id: m,
      state: dead === undefined ? 'alive' : 'dead',
      incarnation: 0,
      bootEpoch: 0,
      meta: {
        priority: world.priorities.get(m) ?? 0,
        shard: world.shardOf.get(m) ?? null,
        roles: world.roles.get(m) ?? (world.observers.has(m) ? ['observer'] : []),
        addrs: [],
        version: 0,
      },
      stateSinceMs: dead ?? 0,
    }
  }
  return {
    id,
    tick() {},
    receive() {},
    nextTickAtMs: () => Number.POSITIVE_INFINITY,
    drain: () => emptyReady(),
    notePause() {},
    join() {},
    leave() {},
    setMeta(patch) {
      if (patch.shard !== undefined) world.shardOf.set(id, patch.shard)
      if (patch.roles !== undefined) world.roles.set(id, patch.roles)
    },
    member: (m: NodeId) => (world.ids().includes(m) ? view(m) : undefined),
    members: () => world.ids().map(view),
    aliveCount: () =>
      world.ids().filter((m) => !world.deadSinceMs.has(m)).length - (world.shortViews.has(id) ? 1 : 0),
    health: () => 0,
    syncWithStranger() {}, // every member is in the static view
    rejections: new RejectionCounter(),
  }
}

interface InFlight {
  atMs: number
  seq: number
  from: NodeId
  msg: Outbound
}

export interface TestNetOptions {
  ids: NodeId[]
  config: ConclaveConfig
  seed?: number
  latencyMs?: number
  bootstrapExpect?: number
  priorities?: Map<NodeId, number>
  observers?: NodeId[]
  /** Nodes whose membership view starts one member short (FakeWorld.shortViews; tests clear it). */
  shortViews?: NodeId[]
  /**
   * Each message takes latencyMs plus a uniform extra in [0, latencyJitterMs) (a busy host's
   * scheduling delay), never overtaking an earlier one between the same two nodes (streams are
   * FIFO). Default 0. Drawn from its own seeded PRNG, so runs without jitter are unchanged.
   */
  latencyJitterMs?: number
}

export class TestNet {
  nowMs = 0
  readonly machines = new Map<NodeId, ConclaveMachine>()
  readonly stores = new Map<NodeId, Map<string, Uint8Array>>()
  readonly trace: (TraceEvent & { trueMs: number })[] = []
  /** Every output in drain order, for persist-before-send checks. */
  readonly log: { node: NodeId; what: 'persist' | 'send'; key?: string; type?: string }[] = []
  /** One record per drain: what the driver persisted (store snapshot after), sent and emitted. */
  readonly drains: {
    node: NodeId
    trueMs: number
    persistKeys: string[]
    sends: Outbound[]
    events: TraceEvent[]
  }[] = []
  /** Called after every drain is applied (tests check invariants online). */
  onDrain: ((node: NodeId, events: TraceEvent[]) => void) | undefined
  readonly down = new Set<NodeId>()
  readonly pausedUntil = new Map<NodeId, number>()
  /** Pairs `a|b` whose messages are dropped (both ways). */
  readonly cut = new Set<string>()
  private queue: InFlight[] = []
  private seq = 0
  private readonly rng
  private readonly jitterRng
  /** Per sender|receiver: the latest delivery time queued (FIFO under jitter). Bounded by node pairs. */
  private readonly lastAtMs = new Map<string, number>()
  private bootEpochs = new Map<NodeId, number>()
  readonly world: FakeWorld
  private readonly bootstrapExpect: number

  constructor(readonly opts: TestNetOptions) {
    this.rng = createRng(opts.seed ?? 1)
    this.jitterRng = createRng((opts.seed ?? 1) ^ 0x5eed)
    this.world = {
      ids: () => this.opts.ids,
      priorities: opts.priorities ?? new Map(),
      deadSinceMs: new Map(),
      shardOf: new Map(),
      observers: new Set(opts.observers ?? []),
      roles: new Map(),
      shortViews: new Set(opts.shortViews ?? []),
    }
    this.bootstrapExpect = opts.bootstrapExpect ?? opts.ids.length - (opts.observers?.length ?? 0)
    for (const id of opts.ids) this.start(id)
  }

  /**
   * A new node joins the running cluster (membership sees it alive at once). It starts without
   * `bootstrapExpect` (it joins, it does not form a cluster): with it, a joiner that had not yet
   * heard the leader computed a bootstrap map of the N smallest alive ids — itself among them if
   * its id sorts first — and sat in shard 0 as a voter no log lists.
   */
  addNode(id: NodeId): void {
    this.opts.ids.push(id)
    this.joiners.add(id)
    this.start(id)
  }

  private readonly joiners = new Set<NodeId>()

  private start(id: NodeId): void {
    const store = this.stores.get(id) ?? new Map<string, Uint8Array>()
    this.stores.set(id, store)
    const epoch = (this.bootEpochs.get(id) ?? 0) + 1
    this.bootEpochs.set(id, epoch)
    const priorities = this.world.priorities
    const init: ConclaveInit = {
      id,
      bootEpoch: epoch,
      rng: this.rng.fork(),
      signer: simSigner(),
      config: this.opts.config,
      priority: priorities.get(id) ?? 0,
      stored: new Map(store),
      bootstrap: this.joiners.has(id) ? { seeds: [] } : { bootstrapExpect: this.bootstrapExpect, seeds: [] },
      observer: this.opts.observers?.includes(id) ?? false,
      membershipFactory: () => staticMembership(id, this.world),
    }
    this.machines.set(id, new ConclaveMachine(init, this.nowMs))
    this.flush(id)
  }

  machine(id: NodeId): ConclaveMachine {
    const m = this.machines.get(id)
    if (!m) throw new Error(`no machine ${id}`)
    return m
  }

  /** Stall the whole process until untilMs: no ticks, no receives (frames wait in the queue). */
  pause(id: NodeId, forMs: number): void {
    this.pausedUntil.set(id, this.nowMs + forMs)
  }

  crash(id: NodeId): void {
    this.down.add(id)
    this.world.deadSinceMs.set(id, this.nowMs)
  }

  restart(id: NodeId): void {
    this.down.delete(id)
    this.world.deadSinceMs.delete(id)
    this.start(id)
  }

  partition(a: NodeId[], b: NodeId[]): void {
    for (const x of a) for (const y of b) this.cut.add(`${x}|${y}`).add(`${y}|${x}`)
  }

  heal(): void {
    this.cut.clear()
  }

  /** Drain a machine after a direct API call (transferLeadership, leave). */
  flush(id: NodeId): void {
    const m = this.machine(id)
    const r = m.drain()
    const store = this.stores.get(id)
    for (const op of r.persist) {
      store?.set(op.key, op.value)
      this.log.push({ node: id, what: 'persist', key: op.key })
    }
    for (const s of r.send) {
      this.log.push({ node: id, what: 'send', type: s.type })
      let atMs = this.nowMs + (this.opts.latencyMs ?? 2)
      if (this.opts.latencyJitterMs) {
        const pair = `${id}|${s.to}`
        atMs = Math.max(
          atMs + Math.floor(this.jitterRng.float() * this.opts.latencyJitterMs),
          this.lastAtMs.get(pair) ?? 0,
        )
        this.lastAtMs.set(pair, atMs)
      }
      this.queue.push({
        atMs,
        seq: this.seq++,
        from: id,
        msg: s,
      })
    }
    for (const e of r.events) this.trace.push({ ...e, trueMs: this.nowMs })
    if (r.persist.length + r.send.length + r.events.length > 0) {
      this.drains.push({
        node: id,
        trueMs: this.nowMs,
        persistKeys: r.persist.map((p) => p.key),
        sends: r.send,
        events: r.events,
      })
      this.onDrain?.(id, r.events)
    }
  }

  /** Advance time to untilMs, delivering messages and ticks in time order, 1 ms resolution. */
  runUntil(untilMs: number): void {
    while (this.nowMs < untilMs) {
      this.nowMs++
      this.queue.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq)
      while (this.queue.length > 0 && (this.queue[0]?.atMs ?? Number.POSITIVE_INFINITY) <= this.nowMs) {
        const f = this.queue.shift() as InFlight
        if (this.down.has(f.msg.to) || this.down.has(f.from) || this.cut.has(`${f.from}|${f.msg.to}`))
          continue
        const to = this.machines.get(f.msg.to)
        if (!to) continue
        const paused = this.pausedUntil.get(f.msg.to) ?? 0
        if (paused > this.nowMs) {
          this.queue.push({ ...f, atMs: paused })
          continue
        }
        to.receive(f.from, f.msg.layer as Layer, f.msg.bytes, this.nowMs)
        this.flush(f.msg.to)
      }
      for (const [id, m] of this.machines) {
        if (this.down.has(id) || (this.pausedUntil.get(id) ?? 0) > this.nowMs) continue
        if (m.nextTickAtMs() <= this.nowMs) {
          m.tick(this.nowMs)
          this.flush(id)
          // A tick must move the machine's next deadline past now, or a driver would spin.
          const next = m.nextTickAtMs()
          if (next <= this.nowMs) throw new Error(`${id} busy-ticks: next tick ${next} at ${this.nowMs}`)
        }
      }
    }
  }

  runFor(ms: number): void {
    this.runUntil(this.nowMs + ms)
  }

  live(): NodeId[] {
    return this.opts.ids.filter((id) => !this.down.has(id))
  }

  globalLeaders(): NodeId[] {
    return this.live().filter((id) => this.machine(id).isLeader(this.nowMs))
  }

  events<K extends TraceEvent['kind']>(kind: K): (Extract<TraceEvent, { kind: K }> & { trueMs: number })[] {
    return this.trace.filter((e) => e.kind === kind) as (Extract<TraceEvent, { kind: K }> & {
      trueMs: number
    })[]
  }
}

export function testIds(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => `node-${String(i).padStart(3, '0')}`)
}
