/**
 * Flat Raft election: the comparison baseline for Conclave's hierarchical election.
 *
 * Every one of the N nodes is a voter; there is no log, no PreVote, no CheckQuorum and no lease
 * (the textbook election of Raft §5.2, as most "use Raft for leader election" setups run it).
 * Guarantees: at most one leader per term, because (term, votedFor) is persisted before a vote
 * leaves (Raft Figure 2, "Persistent state") and a candidate needs a strict majority of all N.
 * Not guaranteed: that a deposed leader knows it is deposed (no lease, no CheckQuorum), so an
 * isolated old leader keeps answering `isLeader() === true` — exactly what the fencing token and
 * the lease checkers should catch when this baseline runs under partitions.
 *
 * Cost model (what the benchmarks compare): the leader sends one heartbeat to each of N-1 peers
 * every heartbeatIntervalMs and receives one ack from each, i.e. 2(N-1)/heartbeatIntervalMs
 * messages per second at the leader (≈ 40,000 msgs/s at N = 1000, 50 ms).
 */
import type { Layer, Machine, NodeId, Outbound, PersistOp, Ready } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'
import { assert } from '../util/assert.js'
import type { Rng } from '../util/rng.js'
import { Reader, Writer } from '../wire/codec.js'
import { RejectionCounter, WireError } from '../wire/errors.js'
import { type BaselineFrame, type BaselineType, decodeBaseline, encodeBaseline } from './baseline-wire.js'

export interface FlatRaftConfig {
  /**
   * Leader heartbeat period. Default 50 ms. Raft §9.3 wants broadcastTime ≪ electionTimeout;
   * shorter detects failures sooner but the leader's load grows as 2(N-1)/heartbeatIntervalMs.
   */
  heartbeatIntervalMs: number
  /**
   * Election timeout, drawn uniformly from [electionTimeoutMinMs, electionTimeoutMaxMs] on every
   * reset (Raft §5.2, §9.3: 150–300 ms). A wider range means fewer split votes, slower failover.
   */
  electionTimeoutMinMs: number
  /** Upper end of the election timeout range. Default 300 ms. */
  electionTimeoutMaxMs: number
}

export function flatRaftConfig(overrides: Partial<FlatRaftConfig> = {}): FlatRaftConfig {
  return { heartbeatIntervalMs: 50, electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300, ...overrides }
}

export interface FlatRaftInit {
  readonly id: NodeId
  /** Every voter, this node included (the fixed cluster of N). */
  readonly voters: readonly NodeId[]
  readonly rng: Rng
  readonly config: FlatRaftConfig
  /** What this node's persist ops wrote before a restart (empty on first boot). */
  readonly stored: ReadonlyMap<string, Uint8Array>
}

export type RaftRole = 'follower' | 'candidate' | 'leader'

/** The single persisted record: (term, votedFor), Raft Figure 2. */
export const RAFT_STATE_KEY = 'global/raft-state'

export class FlatRaft implements Machine<TraceEvent> {
  readonly id: NodeId
  readonly rejections = new RejectionCounter()
  private readonly peers: NodeId[]
  private readonly quorum: number
  private readonly rng: Rng
  private readonly config: FlatRaftConfig

  private term = 0
  private votedFor: NodeId | undefined
  private role: RaftRole = 'follower'
  private leaderId: NodeId | undefined
  private readonly votes = new Set<NodeId>()
  private electionAtMs: number
  private heartbeatAtMs = Number.POSITIVE_INFINITY

  private persist: PersistOp[] = []
  private send: Outbound[] = []
  private events: TraceEvent[] = []

  constructor(init: FlatRaftInit, nowMs: number) {
    assert(init.voters.includes(init.id), () => `flat raft: ${init.id} is not among its voters`)
    assert(
      init.config.electionTimeoutMinMs > 0 &&
        init.config.electionTimeoutMaxMs >= init.config.electionTimeoutMinMs,
      () => `flat raft: bad election timeout range ${JSON.stringify(init.config)}`,
    )
    this.id = init.id
    this.peers = init.voters.filter((v) => v !== init.id)
    this.quorum = Math.floor(init.voters.length / 2) + 1
    this.rng = init.rng
    this.config = init.config
    const saved = init.stored.get(RAFT_STATE_KEY)
    if (saved !== undefined) {
      const r = new Reader(saved)
      this.term = r.varint()
      const voted = r.string(256, 'votedFor')
      this.votedFor = voted === '' ? undefined : voted
      r.end()
    }
    this.electionAtMs = nowMs + this.electionTimeoutMs()
  }

  // --- queries (same shape as ConclaveMachine's, so the harness treats both alike) ---

  /** True while this node believes it leads. No lease: a deposed, isolated leader still says true. */
  isLeader(_nowMs: number): boolean {
    return this.role === 'leader'
  }

  leader(): { id: NodeId; term: number } | undefined {
    return this.leaderId === undefined ? undefined : { id: this.leaderId, term: this.term }
  }

  /** The term, while leader (the fencing token of a Raft-based lock). */
  fencingToken(nowMs: number): number | undefined {
    return this.isLeader(nowMs) ? this.term : undefined
  }

  currentTerm(): number {
    return this.term
  }

  currentRole(): RaftRole {
    return this.role
  }

  // --- Machine ---

  tick(nowMs: number): void {
    if (this.role === 'leader') {
      if (nowMs >= this.heartbeatAtMs) this.broadcastHeartbeat(nowMs)
    } else if (nowMs >= this.electionAtMs) {
      this.startElection(nowMs)
    }
  }

