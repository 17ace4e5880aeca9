/**
 * The deterministic simulator: many sans-IO machines, one virtual clock, a faulty network.
 *
 * Guarantees:
 * - Determinism: every choice comes from seeded streams (one per node, one for the network) and
 *   the agenda is totally ordered by (true time, insertion order); the same seed, code and
 *   scenario give the same trace and the same `traceHash()`.
 * - No busy ticking: a machine is ticked only at its `nextTickAtMs()`, mapped from its local
 *   clock (offset + drift) to true time; idle machines cost nothing.
 * - The output contract is honoured: for each drain the driver applies `persist` (kept across
 *   crashes), then `send`, then `events`, in order.
 * - Faults behave like their real counterparts: a crash loses volatile state and every message
 *   in flight to the old process, and a restart builds a new machine from what was persisted,
 *   with bootEpoch + 1; a pause stops the whole process (no ticks, no receives) while messages
 *   queue in a bounded buffer, as in a TCP receive buffer, and are read on resume, after the
 *   machine has been told of the stall (`notePause`) and its overdue timers have fired (Node's
 *   event loop runs the timers phase before polling sockets); partitions block links at send
 *   time, one way or both; loss drops each message independently.
 * - Every message carries the machine's real encoded bytes, and is counted per node and per
 *   `layer/type` (see accounting.ts).
 */
import {
  assert,
  createRng,
  type Layer,
  type Machine,
  type NodeId,
  type Rng,
  type TraceEvent,
} from '@conclave/core'
import { Accounting, type NodeTraffic } from './accounting.js'
import { EventQueue } from './event-queue.js'
import type { NetworkModel } from './network-model.js'
import { type ClockInit, NodeClock } from './node-clock.js'
import { type FaultRecord, TraceHasher, type TraceRecord } from './trace.js'

/** What a factory gets to build (or rebuild, after a restart) a node's machine. */
export interface NodeContext {
  readonly id: NodeId
  /** 0 at the first start, +1 at each restart (the driver keeps it, as the runtime would). */
  readonly bootEpoch: number
  /** This boot's own stream, forked from the node's stream. */
  readonly rng: Rng
  /** Everything the node's persist ops wrote before this boot (key → last value). */
  readonly stored: ReadonlyMap<string, Uint8Array>
  /** The node's local clock now. */
  readonly nowMs: number
}

export type MachineFactory = (ctx: NodeContext) => Machine

export interface SimulationInit {
  seed: number
  network: NetworkModel
  /**
   * Minimum spacing between two ticks of one node, in ms. Default 0 (every timer fires exactly
   * when due). A larger value coalesces timers: fewer ticks, coarser timing.
   */
  tickHint?: number
  /**
   * Which events to keep in `trace` (all by default). The hash and `onEvent` see every event
   * either way; very large runs keep only what their checkers need.
   */
  keepTrace?: (event: TraceEvent) => boolean
  /** Messages buffered for a paused node before further ones are dropped. Default 100_000. */
  inboxMax?: number
}

export interface PartitionOptions {
  /** Block only A → B (B can still reach A). Default false. */
  oneWay?: boolean
}

const DELIVER = 0
const TICK = 1
const RESUME = 2
const CALL = 3

/** One agenda entry; a single shape for all kinds keeps the hot path monomorphic. */
class Entry {
  atMs = 0
  seq = 0
  slot = -1
  constructor(
    readonly kind: number,
    readonly node: SimNode | null,
    /** DELIVER: the target's generation; RESUME: the pause token. */
    readonly token: number,
    readonly from: NodeId,
    readonly layer: Layer,
    /** DELIVER: the accounting key of `layer/type` (Accounting.key). */
    readonly key: number,
    readonly bytes: Uint8Array | null,
    readonly fn: (() => void) | null,
  ) {}
}

interface Pending {
  readonly from: NodeId
  readonly layer: Layer
  readonly key: number
  readonly bytes: Uint8Array
}

class SimNode {
  machine: Machine | null = null
  bootEpoch = 0
  up = false
  /** Bumped on crash and restart: messages addressed to an older process are lost. */
  generation = 0
  pausedSinceMs = -1
  pausedUntilMs = -1
  pauseToken = 0
  inbox: Pending[] = []
  tickAtMs = Number.POSITIVE_INFINITY
  tickDueLocalMs = Number.POSITIVE_INFINITY
  /** The node's one timer entry: moved in the agenda when its next tick changes, never duplicated. */
  readonly tickEntry: Entry
  lastTickTrueMs = Number.NEGATIVE_INFINITY
  lastLocalMs = Number.NEGATIVE_INFINITY
  sameInstantTicks = 0
  linksPruneAt = LINKS_PRUNE_AT
  readonly stored = new Map<string, Uint8Array>()
  /** Per outgoing link (target index): when its last message arrives, to keep the link FIFO. */
  readonly linkLastMs = new Map<number, number>()

