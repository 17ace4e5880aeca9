/**
 * The Bully algorithm (Garcia-Molina, "Elections in a Distributed Computing System", 1982):
 * the comparison baseline for "leader by priority or id".
 *
 * Rank = (priority, node id), higher wins. The leader heartbeats to everyone; a node that misses
 * the leader for its timeout sends ELECTION to every higher-ranked node. If none ANSWERs within
 * answerTimeoutMs it declares itself COORDINATOR to all; if one answers, it waits
 * coordinatorTimeoutMs for that node's COORDINATOR and otherwise starts over. A node that hears
 * from a lower-ranked leader or candidate "bullies" it by running its own election.
 *
 * Guarantees, in a synchronous crash-stop network only: eventually the highest-ranked live node
 * leads and everyone knows it. No quorum, so a partition elects one leader per side, and the
 * coordinator epoch (used as the "term" in trace events) is not unique under concurrency: the
 * invariant checkers are expected to find violations when this baseline runs under partitions.
 * Cost: one failover costs O(N²) messages (every node asks every higher node), which is the
 * figure the benchmarks compare against.
 */
import type { Layer, Machine, NodeId, Outbound, PersistOp, Ready } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'
import { assert } from '../util/assert.js'
import type { Rng } from '../util/rng.js'
import { Reader, Writer } from '../wire/codec.js'
import { RejectionCounter, WireError } from '../wire/errors.js'
import { type BaselineFrame, type BaselineType, decodeBaseline, encodeBaseline } from './baseline-wire.js'

export interface BullyConfig {
  /** Leader heartbeat period. Default 50 ms (same as flat Raft, for a fair comparison). */
  heartbeatIntervalMs: number
  /**
   * A follower suspects the leader after a silence drawn from [min, max] (default 150–300 ms,
   * as Raft's election timeout). Jitter spreads the O(N²) election burst a little.
   */
  leaderTimeoutMinMs: number
  /** Upper end of the leader-silence timeout. Default 300 ms. */
  leaderTimeoutMaxMs: number
  /**
   * How long a candidate waits for an ANSWER from a higher node before declaring itself
   * coordinator. Default 50 ms (≥ 2 one-way LAN latencies + processing). Too short and a live
   * higher node is overrun (two coordinators); too long and every failover pays it.
   */
  answerTimeoutMs: number
  /** After an ANSWER, how long to wait for the COORDINATOR before retrying. Default 200 ms. */
  coordinatorTimeoutMs: number
}

export function bullyConfig(overrides: Partial<BullyConfig> = {}): BullyConfig {
  return {
    heartbeatIntervalMs: 50,
    leaderTimeoutMinMs: 150,
    leaderTimeoutMaxMs: 300,
    answerTimeoutMs: 50,
    coordinatorTimeoutMs: 200,
    ...overrides,
  }
}

export interface BullyPeer {
  readonly id: NodeId
  readonly priority: number
}

export interface BullyInit {
  readonly id: NodeId
  /** Every node with its priority, this node included (the fixed cluster of N). */
  readonly peers: readonly BullyPeer[]
  readonly rng: Rng
  readonly config: BullyConfig
  readonly stored: ReadonlyMap<string, Uint8Array>
}

/** Bully ranks by priority, then by node id (DESIGN.md: "leader by priority or ID"). */
export function bullyRankAbove(a: BullyPeer, b: BullyPeer): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.id > b.id
}

/** The highest coordinator epoch this node has announced or seen, persisted so it never reuses one. */
export const BULLY_EPOCH_KEY = 'global/bully-epoch'

type Phase = 'follower' | 'electing' | 'awaiting-coordinator' | 'leader'

export class Bully implements Machine<TraceEvent> {
  readonly id: NodeId
  readonly rejections = new RejectionCounter()
  private readonly self: BullyPeer
  private readonly others: NodeId[]
  private readonly higher: NodeId[]
  private readonly rankOf: Map<NodeId, BullyPeer>
  private readonly rng: Rng
  private readonly config: BullyConfig

