/**
 * One node's part in its shard group: Raft leader election (§5.2) with PreVote and CheckQuorum
 * (thesis §9.6), vote withholding while a live leader is known (thesis §4.2.3), a leader lease
 * counted from the send time of a majority-acked heartbeat round and discounted by the drift
 * bound ρ, and the control log (control-log.ts) replicated as in Raft §5.3.
 *
 * Guarantees (given clock rates within 1 ± ρ and the driver's persist-before-send):
 *  - at most one leader per term: (term, votedFor) is persisted before a vote leaves;
 *  - at most one valid lease at any true instant (docs/protocol.md §Lease);
 *  - a committed entry survives every later leader (Raft §5.4).
 * Sans-IO: time comes in as nowMs, outputs go to the Sink, randomness from the injected Rng.
 */
import type { NodeId, Outbound, PersistOp } from '../sans-io.js'
import type { ShardRole, TraceEvent } from '../trace/events.js'
import { assert } from '../util/assert.js'
import type { Rng } from '../util/rng.js'
import type { RejectionCounter } from '../wire/errors.js'
import { ControlLog, type LogEntry, type LogEntryBody } from './control-log.js'
import {
  isLeaseValid,
  isLogUpToDate,
  isWithholdingVote,
  leaseUntilMs,
  quorumSize,
  quorumValue,
  randomElectionTimeoutMs,
} from './raft-rules.js'
import type { ShardConfig } from './shard-config.js'
import { hardStateOp, logOp, readHardState, readLog } from './shard-store.js'
import {
  type Announce,
  ENTRIES_PER_FRAME_MAX,
  encodeAppendFitting,
  encodeShardMessage,
  type ShardMessage,
} from './shard-wire.js'

/** Where a group puts its outputs; the node drains them as one Ready. */
export interface Sink {
  persist(op: PersistOp): void
  send(msg: Outbound): void
  event(e: TraceEvent): void
}

export type ShardBreak = 'lease' | 'persist' | undefined

export interface ShardHooks {
  /** Global info to piggyback on heartbeats (shard leader only). */
  announce(nowMs: number): Announce | undefined
  /** A follower received the leader's announcement. */
  onAnnounce(a: Announce | undefined, nowMs: number): void
  /** Entries newly committed, in order. */
  onCommit(entries: { index: number; entry: LogEntry }[], nowMs: number): void
  /** Role or leadership changed (the node re-evaluates its global role). */
  onRoleChange(nowMs: number): void
  /** Membership view: is this peer alive, and its priority (for handover). */
  isLive(id: NodeId): boolean
  priorityOf(id: NodeId): number
  /** Membership says `dead` or `left` for at least the grace period: remove it from the voters. */
  isGone(id: NodeId, nowMs: number): boolean
}

export interface ShardGroupInit {
  id: NodeId
  shard: number
  /** Initial voters when nothing is stored (the bootstrap shard map). */
  voters: readonly NodeId[]
  config: ShardConfig
  rng: Rng
  stored: ReadonlyMap<string, Uint8Array>
  sink: Sink
  hooks: ShardHooks
  rejections: RejectionCounter
  unsafeBreak?: ShardBreak
  /**
   * A learner not promoted within this long is dropped (the dead-member grace period, so a
   * newcomer that never answers costs the shard no more than a dead voter does). Default 5000.
   */
  learnerGraceMs?: number
}

const ROUNDS_KEPT_MAX = 64
/** Learners a leader replicates to at once (the node also keeps voters + learners ≤ shardSizeMax). */
export const LEARNERS_MAX = 16
/** Catch-up rounds a learner gets (thesis §4.2.1); one that needs more is never promoted. */
export const LEARNER_ROUNDS_MAX = 10

/**
 * Leader state for a learner (Raft thesis §4.2.1 "catching up new servers"): a newcomer receives
 * the log and heartbeats but counts for no quorum, vote or lease until it is promoted to voter.
 * A round replicates every entry the leader had when the round began (`roundEnd`); the learner is
 * caught up when a round ends with nothing new appended meanwhile and its ack answered an append
 * sent less than electionTimeoutMinMs before (it answers now, not once, long ago).
 */
interface Learner {
  sinceMs: number
  roundEnd: number
  rounds: number
  caughtUp: boolean
}

export class ShardGroup {
  readonly id: NodeId
  readonly shard: number
  private readonly cfg: ShardConfig
  private readonly sink: Sink
  private readonly hooks: ShardHooks

  private termValue = 0
  private votedFor: NodeId | undefined
  private roleValue: ShardRole = 'follower'
  private leaderId: NodeId | undefined
  readonly log: ControlLog
  private commitIndex = 0

  private electionDeadlineMs = 0
  private lastHeardLeaderMs: number
  private readonly grants = new Set<NodeId>()