  constructor(
    readonly id: NodeId,
    readonly index: number,
    readonly clock: NodeClock,
    readonly factory: MachineFactory,
    readonly rng: Rng,
    readonly traffic: NodeTraffic,
  ) {
    this.tickEntry = new Entry(TICK, this, 0, '', 'membership', 0, null, null)
  }
}

interface PartitionRule {
  readonly a: ReadonlySet<NodeId>
  readonly b: ReadonlySet<NodeId>
  readonly oneWay: boolean
}

/** A machine that asks to be ticked this many times at one instant is busy-looping: a bug. */
const SAME_INSTANT_TICKS_MAX = 10_000
/** A node's FIFO table is swept of idle links when it reaches this size (bounds memory). */
const LINKS_PRUNE_AT = 64

export class Simulation {
  readonly seed: number
  readonly network: NetworkModel
  readonly accounting = new Accounting()
  readonly trace: TraceRecord[] = []
  readonly faults: FaultRecord[] = []
  /** True (simulated) time, ms. */
  nowMs = 0
  /** Agenda entries processed so far (a speed figure). */
  stepsDone = 0

  private readonly queue = new EventQueue<Entry>()
  private readonly sharedValues = new SharedValues()
  private readonly nodes = new Map<NodeId, SimNode>()
  private readonly nodeRngs: Rng
  private readonly netRng: Rng
  private readonly hasher = new TraceHasher()
  private readonly listeners: Array<(record: TraceRecord) => void> = []
  private readonly keepTrace: ((event: TraceEvent) => boolean) | undefined
  private readonly tickHintMs: number
  private readonly inboxMax: number
  private rules: PartitionRule[] = []
  private lossRate: number

  constructor(init: SimulationInit) {
    this.seed = init.seed >>> 0
    this.network = init.network
    this.lossRate = init.network.lossRate
    this.tickHintMs = init.tickHint ?? 0
    this.inboxMax = init.inboxMax ?? 100_000
    this.keepTrace = init.keepTrace
    const root = createRng(this.seed)
    this.nodeRngs = root.fork()
    this.netRng = root.fork()
  }

  // ---- nodes -------------------------------------------------------------------------------

  /** Add a node and start its machine now. Ids must be unique. */
  addNode(id: NodeId, factory: MachineFactory, opts: ClockInit = {}): void {
    assert(!this.nodes.has(id), () => `node ${id} added twice`)
    const node = new SimNode(
      id,
      this.nodes.size,
      new NodeClock(opts),
      factory,
      this.nodeRngs.fork(),
      this.accounting.node(id),
    )
    this.nodes.set(id, node)
    this.recordFault({ trueMs: this.nowMs, kind: 'add', node: id })
    this.boot(node)
  }

  /** The live machine of a node (undefined while crashed). */
  machine<M extends Machine = Machine>(id: NodeId): M | undefined {
    return (this.get(id).machine as M | null) ?? undefined
  }

  nodeIds(): NodeId[] {
    return [...this.nodes.keys()]
  }

  isUp(id: NodeId): boolean {
    return this.get(id).up
  }

  isPaused(id: NodeId): boolean {
    return this.get(id).pausedUntilMs >= 0
  }

  bootEpoch(id: NodeId): number {
    return this.get(id).bootEpoch
  }

  /** The node's own clock at the current true time. */
  localNow(id: NodeId): number {
    return this.localNowOf(this.get(id))
  }

  /** Map a node's local clock reading to true time (for checkers of lease intervals). */
  trueTimeOf(id: NodeId, localMs: number): number {
    return this.get(id).clock.trueOf(localMs)
  }

  /**
   * Call into a running machine from outside (leave, setMeta, transferLeadership…) at the node's
   * local time, then perform its outputs as for any other input. Returns fn's result, or
   * undefined when the node is down or paused (a stopped process takes no commands).
   */
  act<M extends Machine, T>(id: NodeId, fn: (machine: M, nowMs: number) => T): T | undefined {
    const node = this.get(id)
    if (!node.up || node.pausedUntilMs >= 0) return undefined
    const result = fn(node.machine as M, this.localNowOf(node))
    this.flush(node)
    return result
  }

  // ---- faults ------------------------------------------------------------------------------