  private epoch = 0
  private phase: Phase = 'follower'
  private leaderId: NodeId | undefined
  /** The epoch the current leader announced (may be below `epoch`, the highest seen). */
  private leaderEpoch = 0
  /** When this node last heard its leader (heartbeat or COORDINATOR), local ms. */
  private leaderHeardMs = Number.NEGATIVE_INFINITY
  /** The deadline of the current phase: leader silence, answer wait, coordinator wait, or next heartbeat. */
  private deadlineMs: number

  private persist: PersistOp[] = []
  private send: Outbound[] = []
  private events: TraceEvent[] = []

  constructor(init: BullyInit, nowMs: number) {
    const self = init.peers.find((p) => p.id === init.id)
    assert(self !== undefined, () => `bully: ${init.id} is not among its peers`)
    this.id = init.id
    this.self = self
    this.rankOf = new Map(init.peers.map((p) => [p.id, p]))
    this.others = init.peers.filter((p) => p.id !== init.id).map((p) => p.id)
    this.higher = init.peers.filter((p) => bullyRankAbove(p, self)).map((p) => p.id)
    this.rng = init.rng
    this.config = init.config
    const saved = init.stored.get(BULLY_EPOCH_KEY)
    if (saved !== undefined) {
      const r = new Reader(saved)
      this.epoch = r.varint()
      r.end()
    }
    // A (re)started node looks for the leader first rather than bullying at once.
    this.deadlineMs = nowMs + this.leaderTimeoutMs()
  }

  isLeader(_nowMs: number): boolean {
    return this.phase === 'leader'
  }

  leader(): { id: NodeId; term: number } | undefined {
    return this.leaderId === undefined ? undefined : { id: this.leaderId, term: this.leaderEpoch }
  }

  fencingToken(nowMs: number): number | undefined {
    return this.isLeader(nowMs) ? this.leaderEpoch : undefined
  }

  tick(nowMs: number): void {
    if (nowMs < this.deadlineMs) return
    switch (this.phase) {
      case 'leader':
        this.broadcast('bully-heartbeat')
        this.deadlineMs = nowMs + this.config.heartbeatIntervalMs
        return
      case 'follower':
      case 'awaiting-coordinator':
        this.startElection(nowMs)
        return
      case 'electing':
        this.becomeCoordinator(nowMs) // no higher node answered
        return
    }
  }

  receive(from: NodeId, layer: Layer, bytes: Uint8Array, nowMs: number): void {
    let frame: BaselineFrame
    try {
      if (layer !== 'global') throw new WireError('unknown-type', `bully: layer ${layer}`)
      frame = decodeBaseline(bytes)
      if (!frame.type.startsWith('bully-')) throw new WireError('unknown-type', `bully: ${frame.type}`)
      if (!this.rankOf.has(from)) throw new WireError('bad-value', 'bully: sender is not a cluster member')
    } catch (err) {
      if (!(err instanceof WireError)) throw err
      this.reject(from, err.code, nowMs)
      return
    }
    const sender = this.rankOf.get(from) as BullyPeer
    switch (frame.type) {
      case 'bully-election':
        this.onElection(from, sender, nowMs)
        return
      case 'bully-answer':
        this.onAnswer(nowMs)
        return
      case 'bully-coordinator':
      case 'bully-heartbeat':
        this.onLeaderClaim(from, sender, frame.term, nowMs)
        return
      default:
        this.reject(from, 'unknown-type', nowMs)
    }
  }

  nextTickAtMs(): number {
    return this.deadlineMs
  }

  drain(): Ready<TraceEvent> {
    const ready = { persist: this.persist, send: this.send, events: this.events }
    this.persist = []
    this.send = []
    this.events = []
    return ready
  }

  private startElection(nowMs: number): void {
    if (this.higher.length === 0) {
      this.becomeCoordinator(nowMs)
      return
    }
    this.phase = 'electing'
    this.deadlineMs = nowMs + this.config.answerTimeoutMs
    const bytes = encodeBaseline({ type: 'bully-election', term: this.epoch, flag: false })
    for (const to of this.higher) this.send.push({ to, layer: 'global', type: 'bully-election', bytes })
  }

