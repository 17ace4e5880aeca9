/**
 * `conclave()`: Conclave as a js-libp2p service (an XxxInit, an XxxComponents, a Startable),
 * so an application that already runs libp2p adds leader election with one line:
 *
 *   createLibp2p({ …, services: { conclave: conclave({ dataDir: './data', priority: 1 }) } })
 *
 * The service owns the runtime pieces for one node: the durable FileStore in `dataDir`, the
 * per-peer streams, the Driver that runs the machine, and the event-loop stall monitor. It makes
 * no election decision itself: everything it reports is read from the machine.
 */
import '../runtime/polyfill.js'
import { randomInt } from 'node:crypto'
import type { PeerId, PrivateKey, Startable } from '@libp2p/interface'
import { TypedEventEmitter } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { type ConclaveConfig, lanConclaveConfig } from '../node/conclave-config.js'
import { ConclaveMachine } from '../node/conclave-machine.js'
import type { Admission } from '../runtime/admission.js'
import { type Clock, monotonicClock } from '../runtime/clock.js'
import { Driver } from '../runtime/driver.js'
import { FileStore } from '../runtime/file-store.js'
import { nextBootEpoch } from '../runtime/identity.js'
import { LoopMonitor } from '../runtime/loop-monitor.js'
import { peerFaultCount } from '../runtime/peer-faults.js'
import { PeerStreams, type PeerStreamsComponents, type PeerStreamsLimits } from '../runtime/peer-streams.js'
import { TOPIC_LEADER, TOPIC_STATUS } from '../runtime/protocols.js'
import { ed25519Signer } from '../runtime/signer.js'
import type { Layer, NodeId } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'
import { createRng } from '../util/rng.js'
import type { ConclaveEvents, LeaderChange } from './events.js'
import type { LeaderMachine, MachineContext, RejectionCounterView } from './leader-machine.js'

export interface ConclaveServiceInit {
  /** Directory for durable state (terms, votes, control log, boot counter). Required. */
  dataDir: string
  /** Election priority gossiped in member metadata; higher is preferred. Default 0. */
  priority?: number
  /** Multiaddrs (with /p2p/<id>) of nodes to join through. Default none. */
  bootstrap?: string[]
  /** This node may form a new cluster alone (the first node). Default false. */
  init?: boolean
  /** Wait for this many members before the first election. Default unset. */
  bootstrapExpect?: number
  /** Never vote or lead; only learn the leaders. Default false. */
  observer?: boolean
  /** Protocol timings; default lanConclaveConfig(). */
  config?: ConclaveConfig
  /** Transport bounds; defaults in runtime/peer-streams.ts. */
  limits?: Partial<PeerStreamsLimits>
  /** Build a different machine (the FlatRaft baseline, tests). Default: ConclaveMachine. */
  machineFactory?: (ctx: MachineContext) => LeaderMachine
  /** Clock override (tests). Default: monotonic wall-anchored clock. */
  clock?: Clock
  /**
   * How often this node publishes its NodeStatus on TOPIC_STATUS (it also publishes at once on
   * every leader change it sees). Default 1000 ms. Each publish is one small gossipsub message
   * (≤ STATUS_MAX_BYTES) fanned out to the subscribers (inspectors), so n nodes cost about
   * n / (statusIntervalMs / 1000) messages per second: shorter = fresher inspector, more traffic.
   * 0 disables the periodic publish (leader changes are still published). Nothing is published
   * (periodic or on a change) while gossipsub knows no subscriber of the topic (no inspector
   * connected).
   */
  statusIntervalMs?: number
  /**
   * The allow-list and ban gate installed as this libp2p node's connection gater (createConclave
   * does both). When given, a peer the transport cuts off for abuse is also refused at connection
   * time for `limits.banMs`, and the refusals appear in the metrics. Default none (embedders that
   * bring their own gater still get the transport's stream-level ban).
   */
  admission?: Admission
}

/**
 * Cumulative message counters published with the status (`traffic`): frames and framed bytes this
 * node's peer streams sent and received since they started, read at `atMs` (this node's clock).
 */
export interface StatusTraffic {
  msgsSent: number
  msgsReceived: number
  bytesSent: number
  bytesReceived: number
  /** This node's clock when the counters were read. */
  atMs: number
  /** The node's boot epoch: a new one means the counters restarted from 0. */
  boot: number
}