  /** Stop the node's process: volatile state and messages in flight to it are lost. */
  crash(id: NodeId): void {
    const node = this.get(id)
    if (!node.up) return
    node.up = false
    node.machine = null
    node.generation++
    this.queue.remove(node.tickEntry)
    node.tickAtMs = Number.POSITIVE_INFINITY
    node.inbox = []
    node.pausedUntilMs = -1
    node.pauseToken++
    this.recordFault({ trueMs: this.nowMs, kind: 'crash', node: id })
  }

  /** Start a crashed node again: a new machine built from its persisted state, bootEpoch + 1. */
  restart(id: NodeId): void {
    const node = this.get(id)
    assert(!node.up, () => `restart of ${id}, which is running`)
    node.bootEpoch++
    this.recordFault({ trueMs: this.nowMs, kind: 'restart', node: id })
    this.boot(node)
  }

  /** Freeze the whole process for durationMs (GC stall, SIGSTOP). Extends a pause under way. */
  pause(id: NodeId, durationMs: number): void {
    const node = this.get(id)
    assert(durationMs >= 0, () => `pause of ${durationMs} ms`)
    if (!node.up) return
    if (node.pausedUntilMs < 0) node.pausedSinceMs = this.nowMs
    node.pausedUntilMs = Math.max(node.pausedUntilMs, this.nowMs + durationMs)
    node.pauseToken++
    this.push(new Entry(RESUME, node, node.pauseToken, '', 'membership', 0, null, null), node.pausedUntilMs)
    this.recordFault({ trueMs: this.nowMs, kind: 'pause', node: id, durationMs })
  }

  /** Block messages from groupA to groupB (and back, unless oneWay). Adds to existing partitions. */
  partition(groupA: Iterable<NodeId>, groupB: Iterable<NodeId>, opts: PartitionOptions = {}): void {
    const a = [...groupA]
    const b = [...groupB]
    const oneWay = opts.oneWay ?? false
    this.rules.push({ a: new Set(a), b: new Set(b), oneWay })
    this.recordFault({ trueMs: this.nowMs, kind: 'partition', groupA: a, groupB: b, oneWay })
  }

  /** Remove every partition. */
  heal(): void {
    this.rules = []
    this.recordFault({ trueMs: this.nowMs, kind: 'heal' })
  }

  /** Random loss probability for every message from now on. */
  setLoss(p: number): void {
    assert(p >= 0 && p <= 1, () => `loss ${p}`)
    this.lossRate = p
    this.recordFault({ trueMs: this.nowMs, kind: 'loss', lossRate: p })
  }

  get loss(): number {
    return this.lossRate
  }

  // ---- time --------------------------------------------------------------------------------

  /** Run fn at true time atMs (not before now). Entries at one instant run in schedule order. */
  schedule(atMs: number, fn: () => void): void {
    assert(atMs >= this.nowMs, () => `schedule at ${atMs} < now ${this.nowMs}`)
    this.push(new Entry(CALL, null, 0, '', 'membership', 0, null, fn), atMs)
  }

  /** Process everything due up to and including trueMs, then set the clock to trueMs. */
  runUntil(trueMs: number): void {
    assert(trueMs >= this.nowMs, () => `runUntil ${trueMs} < now ${this.nowMs}`)
    const queue = this.queue
    for (;;) {
      const next = queue.peek()
      if (next === undefined || next.atMs > trueMs) break
      queue.pop()
      this.nowMs = next.atMs
      this.stepsDone++
      this.step(next)
    }
    this.nowMs = trueMs
  }

  runFor(ms: number): void {
    this.runUntil(this.nowMs + ms)
  }

  // ---- trace -------------------------------------------------------------------------------

  /** Streaming hook for online checkers; returns an unsubscribe function. */
  onEvent(cb: (record: TraceRecord) => void): () => void {
    this.listeners.push(cb)
    return () => {
      const i = this.listeners.indexOf(cb)
      if (i >= 0) this.listeners.splice(i, 1)
    }
  }

  /** sha256 (hex) of the canonical serialization of every event and fault so far. */
  traceHash(): string {
    return this.hasher.digest()
  }

  /** Events and faults hashed so far (including events not kept in `trace`). */
  get traceRecords(): number {
    return this.hasher.records
  }

  // ---- internals ---------------------------------------------------------------------------

  private get(id: NodeId): SimNode {
    const node = this.nodes.get(id)
    assert(node !== undefined, () => `unknown node ${id}`)
    return node
  }