  // Leader state (Raft Figure 2 "volatile state on leaders" plus lease rounds).
  private readonly nextIndex = new Map<NodeId, number>()
  private readonly matchIndex = new Map<NodeId, number>()
  private readonly ackedRound = new Map<NodeId, number>()
  private readonly roundSentMs = new Map<number, number>()
  private round = 0
  private nextHeartbeatMs = 0
  private leaseUntil = 0
  private lastQuorumSentMs = 0
  private lastQuorumRound = 0
  private leaderSinceMsValue = 0
  /** Joined with no voter list and nothing stored: accept no entries before the leader's snapshot. */
  private needsSnapshot = false
  /** Leader only: newcomers being caught up before they become voters (bounded by LEARNERS_MAX). */
  private readonly learnerState = new Map<NodeId, Learner>()
  /** Whether the last `shard:role` traced us as a voter (a learner traces `observer`). */
  private tracedVoter: boolean

  constructor(
    private readonly init: ShardGroupInit,
    nowMs: number,
  ) {
    this.id = init.id
    this.shard = init.shard
    this.cfg = init.config
    this.sink = init.sink
    this.hooks = init.hooks
    const hard = readHardState(init.stored.get('shard/hard'))
    const stored = readLog(init.stored.get('shard/log'))
    if (hard && hard.shard === init.shard) {
      this.termValue = hard.term
      this.votedFor = hard.votedFor
    }
    this.log =
      stored && hard?.shard === init.shard
        ? stored
        : new ControlLog({
            index: 0,
            term: 0,
            voters: [...init.voters].sort(),
            globalVoteTerm: 0,
            globalVoteCandidate: '',
          })
    this.commitIndex = this.log.snapshot.index
    this.needsSnapshot = !(stored && hard?.shard === init.shard) && init.voters.length === 0
    // A (re)started voter withholds votes for a full election timeout, as if it had just heard a
    // leader: it may have acked a lease round before the crash and forgotten it (volatile).
    this.lastHeardLeaderMs = init.unsafeBreak === 'persist' ? Number.NEGATIVE_INFINITY : nowMs
    this.resetElectionTimer(nowMs)
    // Trace: this node now belongs to the shard. Without it a voter that stays a follower would
    // never appear in the shard in the trace (inspector topology, checkers' voter sets). A
    // learner (not in its log's voters yet) is traced as an observer until the entry adding it
    // arrives: it counts for no quorum, so the checkers must not count it either.
    this.tracedVoter = this.isVoter()
    this.traceVoterRole(nowMs)
  }

  // --- queries ---------------------------------------------------------------------------

  get term(): number {
    return this.termValue
  }
  get role(): ShardRole {
    return this.roleValue
  }
  get leader(): NodeId | undefined {
    return this.leaderId
  }
  get commit(): number {
    return this.commitIndex
  }
  get leaderSinceMs(): number {
    return this.leaderSinceMsValue
  }
  voters(): NodeId[] {
    return this.log.voters()
  }
  isVoter(id: NodeId = this.id): boolean {
    return this.log.voters().includes(id)
  }
  /** Leader only: the newcomers it is catching up (not voters, not counted anywhere). */
  learners(): NodeId[] {
    return [...this.learnerState.keys()]
  }
  isLearner(id: NodeId): boolean {
    return this.learnerState.has(id)
  }

  /** How long since this voter last heard its shard leader (0 while leading; boot counts as heard). */
  sinceLeaderMs(nowMs: number): number {
    return this.roleValue === 'leader' ? 0 : nowMs - this.lastHeardLeaderMs
  }

  /** True while this node is leader and its lease holds (the 'lease' break ignores expiry). */
  hasLease(nowMs: number): boolean {
    return isLeaseValid(
      this.roleValue === 'leader',
      this.leaseUntil,
      nowMs,
      this.init.unsafeBreak === 'lease',
    )
  }

  leaseLeftMs(nowMs: number): number {
    return this.hasLease(nowMs) ? Math.max(0, this.leaseUntil - nowMs) : 0
  }

  nextTickAtMs(): number {
    if (this.roleValue === 'leader') return this.nextHeartbeatMs
    return this.isVoter() ? this.electionDeadlineMs : Number.POSITIVE_INFINITY
  }

  // --- inputs ----------------------------------------------------------------------------

  tick(nowMs: number): void {
    if (this.roleValue === 'leader') {
      // CheckQuorum (thesis §6.2): no majority acked any round sent in the last electionTimeoutMax.
      if (nowMs - this.lastQuorumSentMs > this.cfg.electionTimeoutMaxMs && this.voters().length > 1) {
        this.becomeFollower(this.termValue, undefined, nowMs)
        return
      }
      if (nowMs >= this.nextHeartbeatMs) {
        this.heartbeatRound(nowMs)
        this.maybeHandOver(nowMs)
        this.removeGoneVoter(nowMs)
        this.dropStaleLearners(nowMs)
        this.promoteLearner(nowMs)
      }
      return
    }
    if (this.isVoter() && nowMs >= this.electionDeadlineMs) this.startPreVote(nowMs)
  }