/**
 * Global channels a shard leader opens ahead of time per loop-monitor check (500 ms): 4 dials a
 * second, ≈ 17 ms of CPU each (both ends: 8.3 ms per end for a fresh process's connections, TCP +
 * Noise + yamux and the three /conclave/* streams; `pnpm bench conn --peers 40 --runs 5 --starts
 * 5`, docs/performance.md "Session 10 (hygiene)"), so ≈ 7 % of a core per warming shard leader,
 * shared with the dialled peers, until its channels are open (≈ 25 s for 90 peers).
 */
export const WARM_CHANNELS_PER_CHECK = 2

/** A NodeStatus larger than this is not published (counted in `statusOversize`): bounded frames. */
export const STATUS_MAX_BYTES = 4096

export interface ConclaveComponents extends PeerStreamsComponents {
  peerId: PeerId
  privateKey: PrivateKey
  addressManager: { getAddresses(): { toString(): string }[] }
  /** libp2p's event bus: `self:peer:update` tells us when our listen addresses are known. */
  events?: {
    addEventListener(type: 'self:peer:update', listener: () => void): void
    removeEventListener(type: 'self:peer:update', listener: () => void): void
  }
}

export interface PubSubLike {
  subscribe(topic: string): void
  publish(topic: string, data?: Uint8Array): Promise<unknown>
  /** Peers known to subscribe to `topic` (gossipsub has it); without it every status is published. */
  getSubscribers?(topic: string): readonly unknown[]
}

export class ConclaveService extends TypedEventEmitter<ConclaveEvents> implements Startable {
  readonly [Symbol.toStringTag] = '@conclave/service'
  readonly store: FileStore
  readonly clock: Clock
  bootEpoch = 0
  private machineRef: LeaderMachine | undefined
  private driverRef: Driver | undefined
  private streams: PeerStreams | undefined
  private monitor: LoopMonitor | undefined
  private lastLeader: { id: NodeId; term: number } | undefined
  private waiters = new Set<() => void>()
  private pubsub: PubSubLike | undefined
  /** NodeStatus snapshots not published because they exceeded STATUS_MAX_BYTES. */
  statusOversize = 0

  constructor(
    private readonly components: ConclaveComponents,
    private readonly init: ConclaveServiceInit,
  ) {
    super()
    if (!init.dataDir) throw new Error('conclave(): dataDir is required (votes must survive a crash)')
    this.store = new FileStore(init.dataDir)
    this.clock = init.clock ?? monotonicClock()
  }

  get id(): NodeId {
    return this.components.peerId.toString()
  }

  /** The machine being driven (after start). */
  get machine(): LeaderMachine {
    if (!this.machineRef) throw new Error('conclave service is not started')
    return this.machineRef
  }

  get driver(): Driver | undefined {
    return this.driverRef
  }

  get transport(): PeerStreams | undefined {
    return this.streams
  }

  /**
   * Gossipsub is optional; when given, every leader change this node sees is announced on
   * TOPIC_LEADER, and its NodeStatus is published on TOPIC_STATUS (periodically and on change).
   * The node subscribes to neither topic (see afterStart).
   */
  attachPubSub(pubsub: PubSubLike): void {
    this.pubsub = pubsub
  }

  isStarted(): boolean {
    return this.driverRef !== undefined
  }

  async start(): Promise<void> {
    this.bootEpoch = nextBootEpoch(this.store)
  }