  private localNowOf(node: SimNode): number {
    const local = Math.max(node.lastLocalMs, node.clock.localOf(this.nowMs))
    node.lastLocalMs = local
    return local
  }

  private push(entry: Entry, atMs: number): void {
    entry.atMs = atMs
    this.queue.push(entry)
  }

  private recordFault(record: FaultRecord): void {
    this.faults.push(record)
    this.hasher.fault(record)
  }

  private boot(node: SimNode): void {
    node.up = true
    node.generation++
    this.queue.remove(node.tickEntry)
    node.tickAtMs = Number.POSITIVE_INFINITY
    node.machine = node.factory({
      id: node.id,
      bootEpoch: node.bootEpoch,
      rng: node.rng.fork(),
      stored: new Map(node.stored),
      nowMs: this.localNowOf(node),
    })
    assert(
      node.machine.id === node.id,
      () => `factory for ${node.id} built a machine for ${node.machine?.id}`,
    )
    this.flush(node)
  }

  private step(entry: Entry): void {
    switch (entry.kind) {
      case DELIVER:
        this.deliver(entry)
        return
      case TICK:
        this.tick(entry)
        return
      case RESUME:
        this.resume(entry)
        return
      case CALL:
        ;(entry.fn as () => void)()
        return
    }
  }

  private tick(entry: Entry): void {
    const node = entry.node as SimNode
    if (!node.up || node.pausedUntilMs >= 0) return
    const machine = node.machine as Machine
    node.tickAtMs = Number.POSITIVE_INFINITY
    if (node.lastTickTrueMs === this.nowMs) {
      node.sameInstantTicks++
      assert(node.sameInstantTicks < SAME_INSTANT_TICKS_MAX, () => `${node.id} busy-ticks at ${this.nowMs}`)
    } else node.sameInstantTicks = 0
    node.lastTickTrueMs = this.nowMs
    // Float rounding of the local↔true mapping must not make a timer fire a hair early.
    const local = Math.max(this.localNowOf(node), node.tickDueLocalMs)
    node.lastLocalMs = local
    machine.tick(local)
    this.flush(node)
  }

  private deliver(entry: Entry): void {
    const node = entry.node as SimNode
    if (!node.up) {
      this.accounting.drop('down')
      return
    }
    if (entry.token !== node.generation) {
      this.accounting.drop('restarted')
      return
    }
    const bytes = entry.bytes as Uint8Array
    if (node.pausedUntilMs >= 0) {
      if (node.inbox.length >= this.inboxMax) {
        this.accounting.drop('inbox-full')
        return
      }
      node.inbox.push({ from: entry.from, layer: entry.layer, key: entry.key, bytes })
      return
    }
    this.accounting.received(node.traffic, entry.key, bytes.length)
    ;(node.machine as Machine).receive(entry.from, entry.layer, bytes, this.localNowOf(node))
    this.flush(node)
  }

  private resume(entry: Entry): void {
    const node = entry.node as SimNode
    if (entry.token !== node.pauseToken || !node.up) return
    const machine = node.machine as Machine
    const pausedMs = this.nowMs - node.pausedSinceMs
    node.pausedUntilMs = -1
    this.recordFault({ trueMs: this.nowMs, kind: 'resume', node: node.id, durationMs: pausedMs })
    let local = this.localNowOf(node)
    machine.notePause?.(pausedMs, local)
    if (node.tickAtMs <= this.nowMs) {
      // The tick fell due during the pause and was skipped: fire it now, before reading sockets.
      local = Math.max(local, node.tickDueLocalMs)
      node.lastLocalMs = local
      node.tickAtMs = Number.POSITIVE_INFINITY
      node.lastTickTrueMs = this.nowMs
      machine.tick(local)
    }
    this.flush(node)
    const inbox = node.inbox
    node.inbox = []
    for (const m of inbox) {
      if (!node.up || node.pausedUntilMs >= 0) break // a scheduled fault cannot fire mid-loop, but be safe
      this.accounting.received(node.traffic, m.key, m.bytes.length)
      machine.receive(m.from, m.layer, m.bytes, this.localNowOf(node))
      this.flush(node)
    }
  }

  /** Apply one drain in contract order (persist, send, events), then reschedule the tick. */
  private flush(node: SimNode): void {
    const machine = node.machine as Machine
    const ready = machine.drain()
    for (const op of ready.persist) node.stored.set(op.key, this.sharedValues.share(op.value))
    for (const out of ready.send) this.send(node, out.to, out.layer, out.type, out.bytes)
    for (const event of ready.events) {
      const record: TraceRecord = { trueMs: this.nowMs, event }
      this.hasher.event(record)
      if (this.keepTrace === undefined || this.keepTrace(event)) this.trace.push(record)
      for (const cb of this.listeners) cb(record)
    }
    this.scheduleTick(node, machine)
  }