  receive(from: NodeId, m: ShardMessage, nowMs: number): void {
    if (m.shard !== this.shard) {
      this.init.rejections.add('wrong-shard')
      return
    }
    switch (m.type) {
      case 'prevote':
        this.onPreVoteRequest(from, m, nowMs)
        return
      case 'prevote-resp':
        this.onPreVoteResponse(from, m, nowMs)
        return
      case 'vote':
        this.onVoteRequest(from, m, nowMs)
        return
      case 'vote-resp':
        this.onVoteResponse(from, m, nowMs)
        return
      case 'append':
        this.onAppendEntries(from, m, nowMs)
        return
      case 'append-resp':
        this.onAppendResponse(from, m, nowMs)
        return
      case 'snapshot':
        this.onInstallSnapshot(from, m, nowMs)
        return
      case 'timeout-now':
        this.onTimeoutNow(from, m, nowMs)
        return
      case 'announce':
        this.init.rejections.add('announce-to-voter')
        return
    }
  }

  /** Leader only: append an entry and replicate it now. Returns its index, or undefined if not leader. */
  propose(entry: LogEntryBody, nowMs: number): number | undefined {
    if (this.roleValue !== 'leader') return undefined
    const index = this.log.append({ ...entry, term: this.termValue })
    this.persistLog()
    this.matchIndex.set(this.id, index)
    this.heartbeatRound(nowMs)
    this.advanceCommit(nowMs)
    return index
  }

  /** The shard was dissolved (global log): give up any lease; the object is then dropped. */
  stop(nowMs: number): void {
    this.dropLease(nowMs)
    this.setRole('observer', nowMs) // trace: no longer votes in this shard
  }

  /** Leader only: send a heartbeat round now (e.g. to carry fresh global news). */
  heartbeatNow(nowMs: number): void {
    if (this.roleValue === 'leader') this.heartbeatRound(nowMs)
  }

  /**
   * Leader only. `add`: take `node` in as a learner (thesis §4.2.1); it becomes a voter through a
   * config entry once it has caught up and answers (promoteLearner). `remove`: a single-voter
   * change (thesis §4.1). A config entry is refused while another is uncommitted, or before the
   * leader committed an entry of its own term (thesis §4.1 bug fix).
   */
  proposeConfig(op: 'add' | 'remove', node: NodeId, nowMs: number): boolean {
    if (this.roleValue !== 'leader') return false
    if (op === 'add') return this.addLearner(node, nowMs)
    const voters = this.voters()
    if (!voters.includes(node) || node === this.id || voters.length <= 1) return false
    if (!this.mayChangeConfig()) return false
    return this.propose({ kind: 'config', op, node }, nowMs) !== undefined
  }

  private mayChangeConfig(): boolean {
    if (this.log.termAt(this.commitIndex) !== this.termValue) return false
    for (let i = this.commitIndex + 1; i <= this.log.lastIndex; i++) {
      if (this.log.entryAt(i)?.kind === 'config') return false
    }
    return true
  }

  /**
   * A newcomer joins as a learner: it gets the log and the heartbeats (and so the global
   * leader's announcements) but no quorum, vote or lease counts it. A joiner that holds the
   * cluster key but never answers therefore never weakens the shard (the fuzz run's --insiders
   * gap: two silent voters added to a shard of two real ones left it without a quorum).
   */
  private addLearner(node: NodeId, nowMs: number): boolean {
    if (node === this.id || this.isVoter(node) || this.learnerState.has(node)) return false
    if (this.learnerState.size >= LEARNERS_MAX) return false
    // Start the newcomer with our snapshot (Raft §7), even one at index 0: its base voter set
    // (the bootstrap voters) is not in any entry, and a newcomer's own base is empty.
    this.nextIndex.set(node, this.log.snapshot.index)
    this.matchIndex.set(node, 0)
    this.learnerState.set(node, { sinceMs: nowMs, roundEnd: this.log.lastIndex, rounds: 1, caughtUp: false })
    this.sendAppend(node, this.hooks.announce(nowMs))
    return true
  }

