/**
 * The election harness: one simulated cluster of any election algorithm (subjects.ts), with the
 * modelled external resource and the isLeader probes that invariants 2, 3 and 5 need, and the
 * bookkeeping for failover figures.
 *
 * Every `probeIntervalMs` (default 20 ms) of true time, each running, unpaused node is asked
 * isLeader(localNow); each that says yes writes to the fencing resource with
 * fencingToken(localNow). A paused process cannot act, so it is not asked.
 *
 * Failover episodes are recorded when a scenario injects a fault that removes a leader; their
 * durations come from the trace afterwards (from the fault until every live node outside the
 * episode's `ignore` set knows one live leader of a newer term), never from the harness's own
 * polling, which only decides how long to wait.
 */
import type { NodeId, Rng, TraceEvent } from '@conclave/core'
import { createRng } from '@conclave/core'
import type { Traffic } from '../../accounting.js'
import { FencingResource } from '../../checkers/election/fencing-resource.js'
import { sideHasQuorum, withCommittedConfig } from '../../checkers/election/shard-map-at.js'
import type { LeaderProbe } from '../../checkers/election/violation.js'
import { lanNetwork, type NetworkModel } from '../../network-model.js'
import { Simulation } from '../../simulation.js'
import { type ElectionSubject, LEADER_ROUND_TYPES, type SubjectKind } from './subjects.js'

/** The trace kinds the election checkers and figures read; the rest is hashed, not kept. */
const KEPT_KINDS: ReadonlySet<TraceEvent['kind']> = new Set([
  'shard:role',
  'shard:leader',
  'lease:hold',
  'lease:end',
  'global:vote',
  'global:leader',
  'global:known',
  // invariant 5: committed shard config changes and global dissolves (shard-map-at.ts)
  'shardmap:commit',
  // invariant 7 (membership): a dead member comes back only with a new incarnation or boot epoch;
  // joins and alive states only after that observer declared that member dead (keepForInv7)
  'member:state',
  'member:join',
])

/**
 * Invariant 7's checker (deadStaysDead) reads a member:join or alive member:state only when the
 * same observer declared the same member dead before it (and not left since). Every other one is
 * the O(N²) "met a member" chatter of the bootstrap, which held most of the heap at 5000 nodes
 * (25 M join records). Hashed either way (simulation.ts); the checker sees the same events.
 */
function keepForInv7(): (e: TraceEvent) => boolean {
  const dead = new Set<string>()
  return (e) => {
    if (e.kind === 'member:join') return dead.delete(`${e.node}|${e.member}`)
    if (e.kind !== 'member:state') return true
    const key = `${e.node}|${e.member}`
    if (e.state === 'dead') dead.add(key)
    else if (e.state === 'left') dead.delete(key)
    else if (e.state === 'alive') return dead.delete(key)
    return true
  }
}

/** ElectionRun.runToNextRound's step: how late after its send a leader's round is seen, ms. */
export const ROUND_POLL_MS = 0.05

export interface ElectionRunInit {
  readonly subject: SubjectKind
  readonly ids: readonly NodeId[]
  readonly seed: number
  readonly network?: NetworkModel
  /** Each node's clock drift is uniform in ±driftPpmMax. Default 100 ppm (a good quartz). */
  readonly driftPpmMax?: number
  /** Each node's clock offset is uniform in [0, offsetMsMax]. Default 1000 ms. */
  readonly offsetMsMax?: number
  readonly probeIntervalMs?: number
  /** Nodes started at construction (the rest join later through `join`). Default: all. */
  readonly initialNodes?: number
  /**
   * A starved host (many processes on few cores): from the start until `stopStarving()`, every
   * node alternates between running for an exponential time of mean `runMsMean` and being frozen
   * (Simulation.pause: no tick, no receive; messages wait in order, timers fire late) for an
   * exponential time of mean `pauseMsMean`. What 100 real processes on 2 cores live through
   * while they launch: event-loop lag of hundreds of ms (docs/performance.md, "Session 10 (issue 4,
   * launch)"). Its own random stream: the other draws of a run are unchanged. Default: off.
   */
  readonly starve?: { readonly pauseMsMean: number; readonly runMsMean: number }
}