  /** After libp2p listens: our addresses are known, so the machine can gossip them. */
  async afterStart(): Promise<void> {
    const seedAddrs = (this.init.bootstrap ?? []).map((a) => multiaddr(a))
    const seeds: NodeId[] = []
    for (const ma of seedAddrs) {
      const id = ma.getComponents().find((c) => c.name === 'p2p')?.value
      if (!id) throw new Error(`bootstrap address ${ma.toString()} has no /p2p/<peer id>`)
      if (id === this.id) continue
      seeds.push(id)
      await this.components.peerStore.merge(peerIdFromString(id), { multiaddrs: [ma] })
    }
    const nowMs = this.clock.nowMs()
    const ctx: MachineContext = {
      id: this.id,
      bootEpoch: this.bootEpoch,
      addrs: this.ownAddrs(),
      stored: this.store.load(),
      seeds,
      signer: ed25519Signer(this.components.privateKey),
      nowMs,
    }
    const machine = this.init.machineFactory?.(ctx) ?? this.defaultMachine(ctx)
    this.machineRef = machine
    const streams = new PeerStreams(this.components, {
      clock: this.clock,
      limits: this.init.limits,
      onFrame: (from, layer, bytes) => this.receiveFrame(from, layer, bytes),
      addrsOf: (id) => machine.membership?.member(id)?.meta.addrs ?? [],
      onDialError: (peer, layer, error) => this.safeDispatch('dial:error', { peer, layer, error }),
      onCutOff: (peer, layer, code) => this.safeDispatch('peer:cut-off', { peer, layer, code }),
      onBan: (peer, untilMs) => this.init.admission?.ban(peer, untilMs),
    })
    this.streams = streams
    // A stall shorter than a probe timeout cannot have made a probe fail, so it is jitter, not a
    // pause (measured: with load average ≈ 30 on 2 cores, 50 ms of timer lateness was constant and
    // held every node's Lifeguard health at its maximum, slowing its probes ×9).
    const pauseMsMin = Math.max(50, (this.init.config ?? lanConclaveConfig()).membership.probeTimeoutMs)
    this.pauseMsMin = pauseMsMin
    const driver = new Driver({
      machine,
      clock: this.clock,
      persist: (ops) => this.store.persist(ops),
      send: (out) => streams.send(out),
      onEvent: (ev) => this.onTrace(ev),
      afterDrain: (now) => this.afterDrain(now),
      // The driver's own late timers are the stalls that matter most (a deadline was due during
      // them), seen exactly and reported before the tick acts on that deadline.
      timerLateMsMin: pauseMsMin,
      onTimerLate: (lateMs, now) => this.notePause(lateMs, now),
    })
    this.driverRef = driver
    await streams.start()
    driver.start()
    // Nodes publish on TOPIC_LEADER and TOPIC_STATUS but subscribe to neither: nothing in a node
    // reads them (the machines announce leaders on shard heartbeats), and a subscribed node relays
    // every announcement of every other node, N² deliveries per leader change, all of them during
    // the failover they report on. Subscribers (the inspector) receive them straight from the
    // publishers they are connected to, as they already do for TOPIC_STATUS.
    // The periodic status rides on the stall monitor's timer (one wake-up instead of two: the
    // status timer alone was 1 of an idle follower's ≈ 20 wake-ups per second).
    const statusEveryMs = this.pubsub ? (this.init.statusIntervalMs ?? 1000) : 0
    const monitorEveryMs = statusEveryMs > 0 ? Math.min(500, statusEveryMs) : 500
    const checksPerStatus = Math.max(1, Math.round(statusEveryMs / monitorEveryMs))
    let checks = 0
    this.monitor = new LoopMonitor({
      clock: this.clock,
      // Stalls while no deadline of the driver was due: every 500 ms, not 100 (each wake-up of an
      // idle process cost ≈ 0.09 ms of CPU on this host, so 10 per second were ≈ 0.09 % of a core
      // per node). Such a stall is seen with lateness > its length − 500 ms; the driver sees any
      // stall that overlapped one of its deadlines exactly (onTimerLate above). A status period
      // below 500 ms (tests) runs the monitor that often.
      intervalMs: monitorEveryMs,
      pauseMsMin,
      onPause: (durationMs, now) => driver.run(() => this.notePause(durationMs, now)),
      onCheck: () => {
        this.warmGlobalChannels()
        if (statusEveryMs <= 0 || ++checks < checksPerStatus) return
        checks = 0
        // Nobody listening (no inspector connected): the periodic status would be built, signed
        // and dropped by gossipsub every second, ~2% of an idle node's CPU (measured, perf).
        // Changes go out at once to subscribers (not to nobody, see afterDrain), and the next
        // period after an inspector subscribes brings it every node it is connected to.
        if (this.hasSubscribers(TOPIC_STATUS)) this.publishStatus()
      },
    })
    this.monitor.start()
    // Our listen addresses may not be known yet when services start; members learn how to dial
    // us from our gossiped metadata, so publish them as soon as (and whenever) they change.
    this.publishedAddrs = ctx.addrs.join(',')
    this.components.events?.addEventListener('self:peer:update', this.onSelfUpdate)
    setImmediate(this.onSelfUpdate)
  }