  /**
   * An ack from a learner ends its catch-up round once it holds `roundEnd`. Caught up: nothing
   * was appended since the round began and the ack answers an append sent within
   * electionTimeoutMinMs (thesis §4.2.1: the last round took less than an election timeout).
   * Otherwise a new round begins, at most LEARNER_ROUNDS_MAX in all.
   */
  private catchUp(from: NodeId, l: Learner, ackRound: number, nowMs: number): void {
    const match = this.matchIndex.get(from) ?? 0
    if (l.caughtUp || match < l.roundEnd) return
    const sentMs = this.roundSentMs.get(ackRound)
    const prompt = sentMs !== undefined && nowMs - sentMs < this.cfg.electionTimeoutMinMs
    if (match >= this.log.lastIndex && prompt) {
      l.caughtUp = true
      this.promoteLearner(nowMs)
      return
    }
    if (l.rounds >= LEARNER_ROUNDS_MAX) return // never promoted; dropped after the grace period
    l.rounds++
    l.roundEnd = this.log.lastIndex
  }

  /**
   * One caught-up, live learner becomes a voter: a config `add` committed in the control log
   * (one voter at a time, thesis §4.1). Refused while the last voter added has not acked.
   */
  private promoteLearner(nowMs: number): void {
    if (this.roleValue !== 'leader' || !this.mayChangeConfig()) return
    if (this.uncaughtNewcomer() !== undefined) return
    for (const [node, l] of this.learnerState) {
      if (!l.caughtUp || !this.hooks.isLive(node)) continue
      // Still caught up: a learner that fell behind since (entries appended) starts a round again.
      if ((this.matchIndex.get(node) ?? 0) < this.log.lastIndex) {
        l.caughtUp = false
        if (l.rounds < LEARNER_ROUNDS_MAX) {
          l.rounds++
          l.roundEnd = this.log.lastIndex
        }
        continue
      }
      this.learnerState.delete(node)
      this.propose({ kind: 'config', op: 'add', node }, nowMs)
      return
    }
  }

  /** Learners gone (membership) or not promoted within the grace period are dropped. */
  private dropStaleLearners(nowMs: number): void {
    const graceMs = this.init.learnerGraceMs ?? 5000
    for (const [node, l] of [...this.learnerState]) {
      if (!this.hooks.isGone(node, nowMs) && nowMs - l.sinceMs < graceMs) continue
      this.learnerState.delete(node)
      this.nextIndex.delete(node)
      this.matchIndex.delete(node)
    }
  }

  /**
   * A voter added by an entry still in the log that has not acked that entry yet. No further
   * voter is added until it has (thesis §4.2.1, the catch-up a newcomer needs before it counts):
   * voters added faster than they join can outnumber the live ones, and then no leader can be
   * elected again (swarm seed 190 at ≤ 60 nodes: three newcomers that had dropped the leader's
   * snapshots, the leader being a stranger to them, made 6 voters of which 3 answered).
   */
  private uncaughtNewcomer(): NodeId | undefined {
    const voters = this.voters()
    for (let i = this.log.snapshot.index + 1; i <= this.log.lastIndex; i++) {
      const e = this.log.entryAt(i)
      if (e?.kind !== 'config' || e.op !== 'add' || e.node === this.id || !voters.includes(e.node)) continue
      if ((this.matchIndex.get(e.node) ?? 0) < i) return e.node
    }
    return undefined
  }

  /** Planned handover (thesis §3.10): TimeoutNow to the best caught-up live voter. */
  transferLeadership(nowMs: number): boolean {
    if (this.roleValue !== 'leader') return false
    const target = this.handoverTarget(false)
    if (!target) return false
    this.sendTo(target, { type: 'timeout-now', shard: this.shard, term: this.termValue })
    // Step down at once: the target's transfer votes bypass withholding, so our lease must end now.
    this.becomeFollower(this.termValue, undefined, nowMs)
    return true
  }

  // --- elections (Raft §5.2, PreVote thesis §9.6) ---------------------------------------

  private startPreVote(nowMs: number): void {
    this.setRole('precandidate', nowMs)
    this.leaderId = undefined
    this.grants.clear()
    this.grants.add(this.id)
    this.resetElectionTimer(nowMs)
    const m: ShardMessage = {
      type: 'prevote',
      shard: this.shard,
      term: this.termValue + 1,
      lastIndex: this.log.lastIndex,
      lastTerm: this.log.lastTerm,
    }
    for (const v of this.voters()) if (v !== this.id) this.sendTo(v, m)
    this.checkPreVoteQuorum(nowMs)
  }

  private checkPreVoteQuorum(nowMs: number): void {
    if (this.grants.size >= quorumSize(this.voters().length)) this.becomeCandidate(nowMs, false)
  }

  private becomeCandidate(nowMs: number, transfer: boolean): void {
    this.termValue++
    this.votedFor = this.id
    this.persistHard()
    this.leaderId = undefined
    this.setRole('candidate', nowMs)
    this.grants.clear()
    this.grants.add(this.id)
    this.resetElectionTimer(nowMs)
    const m: ShardMessage = {
      type: 'vote',
      shard: this.shard,
      term: this.termValue,
      lastIndex: this.log.lastIndex,
      lastTerm: this.log.lastTerm,
      transfer,
    }
    for (const v of this.voters()) if (v !== this.id) this.sendTo(v, m)
    if (this.grants.size >= quorumSize(this.voters().length)) this.becomeLeader(nowMs)
  }