export interface Episode {
  readonly kind: 'global' | 'shard'
  readonly what: string
  readonly startMs: number
  /** The new leader must have a term of at least this. */
  readonly minTerm: number
  /** Nodes left out of "every live node knows it" (partitioned away, paused). */
  readonly ignore: ReadonlySet<NodeId>
  /** Shard episodes: the shard and its live voters at the fault. */
  readonly shard?: number
  readonly members?: readonly NodeId[]
  /** Election-layer (shard + global) messages sent from the fault until agreement was seen. */
  electionMsgs?: number
  /** When the harness saw agreement (the end of the electionMsgs window), true ms. */
  endMs?: number
}

export class ElectionRun {
  readonly sim: Simulation
  readonly resource = new FencingResource()
  readonly probes: LeaderProbe[] = []
  readonly episodes: Episode[] = []
  /**
   * Shard maps (shard → voters) at each partition, for invariant 5: what the nodes report,
   * corrected by the committed shard logs in the trace (withCommittedConfig).
   */
  readonly shardMaps: Array<{ trueMs: number; claims: Map<number, NodeId[]>; map: Map<number, NodeId[]> }> =
    []
  private readonly lastShardOf = new Map<NodeId, number | null>()
  /** The harness's own stream (fault choices), separate from the nodes' and the network's. */
  readonly rng: Rng
  readonly ids: NodeId[]
  readonly wallStartMs = performance.now()
  private readonly probeIntervalMs: number

  constructor(readonly init: ElectionRunInit) {
    this.rng = createRng(init.seed ^ 0x6a09e667)
    this.ids = init.ids.slice(0, init.initialNodes ?? init.ids.length)
    this.joiners = init.ids.slice(this.ids.length)
    this.probeIntervalMs = init.probeIntervalMs ?? 20
    const inv7 = keepForInv7()
    this.sim = new Simulation({
      seed: init.seed,
      network: init.network ?? lanNetwork(),
      keepTrace: (e) => KEPT_KINDS.has(e.kind) && inv7(e),
    })
    // The launch's dials (runElection stops counting at the first agreed leader).
    this.sim.accounting.trackDials(true)
    for (const id of this.ids) this.start(id)
    init.subject.startConverged?.(this.sim, this.ids)
    this.sim.schedule(this.probeIntervalMs, () => this.probe())
    const starve = init.starve
    if (starve !== undefined) {
      this.starving = true
      const rng = createRng(init.seed ^ 0x5be0cd19)
      const exp = (mean: number) => -mean * Math.log(1 - rng.float())
      const step = (id: NodeId): void => {
        if (!this.starving) return
        const pauseMs = exp(starve.pauseMsMean)
        this.sim.pause(id, pauseMs)
        this.sim.schedule(this.sim.nowMs + pauseMs + exp(starve.runMsMean), () => step(id))
      }
      for (const id of this.ids) this.sim.schedule(exp(starve.runMsMean), () => step(id))
    }
  }

  private starving = false

  /** End the starved-host model (ElectionRunInit.starve): no new freezes after this. */
  stopStarving(): void {
    this.starving = false
  }

  private start(id: NodeId): void {
    const driftPpm = (this.rng.float() * 2 - 1) * (this.init.driftPpmMax ?? 100)
    const offsetMs = this.rng.float() * (this.init.offsetMsMax ?? 1000)
    this.sim.addNode(id, this.init.subject.factory(id), { driftPpm, offsetMs })
  }

  /** Nodes that have not started yet (growth): `join` starts the next `count` of them now. */
  readonly joiners: NodeId[]

  join(count: number): NodeId[] {
    const started = this.joiners.splice(0, count)
    for (const id of started) {
      this.ids.push(id)
      this.start(id)
    }
    return started
  }

  /** The running machine of a node, or undefined while it is crashed. */
  subject(id: NodeId): ElectionSubject | undefined {
    return this.sim.machine<ElectionSubject>(id)
  }