  /**
   * A shard leader campaigns for the global lease by writing to every voter of every other shard
   * (global-group.ts `broadcast`), so its first campaign dials each of them it has no connection
   * to. A cluster whose nodes all bootstrapped together got those connections during its launch
   * (its own first global election made the full mesh); one grown from a few founders has ≈ 21
   * connections per node at 100 nodes, and its first global failover made every campaigning shard
   * leader dial ≈ 90 peers at once: no leader known by all for 30 s (docs/performance.md, "Session
   * 8"). So a shard leader that knows a global leader opens its global channel to each member of
   * another shard ahead of time, WARM_CHANNELS_PER_CHECK per loop-monitor check (every 500 ms),
   * off the failover's critical path. Once they are open a check is one walk over the members.
   */
  private warmGlobalChannels(): void {
    const m = this.machineRef
    const streams = this.streams
    if (!m || !streams || !m.leader()) return
    const own = m.shardLeader?.()
    if (!own || own.id !== this.id) return
    let started = 0
    for (const member of m.membership?.members() ?? []) {
      if (member.state !== 'alive' || member.meta.shard === null || member.meta.shard === own.shard) continue
      if (streams.warm(member.id, 'global') && ++started >= WARM_CHANNELS_PER_CHECK) return
    }
  }

  /** End of the last stall reported to the machine (the monitor and the driver may both see one). */
  private stallReportedUntilMs = Number.NEGATIVE_INFINITY
  /** Shorter stalls are jitter (set in afterStart from the probe timeout). */
  private pauseMsMin = 50

  /**
   * A stall of `durationMs` ending at `nowMs`, seen by the loop monitor or by a late driver timer:
   * only the part not reported yet, when it is itself a stall (≥ pauseMsMin), goes to the machine
   * (Lifeguard raises health once per stall). Runs inside a driver input.
   */
  private notePause(durationMs: number, nowMs: number): void {
    const fromMs = Math.max(nowMs - durationMs, this.stallReportedUntilMs)
    this.stallReportedUntilMs = Math.max(this.stallReportedUntilMs, nowMs)
    const freshMs = nowMs - fromMs
    this.stalls.count++
    if (freshMs < this.pauseMsMin) return
    this.stalls.reported++
    this.machineRef?.notePause?.(freshMs, nowMs)
  }

  /** Stalls seen (by the loop monitor or a late driver timer) and reported to the machine. */
  readonly stalls = { count: 0, reported: 0 }

  /**
   * One frame into the machine; when the machine rejects it as the sender's fault (malformed,
   * forged), the transport is told, so a peer that keeps doing it is cut off.
   */
  private receiveFrame(from: NodeId, layer: Layer, bytes: Uint8Array): void {
    this.driverRef?.run((nowMs) => {
      const m = this.machineRef
      if (!m) return
      // Almost every frame is rejected by no one: two rejection totals (O(1) for RejectionCounter)
      // instead of summing the fault codes (2 counters x 9 map lookups) before and after every
      // frame. The fault count is read only when some rejection was counted, against the count
      // taken at the last total seen (re-read first if something other than a frame was rejected
      // since).
      const total = rejectionTotal(m)
      if (total !== this.faultsAtTotal) {
        this.faultsSeen = machineFaults(m)
        this.faultsAtTotal = total
      }
      m.receive(from, layer, bytes, nowMs)
      const after = rejectionTotal(m)
      if (after === total) return
      const faults = machineFaults(m)
      const struck = faults > this.faultsSeen
      this.faultsSeen = faults
      this.faultsAtTotal = after
      if (struck) this.streams?.strike(from, layer)
    })
  }

  /** Peer-fault rejections of the machine when its rejections totalled `faultsAtTotal` (receiveFrame). */
  private faultsSeen = 0
  private faultsAtTotal = 0

  /** With an allow-list, only its ids (and this node) may become members. */
  private admitsMember(): ((id: NodeId) => boolean) | undefined {
    const allow = this.init.admission?.allowList
    if (!allow) return undefined
    return (id) => id === this.id || allow.has(id)
  }

  /** The admission gate (allow-list, bans) when this service has one. */
  get admission(): Admission | undefined {
    return this.init.admission
  }

  private publishedAddrs = ''
  private readonly onSelfUpdate = (): void => {
    const addrs = this.ownAddrs()
    const key = addrs.join(',')
    if (addrs.length === 0 || key === this.publishedAddrs || !this.driverRef) return
    this.publishedAddrs = key
    this.driverRef.run((now) => this.machineRef?.membership?.setMeta?.({ addrs }, now))
  }

  private ownAddrs(): string[] {
    return this.components.addressManager.getAddresses().map((a) => a.toString().replace(/\/p2p\/.*$/, ''))
  }

  async beforeStop(): Promise<void> {
    this.components.events?.removeEventListener('self:peer:update', this.onSelfUpdate)
    this.monitor?.stop()
    this.driverRef?.stop()
    await this.driverRef?.settled()
    await this.streams?.stop()
  }