  private onElection(from: NodeId, sender: BullyPeer, nowMs: number): void {
    if (!bullyRankAbove(this.self, sender)) return // only lower nodes may ask us; ignore otherwise
    this.sendTo(from, 'bully-answer')
    if (this.phase === 'leader') {
      this.sendTo(from, 'bully-coordinator') // already leading: tell the asker directly
    } else if (this.phase === 'follower' && nowMs - this.leaderHeardMs > this.config.heartbeatIntervalMs) {
      // A node asked by a lower one holds its own election (the asker has given up on hearing our
      // OK), unless its leader spoke within one heartbeat period: that leader outranks us and
      // the asker and is evidently up, so the asker's ELECTION reaches it too and it answers
      // with COORDINATOR. Without this, ELECTIONs still in flight when a coordinator wins
      // restart an election at every node they reach, wave after wave: O(N³) messages (at
      // N = 100, 66,000 ELECTIONs to elect the first leader; N = 1000 never finished).
      this.startElection(nowMs)
    }
  }

  private onAnswer(nowMs: number): void {
    if (this.phase !== 'electing') return
    this.phase = 'awaiting-coordinator'
    this.deadlineMs = nowMs + this.config.coordinatorTimeoutMs
  }

  private onLeaderClaim(from: NodeId, sender: BullyPeer, epoch: number, nowMs: number): void {
    if (epoch > this.epoch) {
      // Learn the epoch first, even when about to bully: our own claim must come after it.
      this.epoch = epoch
      this.persistEpoch()
    }
    if (bullyRankAbove(this.self, sender)) {
      // A lower-ranked node claims to lead: bully it (unless we are already on it).
      if (this.phase === 'leader') this.sendTo(from, 'bully-coordinator')
      else if (this.phase === 'follower' || this.phase === 'awaiting-coordinator') this.startElection(nowMs)
      return
    }
    this.phase = 'follower'
    this.deadlineMs = nowMs + this.leaderTimeoutMs()
    this.leaderHeardMs = nowMs
    if (this.leaderId !== from || this.leaderEpoch !== epoch) {
      this.leaderId = from
      this.leaderEpoch = epoch
      this.events.push({ kind: 'global:known', node: this.id, atMs: nowMs, term: epoch, leader: from })
    }
  }

  private becomeCoordinator(nowMs: number): void {
    this.epoch += 1
    this.persistEpoch()
    this.phase = 'leader'
    this.leaderId = this.id
    this.leaderEpoch = this.epoch
    this.events.push({ kind: 'global:leader', node: this.id, atMs: nowMs, term: this.epoch, leader: this.id })
    this.events.push({ kind: 'global:known', node: this.id, atMs: nowMs, term: this.epoch, leader: this.id })
    this.broadcast('bully-coordinator')
    this.deadlineMs = nowMs + this.config.heartbeatIntervalMs
  }

  private leaderTimeoutMs(): number {
    return this.rng.range(this.config.leaderTimeoutMinMs, this.config.leaderTimeoutMaxMs)
  }

  private persistEpoch(): void {
    this.persist.push({ key: BULLY_EPOCH_KEY, value: new Writer(16).varint(this.epoch).finish() })
  }

  private broadcast(type: BaselineType): void {
    const bytes = encodeBaseline({ type, term: this.leaderEpoch, flag: false })
    for (const to of this.others) this.send.push({ to, layer: 'global', type, bytes })
  }

  private sendTo(to: NodeId, type: BaselineType): void {
    // A leader speaks with the epoch it announced; anyone else with the highest it has seen.
    const term = this.phase === 'leader' ? this.leaderEpoch : this.epoch
    this.send.push({ to, layer: 'global', type, bytes: encodeBaseline({ type, term, flag: false }) })
  }

  private reject(from: NodeId, code: string, nowMs: number): void {
    this.rejections.add(code)
    this.events.push({ kind: 'wire:reject', node: this.id, atMs: nowMs, from, code })
  }
}