  private onPreVoteRequest(from: NodeId, m: ShardMessage & { type: 'prevote' }, nowMs: number): void {
    const granted =
      m.term > this.termValue &&
      this.isVoter(from) &&
      !this.withholding(nowMs) &&
      isLogUpToDate(m.lastTerm, m.lastIndex, this.log.lastTerm, this.log.lastIndex)
    // A PreVote changes no state here (thesis §9.6); the reply echoes the asked term when granted.
    this.sendTo(from, {
      type: 'prevote-resp',
      shard: this.shard,
      term: granted ? m.term : this.termValue,
      granted,
    })
  }

  private onPreVoteResponse(from: NodeId, m: ShardMessage & { type: 'prevote-resp' }, nowMs: number): void {
    if (!m.granted && m.term > this.termValue) {
      this.becomeFollower(m.term, undefined, nowMs)
      return
    }
    if (this.roleValue !== 'precandidate' || !m.granted || m.term !== this.termValue + 1) return
    if (!this.isVoter(from)) return
    this.grants.add(from)
    this.checkPreVoteQuorum(nowMs)
  }

  private onVoteRequest(from: NodeId, m: ShardMessage & { type: 'vote' }, nowMs: number): void {
    // Leader stickiness (thesis §4.2.3): ignore the request, do not even adopt its term, while a
    // live leader was heard within the minimum election timeout. A transfer (TimeoutNow) bypasses.
    if (m.term > this.termValue && this.withholding(nowMs) && !m.transfer) {
      this.sendTo(from, { type: 'vote-resp', shard: this.shard, term: this.termValue, granted: false })
      return
    }
    if (m.term > this.termValue) this.becomeFollower(m.term, undefined, nowMs)
    const granted =
      m.term === this.termValue &&
      this.isVoter(from) &&
      (this.votedFor === undefined || this.votedFor === from) &&
      isLogUpToDate(m.lastTerm, m.lastIndex, this.log.lastTerm, this.log.lastIndex)
    if (granted) {
      this.votedFor = from
      // Persist-before-send: the Ready carries this op before the reply (Raft Figure 2).
      this.persistHard()
      this.resetElectionTimer(nowMs)
      this.sink.event({
        kind: 'vote:cast',
        node: this.id,
        atMs: nowMs,
        scope: 'shard',
        shard: this.shard,
        term: m.term,
        candidate: from,
      })
    }
    this.sendTo(from, { type: 'vote-resp', shard: this.shard, term: this.termValue, granted })
  }

  private onVoteResponse(from: NodeId, m: ShardMessage & { type: 'vote-resp' }, nowMs: number): void {
    if (m.term > this.termValue) {
      this.becomeFollower(m.term, undefined, nowMs)
      return
    }
    if (this.roleValue !== 'candidate' || m.term !== this.termValue || !m.granted || !this.isVoter(from))
      return
    this.grants.add(from)
    if (this.grants.size >= quorumSize(this.voters().length)) this.becomeLeader(nowMs)
  }

  private onTimeoutNow(from: NodeId, m: ShardMessage & { type: 'timeout-now' }, nowMs: number): void {
    if (m.term !== this.termValue || from !== this.leaderId || !this.isVoter()) {
      this.init.rejections.add('stale-timeout-now')
      return
    }
    this.becomeCandidate(nowMs, true)
  }

  // --- log replication and lease (Raft §5.3) ---------------------------------------------

  private heartbeatRound(nowMs: number): void {
    this.round++
    this.roundSentMs.set(this.round, nowMs)
    if (this.roundSentMs.size > ROUNDS_KEPT_MAX) this.roundSentMs.delete(this.round - ROUNDS_KEPT_MAX)
    this.ackedRound.set(this.id, this.round)
    this.nextHeartbeatMs = nowMs + this.cfg.heartbeatIntervalMs
    const announce = this.hooks.announce(nowMs)
    for (const v of this.voters()) if (v !== this.id) this.sendAppend(v, announce)
    for (const l of this.learnerState.keys()) this.sendAppend(l, announce)
    this.extendLease(nowMs)
  }

  private sendAppend(peer: NodeId, announce: Announce | undefined): void {
    const next = this.nextIndex.get(peer) ?? this.log.lastIndex + 1
    if (next <= this.log.snapshot.index) {
      this.sendTo(peer, {
        type: 'snapshot',
        shard: this.shard,
        term: this.termValue,
        round: this.round,
        snapshot: this.log.snapshot,
      })
      return
    }
    const prevIndex = next - 1
    const prevTerm = this.log.termAt(prevIndex)
    assert(prevTerm !== undefined, () => `prevTerm at ${prevIndex}`)
    const bytes = encodeAppendFitting({
      type: 'append',
      shard: this.shard,
      term: this.termValue,
      round: this.round,
      prevIndex,
      prevTerm,
      commit: this.commitIndex,
      entries: this.log.slice(next, Math.min(this.cfg.appendEntriesMax, ENTRIES_PER_FRAME_MAX)),
      announce,
    })
    this.sink.send({ to: peer, layer: 'shard', type: 'append', bytes })
  }