  isActive(id: NodeId): boolean {
    return this.sim.isUp(id) && !this.sim.isPaused(id)
  }

  activeIds(): NodeId[] {
    return this.ids.filter((id) => this.isActive(id))
  }

  /** The node that acts as global leader now (isLeader true), the highest term if several. */
  actingLeader(): { id: NodeId; term: number } | undefined {
    let best: { id: NodeId; term: number } | undefined
    for (const id of this.activeIds()) {
      const m = this.subject(id)
      const now = this.sim.localNow(id)
      if (m === undefined || !m.isLeader(now)) continue
      const term = m.fencingToken(now) ?? 0
      if (best === undefined || term > best.term) best = { id, term }
    }
    return best
  }

  /** Every active node outside `ignore` names the same leader (term ≥ minTerm), which acts as leader. */
  agreedLeader(
    minTerm = 0,
    ignore: ReadonlySet<NodeId> = new Set(),
  ): { id: NodeId; term: number } | undefined {
    let agreed: { id: NodeId; term: number } | undefined
    for (const id of this.ids) {
      if (ignore.has(id) || !this.isActive(id)) continue
      const l = this.subject(id)?.leader()
      if (l === undefined || l.term < minTerm) return undefined
      if (agreed === undefined) agreed = l
      else if (agreed.id !== l.id || agreed.term !== l.term) return undefined
    }
    if (agreed === undefined || !this.isActive(agreed.id)) return undefined
    return this.subject(agreed.id)?.isLeader(this.sim.localNow(agreed.id)) ? agreed : undefined
  }

  /**
   * Run until `id` sends its next heartbeat round (a message of one of its algorithm's
   * LEADER_ROUND_TYPES), in steps of ROUND_POLL_MS of true time: returns the true ms at which the
   * round was seen — at most ROUND_POLL_MS after it was sent —, or undefined if none was sent
   * within maxMs. Reads the accounting counters only: the run's events are unchanged.
   */
  runToNextRound(id: NodeId, maxMs: number): number | undefined {
    const types = LEADER_ROUND_TYPES[this.init.subject.algo]
    const n0 = this.sentBy(id, types)
    const endMs = this.sim.nowMs + maxMs
    while (this.sim.nowMs < endMs) {
      this.sim.runFor(Math.min(ROUND_POLL_MS, endMs - this.sim.nowMs))
      if (this.sentBy(id, types) > n0) return this.sim.nowMs
    }
    return undefined
  }

  /** Messages of these `layer/type`s that `id` has sent so far (the simulator's accounting). */
  sentBy(id: NodeId, types: readonly string[]): number {
    const t = this.sim.accounting.perNode.get(id)
    if (t === undefined) return 0
    let n = 0
    for (const k of types) n += t.byType.get(k)?.sentMsgs ?? 0
    return n
  }

  /** Run in steps of stepMs until agreedLeader holds or maxMs pass; the true time it held, or undefined. */
  runUntilAgreed(
    maxMs: number,
    minTerm = 0,
    ignore: ReadonlySet<NodeId> = new Set(),
    stepMs = 10,
  ): number | undefined {
    const endMs = this.sim.nowMs + maxMs
    while (this.sim.nowMs < endMs) {
      if (this.agreedLeader(minTerm, ignore) !== undefined) return this.sim.nowMs
      this.sim.runFor(Math.min(stepMs, endMs - this.sim.nowMs))
    }
    return this.agreedLeader(minTerm, ignore) !== undefined ? this.sim.nowMs : undefined
  }

  /**
   * Shard → voters, as the nodes report it (empty for the flat baselines). Paused nodes answer
   * too (a query, not an action), and a crashed node counts where it last said it voted: it
   * comes back from its persisted state in the same shard, so leaving it out would make a side
   * look short of a quorum it can in fact reach.
   */
  /** Running nodes that vote in no shard (Conclave; 0 for subjects without a status). */
  nodesWithoutShard(): number {
    let n = 0
    for (const id of this.ids) {
      if (!this.sim.isUp(id)) continue
      const st = this.subject(id)?.status?.(this.sim.localNow(id))
      if (st !== undefined && (st.shard === null || st.role === 'observer')) n++
    }
    return n
  }