  async stop(): Promise<void> {
    this.driverRef = undefined
    for (const wake of this.waiters) wake()
  }

  // --- queries (all read from the machine) ---

  isLeader(): boolean {
    return this.machineRef?.isLeader(this.clock.nowMs()) ?? false
  }

  leader(): { id: NodeId; term: number } | undefined {
    return this.machineRef?.leader()
  }

  shardLeader(): { shard: number; id: NodeId; term: number } | undefined {
    return this.machineRef?.shardLeader?.()
  }

  /** The global term while this node holds the lease: pass it to every system the leader writes to. */
  fencingToken(): number | undefined {
    return this.machineRef?.fencingToken(this.clock.nowMs())
  }

  status(): object {
    const m = this.machineRef
    if (!m) return { id: this.id, role: 'starting' }
    const now = this.clock.nowMs()
    return m.status?.(now) ?? { id: this.id, isLeader: m.isLeader(now), leader: m.leader() ?? null }
  }

  /** Resolves once this node holds the global lease; rejects if `signal` aborts or the node stops. */
  async whenLeader(options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options
    for (;;) {
      if (this.isLeader()) return
      if (!this.driverRef) throw new Error('conclave service stopped')
      signal?.throwIfAborted()
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake)
          signal?.removeEventListener('abort', wake)
          resolve()
        }
        this.waiters.add(wake)
        signal?.addEventListener('abort', wake, { once: true })
      })
    }
  }

  /** Ask this leader to hand over to the best other voter; false when not leader or not possible. */
  async transferLeadership(): Promise<boolean> {
    let ok = false
    this.driverRef?.run((now) => {
      ok = this.machineRef?.transferLeadership?.(now) ?? false
    })
    return ok
  }

  /** Graceful leave: hand over leadership, announce `left`, give the messages a moment to go out. */
  async leave(options: { handoverMs?: number } = {}): Promise<void> {
    const handoverMs = options.handoverMs ?? 1500
    if (this.isLeader()) {
      await this.transferLeadership()
      const untilMs = this.clock.nowMs() + handoverMs
      while (this.isLeader() && this.clock.nowMs() < untilMs) await delay(25)
    }
    this.driverRef?.run((now) => this.machineRef?.leave?.(now))
    await delay(Math.min(300, handoverMs))
  }

  private defaultMachine(ctx: MachineContext): LeaderMachine {
    return new ConclaveMachine(
      {
        id: ctx.id,
        bootEpoch: ctx.bootEpoch,
        rng: createRng(randomInt(2 ** 32 - 1)),
        signer: ctx.signer,
        config: this.init.config ?? lanConclaveConfig(),
        priority: this.init.priority ?? 0,
        addrs: ctx.addrs,
        stored: ctx.stored,
        bootstrap: { init: this.init.init, bootstrapExpect: this.init.bootstrapExpect, seeds: ctx.seeds },
        observer: this.init.observer,
        admits: this.admitsMember(),
      },
      ctx.nowMs,
    ) as unknown as LeaderMachine
  }

  private afterDrain(nowMs: number): void {
    const m = this.machineRef
    if (!m) return
    const now = m.leader()
    const prev = this.lastLeader
    if (now?.id !== prev?.id || now?.term !== prev?.term) {
      this.lastLeader = now
      const detail: LeaderChange = {
        leader: now?.id ?? null,
        term: now?.term ?? 0,
        isSelf: now?.id === this.id,
        shard: m.shardLeader?.()?.shard ?? null,
      }
      this.safeDispatch('leader:change', detail)
      // Every node announces what it learned (not only the new leader): an inspector can then
      // tell when all followers know the new leader, which is when a failover is complete. Only
      // to subscribers (an inspector connected to us): with none, gossipsub would build and sign
      // each message and drop it, on all nodes at once, during the failover being announced.
      if (this.pubsub) {
        if (this.hasSubscribers(TOPIC_LEADER))
          void this.pubsub
            .publish(TOPIC_LEADER, new TextEncoder().encode(JSON.stringify({ ...detail, atMs: nowMs })))
            .catch(() => {})
        if (this.hasSubscribers(TOPIC_STATUS)) this.publishStatus()
      }
    }
    if (this.waiters.size > 0 && m.isLeader(nowMs)) for (const wake of [...this.waiters]) wake()
  }

  /**
   * Cumulative frame counters of this node's peer streams since they started (they restart at 0
   * with the process), plus the clock reading they were taken at, so a reader turns two
   * successive snapshots into a rate. Undefined before start.
   */
  traffic(): StatusTraffic | undefined {
    const stats = this.streams?.stats
    if (!stats) return undefined
    return {
      msgsSent: sum(stats.sentMsgs),
      msgsReceived: sum(stats.recvMsgs),
      bytesSent: sum(stats.sentBytes),
      bytesReceived: sum(stats.recvBytes),
      atMs: Math.round(this.clock.nowMs()),
      boot: this.bootEpoch,
    }
  }

  /**
   * Publish this node's NodeStatus (JSON, ≤ STATUS_MAX_BYTES) on TOPIC_STATUS with its traffic
   * counters added as `traffic`; no-op without pubsub.
   */
  private publishStatus(): void {
    if (!this.pubsub || !this.machineRef) return
    const status = this.status()
    const traffic = this.traffic()
    const encoder = new TextEncoder()
    let bytes = encoder.encode(JSON.stringify(traffic ? { ...status, traffic } : status))
    // The counters are a fixed handful of numbers; never let them cost the status itself.
    if (bytes.length > STATUS_MAX_BYTES && traffic) bytes = encoder.encode(JSON.stringify(status))
    if (bytes.length > STATUS_MAX_BYTES) {
      this.statusOversize++
      return
    }
    // No subscriber yet (no inspector) is a normal case: gossipsub rejects the publish.
    void this.pubsub.publish(TOPIC_STATUS, bytes).catch(() => {})
  }

  /** Someone subscribes to `topic` (true when the pubsub cannot tell). */
  private hasSubscribers(topic: string): boolean {
    return (this.pubsub?.getSubscribers?.(topic).length ?? 1) > 0
  }

  /**
   * Replaced, never changed in place (copy-on-write): an observer may unsubscribe itself or
   * another one while onTrace walks the array, and a splice there would skip the next observer.
   */
  private traceObservers: ReadonlyArray<(ev: TraceEvent) => void> = []

  /**
   * Call `fn` with every trace event of the machine, synchronously, as a plain call: no event
   * object is built for it. For in-process consumers that look at every event (the CLI's
   * metrics): a leader emits one per heartbeat round (`lease:hold`), and a `trace` CustomEvent
   * dispatched through the EventTarget costs far more than the call. Returns the unsubscribe.
   */
  observeTrace(fn: (ev: TraceEvent) => void): () => void {
    this.traceObservers = [...this.traceObservers, fn]
    let subscribed = true
    return () => {
      if (!subscribed) return
      subscribed = false
      const i = this.traceObservers.indexOf(fn)
      if (i >= 0) this.traceObservers = this.traceObservers.filter((_, j) => j !== i)
    }
  }

  /** One trace event: to the observers, and as a `trace` event only while someone listens. */
  private onTrace(ev: TraceEvent): void {
    for (const fn of this.traceObservers) {
      try {
        fn(ev)
      } catch (err) {
        queueMicrotask(() => {
          throw err
        })
      }
    }
    if (this.listenerCount('trace') > 0) this.safeDispatch('trace', ev)
  }

  /** A throwing listener must not break the driver loop. */
  private safeDispatch<K extends keyof ConclaveEvents>(type: K, detail: ConclaveEvents[K]['detail']): void {
    try {
      this.dispatchEvent(new CustomEvent(type, { detail }))
    } catch (err) {
      queueMicrotask(() => {
        throw err
      })
    }
  }
}

/** The libp2p service factory. */
export function conclave(init: ConclaveServiceInit): (components: ConclaveComponents) => ConclaveService {
  return (components) => new ConclaveService(components, init)
}

/** All rejections of the machine's counters (a view without `total` is summed from its snapshot). */
function rejectionTotal(m: LeaderMachine): number {
  return counterTotal(m.rejections) + counterTotal(m.membership?.rejections)
}

function counterTotal(c: RejectionCounterView | undefined): number {
  if (!c) return 0
  if (c.total) return c.total()
  let n = 0
  for (const v of Object.values(c.snapshot())) n += v
  return n
}

/** Rejections of the machine's counters that are the sender's fault. */
function machineFaults(m: LeaderMachine): number {
  return peerFaultCount([m.rejections, m.membership?.rejections])
}

function sum(counts: ReadonlyMap<string, number>): number {
  let total = 0
  for (const v of counts.values()) total += v
  return total
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export type { TraceEvent }