  private onAppendEntries(from: NodeId, m: ShardMessage & { type: 'append' }, nowMs: number): void {
    if (!this.acceptLeader(from, m.term, nowMs)) {
      this.sendTo(from, {
        type: 'append-resp',
        shard: this.shard,
        term: this.termValue,
        round: m.round,
        success: false,
        matchIndex: 0,
      })
      return
    }
    this.hooks.onAnnounce(m.announce, nowMs)
    if (this.needsSnapshot) {
      // We joined knowing no voters: our base (index 0) is not the shard's. Ask for the snapshot.
      this.replyAppend(from, m.round, false, 0)
      return
    }
    let prevIndex = m.prevIndex
    let entries = m.entries
    if (prevIndex < this.log.snapshot.index) {
      // Entries up to our snapshot are committed and identical; skip them.
      const skip = this.log.snapshot.index - prevIndex
      if (skip > entries.length) {
        this.replyAppend(from, m.round, true, this.log.snapshot.index)
        return
      }
      entries = entries.slice(skip)
      prevIndex = this.log.snapshot.index
    } else if (this.log.termAt(prevIndex) !== m.prevTerm) {
      this.replyAppend(from, m.round, false, Math.min(this.log.lastIndex, prevIndex - 1))
      return
    }
    let changed = false
    entries.forEach((e, i) => {
      const index = prevIndex + 1 + i
      const have = this.log.termAt(index)
      if (have === e.term) return
      if (have !== undefined) this.log.truncateFrom(index, this.commitIndex)
      this.log.append(e)
      changed = true
    })
    if (changed) {
      this.persistLog()
      this.traceVoterChange(nowMs)
    }
    const lastNew = prevIndex + entries.length
    if (m.commit > this.commitIndex) this.commitTo(Math.min(m.commit, lastNew), nowMs)
    this.replyAppend(from, m.round, true, lastNew)
  }

  private onInstallSnapshot(from: NodeId, m: ShardMessage & { type: 'snapshot' }, nowMs: number): void {
    if (!this.acceptLeader(from, m.term, nowMs)) {
      this.replyAppend(from, m.round, false, 0)
      return
    }
    if (m.snapshot.index > this.commitIndex || this.needsSnapshot) {
      this.needsSnapshot = false
      this.log.install(m.snapshot)
      this.commitIndex = m.snapshot.index
      this.persistLog()
      this.traceVoterChange(nowMs)
    }
    this.replyAppend(from, m.round, true, this.log.snapshot.index)
  }

  /** Common AppendEntries/InstallSnapshot prologue: term check, follow the leader, reset timers. */
  private acceptLeader(from: NodeId, term: number, nowMs: number): boolean {
    if (term < this.termValue) return false
    if (term > this.termValue || this.roleValue !== 'follower' || this.leaderId !== from) {
      if (term === this.termValue && this.roleValue === 'leader' && !this.isVoter(from)) {
        // Not a second leader of our term (only voters can be elected): a member outside the
        // configuration replaying or inventing an append. Refuse it; a voter doing this is a bug.
        this.init.rejections.add('not-a-voter')
        return false
      }
      assert(
        !(term === this.termValue && this.roleValue === 'leader'),
        () => `two leaders in shard ${this.shard} term ${term}: ${this.id}, ${from}`,
      )
      this.becomeFollower(term, from, nowMs)
    }
    this.lastHeardLeaderMs = nowMs
    this.resetElectionTimer(nowMs)
    return true
  }

  private replyAppend(to: NodeId, round: number, success: boolean, matchIndex: number): void {
    this.sendTo(to, {
      type: 'append-resp',
      shard: this.shard,
      term: this.termValue,
      round,
      success,
      matchIndex,
    })
  }