  shardMapNow(): Map<number, NodeId[]> {
    for (const id of this.ids) {
      if (!this.sim.isUp(id)) continue
      const st = this.subject(id)?.status?.(this.sim.localNow(id))
      if (st !== undefined)
        this.lastShardOf.set(id, st.shard === null || st.role === 'observer' ? null : st.shard)
    }
    const map = new Map<number, NodeId[]>()
    for (const [id, shard] of this.lastShardOf) {
      if (shard === null) continue
      const voters = map.get(shard) ?? []
      voters.push(id)
      map.set(shard, voters)
    }
    return map
  }

  /**
   * Crash through the harness: first note which shard the node votes in, so the shard maps of
   * later partitions still count it (it comes back there from its persisted state).
   */
  crash(id: NodeId): void {
    if (this.sim.isUp(id)) {
      const st = this.subject(id)?.status?.(this.sim.localNow(id))
      if (st !== undefined)
        this.lastShardOf.set(id, st.shard === null || st.role === 'observer' ? null : st.shard)
    }
    this.sim.crash(id)
  }

  /**
   * Partition through the harness, so the shard map at that moment is recorded for invariant 5.
   * A node's claim is not its vote: a voter removed while it was down still reports its old
   * shard, so the committed config changes in the trace override the claims.
   */
  partition(groupA: readonly NodeId[], groupB: readonly NodeId[], oneWay = false): void {
    const nowMs = this.sim.nowMs
    const claims = this.shardMapNow()
    this.shardMaps.push({ trueMs: nowMs, claims, map: withCommittedConfig(claims, this.sim.trace, nowMs) })
    this.sim.partition(groupA, groupB, { oneWay })
  }

  /**
   * Invariant 5's quorum test at trueMs: the claims recorded at the last partition at or before
   * it, corrected by the committed shard-log and global-log changes in the trace up to trueMs.
   */
  quorumOf(side: ReadonlySet<NodeId>, trueMs: number, bridge?: ReadonlySet<NodeId>): boolean {
    const snap = this.shardMaps.findLast((s) => s.trueMs <= trueMs)
    const map = snap === undefined ? new Map() : withCommittedConfig(snap.claims, this.sim.trace, trueMs)
    return sideHasQuorum(side, map, this.ids, bridge)
  }

  /** Start a failover episode now; call `endEpisode` once agreement is seen, for message counts. */
  beginEpisode(e: Omit<Episode, 'startMs' | 'electionMsgs'>): { episode: Episode; before: number } {
    const episode: Episode = { ...e, startMs: this.sim.nowMs }
    this.episodes.push(episode)
    return { episode, before: this.electionMsgsSent() }
  }

  endEpisode(handle: { episode: Episode; before: number }): void {
    handle.episode.electionMsgs = this.electionMsgsSent() - handle.before
    handle.episode.endMs = this.sim.nowMs
  }

  /** Messages sent on the election layers (shard, global) so far, all nodes. */
  electionMsgsSent(): number {
    let n = 0
    for (const [key, t] of this.sim.accounting.byType()) {
      if (key.startsWith('shard/') || key.startsWith('global/')) n += t.sentMsgs
    }
    return n
  }

  trafficSnapshot(): Map<NodeId, Traffic> {
    return this.sim.accounting.snapshot()
  }

  wallSeconds(): number {
    return (performance.now() - this.wallStartMs) / 1000
  }

  private probe(): void {
    const leaders: NodeId[] = []
    const t = this.sim.nowMs
    for (const id of this.ids) {
      if (!this.isActive(id)) continue
      const m = this.subject(id)
      const now = this.sim.localNow(id)
      if (m === undefined || !m.isLeader(now)) continue
      leaders.push(id)
      const token = m.fencingToken(now)
      if (token !== undefined) this.resource.write(id, token, t)
    }
    if (leaders.length > 0) this.probes.push({ trueMs: t, leaders })
    this.sim.schedule(t + this.probeIntervalMs, () => this.probe())
  }
}