  private scheduleTick(node: SimNode, machine: Machine): void {
    const dueLocal = machine.nextTickAtMs()
    let atMs: number
    if (dueLocal === Number.POSITIVE_INFINITY) atMs = dueLocal
    else {
      assert(!Number.isNaN(dueLocal), () => `${node.id} nextTickAtMs() is NaN`)
      atMs = Math.max(this.nowMs, node.clock.trueOf(dueLocal), node.lastTickTrueMs + this.tickHintMs)
    }
    if (atMs === node.tickAtMs && dueLocal === node.tickDueLocalMs) return
    node.tickAtMs = atMs
    node.tickDueLocalMs = dueLocal
    // Moving the entry gives it a fresh seq: the same order as pushing a new one.
    if (atMs !== Number.POSITIVE_INFINITY) this.queue.reschedule(node.tickEntry, atMs)
    else this.queue.remove(node.tickEntry)
  }

  private send(node: SimNode, to: NodeId, layer: Layer, type: string, bytes: Uint8Array): void {
    const key = this.accounting.key(layer, type)
    this.accounting.sent(node.traffic, key, bytes.length)
    const target = this.nodes.get(to)
    if (target === undefined) {
      this.accounting.drop('down')
      return
    }
    if (this.accounting.isTrackingDials) this.accounting.noteSend(node.index, target.index, key)
    if (this.lossRate > 0 && this.netRng.float() < this.lossRate) {
      this.accounting.drop('loss')
      return
    }
    for (const rule of this.rules) {
      if (rule.a.has(node.id) && rule.b.has(to)) {
        this.accounting.drop('partition')
        return
      }
      if (!rule.oneWay && rule.b.has(node.id) && rule.a.has(to)) {
        this.accounting.drop('partition')
        return
      }
    }
    const latency = this.network.latencyMs(linkUniform(this.seed, node.index, target.index), this.netRng)
    const links = node.linkLastMs
    const atMs = Math.max(this.nowMs + latency, links.get(target.index) ?? 0)
    if (links.size >= node.linksPruneAt) {
      // Only links with a message still in flight matter for FIFO order.
      for (const [k, t] of links) if (t <= this.nowMs) links.delete(k)
      node.linksPruneAt = Math.max(LINKS_PRUNE_AT, 2 * links.size)
    }
    links.set(target.index, atMs)
    this.push(new Entry(DELIVER, target, target.generation, node.id, layer, key, bytes, null), atMs)
  }
}

/** Persisted values from this size up are shared between nodes when byte-identical. */
const SHARE_FROM_BYTES = 4096
/** Bound on the shared buffers remembered (emptied when full; stored values keep theirs). */
const SHARED_VALUES_MAX = 1024

/**
 * Byte-identical large persisted values of different nodes share one buffer: every founder
 * persists the same bootstrap shard map, and every node each later version of it (at 5000 nodes
 * ≈ 265 KB each: 1.3 GB per version without sharing). A stored value is only ever read (a
 * restarted machine decodes it from NodeContext.stored), so sharing changes nothing a node can
 * see. Small values are kept as they are: they are cheap and change all the time.
 */
class SharedValues {
  private readonly byHash = new Map<number, Uint8Array[]>()
  private count = 0

  share(value: Uint8Array): Uint8Array {
    if (value.length < SHARE_FROM_BYTES) return value
    const h = hashBytes(value)
    const list = this.byHash.get(h)
    if (list !== undefined) for (const v of list) if (sameBytes(v, value)) return v
    if (this.count >= SHARED_VALUES_MAX) {
      this.byHash.clear()
      this.count = 0
    }
    this.count++
    const now = this.byHash.get(h)
    if (now === undefined) this.byHash.set(h, [value])
    else now.push(value)
    return value
  }
}

function hashBytes(b: Uint8Array): number {
  let h = Math.imul(0x811c9dc5 ^ b.length, 0x01000193)
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193)
  return h >>> 0
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** A fixed uniform draw in [0, 1) per directed link (murmur3's 32-bit finaliser over the indices). */
function linkUniform(seed: number, from: number, to: number): number {
  let h = (seed ^ Math.imul(from, 0x9e3779b1) ^ Math.imul(to + 1, 0x85ebca77)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0
  h = (h ^ (h >>> 16)) >>> 0
  return h / 4294967296
}