  private onAppendResponse(from: NodeId, m: ShardMessage & { type: 'append-resp' }, nowMs: number): void {
    if (m.term > this.termValue) {
      this.becomeFollower(m.term, undefined, nowMs)
      return
    }
    if (this.roleValue !== 'leader' || m.term !== this.termValue) return
    const learner = this.learnerState.get(from)
    if (!learner && !this.isVoter(from)) return
    if (!learner) {
      // Any reply at our term means the voter accepted this round's leadership: count it for the lease.
      if (m.round > (this.ackedRound.get(from) ?? 0) && m.round <= this.round)
        this.ackedRound.set(from, m.round)
      this.extendLease(nowMs)
    }
    if (m.success) {
      if (m.matchIndex > (this.matchIndex.get(from) ?? 0))
        this.matchIndex.set(from, Math.min(m.matchIndex, this.log.lastIndex))
      this.nextIndex.set(from, (this.matchIndex.get(from) ?? 0) + 1)
      if (learner) this.catchUp(from, learner, m.round, nowMs)
      else this.advanceCommit(nowMs)
      if ((this.nextIndex.get(from) ?? 0) <= this.log.lastIndex)
        this.sendAppend(from, this.hooks.announce(nowMs))
    } else {
      // matchIndex 0: the voter has nothing we can build on (e.g. a newcomer): send our snapshot.
      const next =
        m.matchIndex === 0
          ? this.log.snapshot.index
          : Math.max(1, Math.min((this.nextIndex.get(from) ?? 1) - 1, m.matchIndex + 1))
      this.nextIndex.set(from, next)
      this.sendAppend(from, this.hooks.announce(nowMs))
    }
  }

  private extendLease(nowMs: number): void {
    const voters = this.voters()
    const acked = quorumValue(
      voters.map((v) => this.ackedRound.get(v) ?? 0),
      voters.length,
    )
    const sentMs = this.roundSentMs.get(acked)
    if (sentMs === undefined || acked <= this.lastQuorumRound) return
    this.lastQuorumRound = acked
    this.lastQuorumSentMs = sentMs
    const until = leaseUntilMs(
      sentMs,
      this.cfg.electionTimeoutMinMs,
      this.cfg.driftBound,
      this.cfg.leaseMarginMs,
    )
    if (until <= this.leaseUntil) return
    const fromMs = Math.max(sentMs, nowMs)
    this.leaseUntil = until
    // TEST ONLY 'lease' break: claim far past expiry.
    const untilMs = this.init.unsafeBreak === 'lease' ? until + 10 * this.cfg.electionTimeoutMaxMs : until
    if (until > fromMs) {
      this.sink.event({
        kind: 'lease:hold',
        node: this.id,
        atMs: nowMs,
        scope: 'shard',
        shard: this.shard,
        term: this.termValue,
        fromMs,
        untilMs,
      })
    }
    this.hooks.onRoleChange(nowMs)
  }

  private advanceCommit(nowMs: number): void {
    const voters = this.voters()
    this.matchIndex.set(this.id, this.log.lastIndex)
    const n = quorumValue(
      voters.map((v) => this.matchIndex.get(v) ?? 0),
      voters.length,
    )
    // Raft §5.4.2: only entries of the current term are committed by counting replicas.
    if (n > this.commitIndex && this.log.termAt(n) === this.termValue) this.commitTo(n, nowMs)
  }

  private commitTo(index: number, nowMs: number): void {
    if (index <= this.commitIndex) return
    const committed: { index: number; entry: LogEntry }[] = []
    for (let i = Math.max(this.commitIndex + 1, this.log.snapshot.index + 1); i <= index; i++) {
      const entry = this.log.entryAt(i)
      if (entry) committed.push({ index: i, entry })
    }
    this.commitIndex = index
    if (this.log.compact(this.commitIndex, this.cfg.logEntriesMax)) this.persistLog()
    if (this.roleValue === 'leader') {
      for (const c of committed) {
        if (c.entry.kind !== 'config') continue
        const change = `${c.entry.op} ${c.entry.node} ${c.entry.op === 'add' ? 'to' : 'from'} shard ${this.shard}`
        this.sink.event({ kind: 'shardmap:commit', node: this.id, atMs: nowMs, index: c.index, change })
      }
    }
    this.hooks.onCommit(committed, nowMs)
  }

  // --- roles -----------------------------------------------------------------------------

  private becomeLeader(nowMs: number): void {
    this.setRole('leader', nowMs)
    this.leaderId = this.id
    this.leaderSinceMsValue = nowMs
    this.nextIndex.clear()
    this.matchIndex.clear()
    this.learnerState.clear()
    this.ackedRound.clear()
    this.roundSentMs.clear()
    this.leaseUntil = 0
    this.lastQuorumSentMs = nowMs
    this.lastQuorumRound = this.round
    for (const v of this.voters()) this.nextIndex.set(v, this.log.lastIndex + 1)
    this.sink.event({
      kind: 'shard:leader',
      node: this.id,
      atMs: nowMs,
      shard: this.shard,
      term: this.termValue,
      leader: this.id,
    })
    // Raft §8 / thesis §6.4: a new leader commits a no-op of its term first.
    this.log.append({ term: this.termValue, kind: 'noop' })
    this.persistLog()
    this.heartbeatRound(nowMs)
    this.advanceCommit(nowMs)
    this.hooks.onRoleChange(nowMs)
  }