  receive(from: NodeId, layer: Layer, bytes: Uint8Array, nowMs: number): void {
    let frame: BaselineFrame
    try {
      if (layer !== 'global') throw new WireError('unknown-type', `flat raft: layer ${layer}`)
      frame = decodeBaseline(bytes)
      if (!frame.type.startsWith('raft-')) throw new WireError('unknown-type', `flat raft: ${frame.type}`)
    } catch (err) {
      if (!(err instanceof WireError)) throw err
      this.reject(from, err.code, nowMs)
      return
    }
    // Raft §5.1: a higher term makes any node a follower of that term.
    if (frame.term > this.term) this.becomeFollower(frame.term, nowMs)
    switch (frame.type) {
      case 'raft-vote-request':
        this.onVoteRequest(from, frame.term, nowMs)
        return
      case 'raft-vote-reply':
        this.onVoteReply(from, frame.term, frame.flag, nowMs)
        return
      case 'raft-heartbeat':
        this.onHeartbeat(from, frame.term, nowMs)
        return
      case 'raft-heartbeat-ack':
        return // counted by the driver's accounting; a stale or higher term was handled above
      default:
        this.reject(from, 'unknown-type', nowMs)
    }
  }

  nextTickAtMs(): number {
    return this.role === 'leader' ? this.heartbeatAtMs : this.electionAtMs
  }

  drain(): Ready<TraceEvent> {
    const ready = { persist: this.persist, send: this.send, events: this.events }
    this.persist = []
    this.send = []
    this.events = []
    return ready
  }

  // --- Raft rules ---

  private startElection(nowMs: number): void {
    // Raft §5.2: increment the term, vote for self, ask everyone.
    this.term += 1
    this.votedFor = this.id
    this.role = 'candidate'
    this.leaderId = undefined
    this.votes.clear()
    this.votes.add(this.id)
    this.persistState()
    this.electionAtMs = nowMs + this.electionTimeoutMs()
    if (this.votes.size >= this.quorum) {
      this.becomeLeader(nowMs)
      return
    }
    this.broadcast('raft-vote-request', nowMs)
  }

  private onVoteRequest(from: NodeId, term: number, nowMs: number): void {
    // Raft §5.2: one vote per term, first come first served (no log, so no up-to-date check).
    const granted = term === this.term && (this.votedFor === undefined || this.votedFor === from)
    if (granted && this.votedFor === undefined) {
      this.votedFor = from
      this.persistState() // persist before the grant leaves (the driver writes persist ops first)
      this.electionAtMs = nowMs + this.electionTimeoutMs()
      this.events.push({
        kind: 'vote:cast',
        node: this.id,
        atMs: nowMs,
        scope: 'global',
        shard: 0,
        term,
        candidate: from,
      })
    }
    this.sendTo(from, 'raft-vote-reply', granted)
  }

  private onVoteReply(from: NodeId, term: number, granted: boolean, nowMs: number): void {
    if (this.role !== 'candidate' || term !== this.term || !granted) return
    this.votes.add(from)
    if (this.votes.size >= this.quorum) this.becomeLeader(nowMs)
  }

  private onHeartbeat(from: NodeId, term: number, nowMs: number): void {
    if (term < this.term) {
      this.sendTo(from, 'raft-heartbeat-ack', false) // tells the stale leader our term (Raft §5.1)
      return
    }
    assert(
      from !== this.id && !(this.role === 'leader'),
      () => `flat raft: two leaders in term ${term}: ${this.id}, ${from}`,
    )
    this.role = 'follower'
    this.electionAtMs = nowMs + this.electionTimeoutMs()
    if (this.leaderId !== from) {
      this.leaderId = from
      this.events.push({ kind: 'global:known', node: this.id, atMs: nowMs, term, leader: from })
    }
    this.sendTo(from, 'raft-heartbeat-ack', false)
  }

  private becomeLeader(nowMs: number): void {
    this.role = 'leader'
    this.leaderId = this.id
    this.events.push({ kind: 'global:leader', node: this.id, atMs: nowMs, term: this.term, leader: this.id })
    this.events.push({ kind: 'global:known', node: this.id, atMs: nowMs, term: this.term, leader: this.id })
    this.broadcastHeartbeat(nowMs)
  }

  private becomeFollower(term: number, nowMs: number): void {
    this.term = term
    this.votedFor = undefined
    this.role = 'follower'
    this.leaderId = undefined
    this.heartbeatAtMs = Number.POSITIVE_INFINITY
    this.persistState()
    this.electionAtMs = nowMs + this.electionTimeoutMs()
  }

  private broadcastHeartbeat(nowMs: number): void {
    this.broadcast('raft-heartbeat', nowMs)
    this.heartbeatAtMs = nowMs + this.config.heartbeatIntervalMs
  }

  // --- plumbing ---

  private electionTimeoutMs(): number {
    return this.rng.range(this.config.electionTimeoutMinMs, this.config.electionTimeoutMaxMs)
  }

  private persistState(): void {
    const value = new Writer(300)
      .varint(this.term)
      .string(this.votedFor ?? '')
      .finish()
    this.persist.push({ key: RAFT_STATE_KEY, value })
  }

  private broadcast(type: BaselineType, _nowMs: number): void {
    const bytes = encodeBaseline({ type, term: this.term, flag: false })
    for (const to of this.peers) this.send.push({ to, layer: 'global', type, bytes })
  }

  private sendTo(to: NodeId, type: BaselineType, flag: boolean): void {
    this.send.push({ to, layer: 'global', type, bytes: encodeBaseline({ type, term: this.term, flag }) })
  }

  private reject(from: NodeId, code: string, nowMs: number): void {
    this.rejections.add(code)
    this.events.push({ kind: 'wire:reject', node: this.id, atMs: nowMs, from, code })
  }
}