  /** Give up the lease: a leader that still held it says so in the trace (lease:end). */
  private dropLease(nowMs: number): void {
    if (this.roleValue === 'leader' && this.hasLease(nowMs)) {
      this.sink.event({
        kind: 'lease:end',
        node: this.id,
        atMs: nowMs,
        scope: 'shard',
        shard: this.shard,
        term: this.termValue,
      })
    }
    this.leaseUntil = 0
  }

  private becomeFollower(term: number, leader: NodeId | undefined, nowMs: number): void {
    const wasLeader = this.roleValue === 'leader'
    this.dropLease(nowMs)
    this.learnerState.clear() // volatile leader state; the next leader re-admits (readmitClaimants)
    if (term > this.termValue) {
      this.termValue = term
      this.votedFor = undefined
      this.persistHard()
    }
    const newLeader = leader !== undefined && leader !== this.leaderId
    this.leaderId = leader
    this.setRole('follower', nowMs)
    if (newLeader) {
      this.sink.event({ kind: 'shard:leader', node: this.id, atMs: nowMs, shard: this.shard, term, leader })
    }
    this.resetElectionTimer(nowMs)
    if (wasLeader || newLeader) this.hooks.onRoleChange(nowMs)
  }

  /** A learner whose log now lists it (or a voter whose log no longer does) says so in the trace. */
  private traceVoterChange(nowMs: number): void {
    const voter = this.isVoter()
    if (voter === this.tracedVoter) return
    this.tracedVoter = voter
    this.traceVoterRole(nowMs)
  }

  /** Its role as a voter, or `observer` while it is a learner (it counts for no quorum). */
  private traceVoterRole(nowMs: number): void {
    this.sink.event({
      kind: 'shard:role',
      node: this.id,
      atMs: nowMs,
      shard: this.shard,
      term: this.termValue,
      role: this.tracedVoter ? this.roleValue : 'observer',
    })
  }

  private setRole(role: ShardRole, nowMs: number): void {
    if (this.roleValue === role && role !== 'candidate') return
    this.roleValue = role
    this.sink.event({
      kind: 'shard:role',
      node: this.id,
      atMs: nowMs,
      shard: this.shard,
      term: this.termValue,
      role,
    })
  }

  private withholding(nowMs: number): boolean {
    if (this.roleValue === 'leader') return true
    return isWithholdingVote(nowMs - this.lastHeardLeaderMs, this.cfg.electionTimeoutMinMs)
  }

  private resetElectionTimer(nowMs: number): void {
    this.electionDeadlineMs =
      nowMs +
      randomElectionTimeoutMs(this.init.rng, this.cfg.electionTimeoutMinMs, this.cfg.electionTimeoutMaxMs)
  }

  // --- priority handover (DESIGN.md Priority) -----------------------------------------------

  /** Best caught-up live voter; with `higherOnly`, only one of strictly higher priority than ours. */
  private handoverTarget(higherOnly: boolean): NodeId | undefined {
    let best: NodeId | undefined
    let bestPriority = higherOnly ? this.hooks.priorityOf(this.id) : Number.NEGATIVE_INFINITY
    for (const v of this.voters()) {
      if (v === this.id || !this.hooks.isLive(v)) continue
      if ((this.matchIndex.get(v) ?? 0) < this.log.lastIndex) continue
      const p = this.hooks.priorityOf(v)
      if (p > bestPriority || (p === bestPriority && best !== undefined && v < best)) {
        best = v
        bestPriority = p
      }
    }
    return best
  }

  /** DESIGN.md Failure: a voter dead (or left) for the grace period is removed, one at a time. */
  private removeGoneVoter(nowMs: number): void {
    if (this.roleValue !== 'leader') return
    const gone = this.voters().find((v) => v !== this.id && this.hooks.isGone(v, nowMs))
    if (gone !== undefined) this.proposeConfig('remove', gone, nowMs)
  }

  private maybeHandOver(nowMs: number): void {
    // Settle first, so a handover never chases an election still in progress.
    if (nowMs - this.leaderSinceMsValue < this.cfg.electionTimeoutMaxMs) return
    if (this.handoverTarget(true) !== undefined) this.transferLeadership(nowMs)
  }

  // --- output ----------------------------------------------------------------------------

  private persistHard(): void {
    if (this.init.unsafeBreak === 'persist') return // TEST ONLY: votes leave without being durable
    this.sink.persist(hardStateOp({ shard: this.shard, term: this.termValue, votedFor: this.votedFor }))
  }

  private persistLog(): void {
    this.sink.persist(logOp(this.log))
  }

  private sendTo(to: NodeId, m: ShardMessage): void {
    this.sink.send({ to, layer: 'shard', type: m.type, bytes: encodeShardMessage(m) })
  }
}
