/**
 * One node's part in the global group, where each SHARD is one voter and its shard leader
 * speaks for it (DESIGN.md Global group). Raft-style election among shard leaders with PreVote,
 * a global lease acked by a majority of shards, fencing token = global term.
 *
 * Guarantees (docs/protocol.md §Global):
 *  - one vote per shard per global term: the vote is appended to the shard's control log and the
 *    reply leaves only once it is committed there; the log never gets a second vote for a term it
 *    already voted in, so every later shard leader honours it;
 *  - at most one valid global lease at any true instant: a shard leader acks a heartbeat only while
 *    it holds its shard lease, then withholds the shard's vote for electionTimeoutMinMs; a new shard
 *    leader waits electionTimeoutMinMs before granting any global vote (it inherits the promise);
 *  - fencing tokens increase: a shard rejects heartbeats of a term below the highest term it voted in.
 */

import type { ShardMap } from '../node/shard-map.js'
import type { NodeId } from '../sans-io.js'
import type { LogEntry } from '../shard/control-log.js'
import {
  isLeaseValid,
  leaseUntilMs,
  quorumSize,
  quorumValue,
  randomElectionTimeoutMs,
} from '../shard/raft-rules.js'
import type { ShardGroup, Sink } from '../shard/shard-group.js'
import type { Announce } from '../shard/shard-wire.js'
import type { Rng } from '../util/rng.js'
import {
  answerBucket,
  type GlobalElectionStats,
  type GlobalPhase,
  type GlobalRefusal,
  type GlobalRoundEnd,
  newGlobalElectionStats,
} from './election-stats.js'
import type { GlobalConfig } from './global-config.js'
import {
  describeChange,
  describeState,
  FORMING_SEEDS_MAX,
  type FormingShard,
  isKnownShard,
  isMapAtLeast,
  type MapState,
  mapStateOf,
  REMOVED_SHARDS_MAX,
  sameShards,
  withMapState,
} from './global-log.js'
import { encodeGlobalMessage, type GlobalMessage, type RelayedAck } from './global-wire.js'
import { HeartbeatRelay, leaderTag, relayChunks } from './relay.js'

export type GlobalBreak = 'vote-commit' | 'lease' | undefined
export type GlobalRole = 'none' | 'precandidate' | 'candidate' | 'leader'

export interface GlobalGroupInit {
  id: NodeId
  config: GlobalConfig
  rng: Rng
  sink: Sink
  unsafeBreak?: GlobalBreak
  /** The shard lease duration (ms after the send time of an acked shard round). */
  shardLeaseMs: number
  /** The known global leader changed: a shard leader re-announces at once (not at its next heartbeat). */
  onKnownChange?: (nowMs: number) => void
  /** Where to reach shard `shard` when its leader is unknown: its voters (map and membership meta). */
  targetsOf?: (shard: number) => readonly NodeId[]
  /** Global leader: alive members in no shard that should get one (not observers). */
  unassigned?: (nowMs: number) => readonly NodeId[]
  /** Shard leader: the global leader asked us to add `node` as a voter. */
  onAssign?: (node: NodeId, nowMs: number) => void
  /** Shards are not grown past this many voters by assignment. Default 9. */
  shardSizeMax?: number
  /** A shard with fewer voters is merged away (dissolved; its members reassigned) while > 3 shards. Default 3. */
  shardSizeMin?: number
  /** Seed voters of a shard formed by a split (capped at FORMING_SEEDS_MAX). Default 5. */
  shardSizeTarget?: number
  /** Global leader: every member that says it votes in `shard` is dead or left for the grace period. */
  shardGone?: (shard: number, nowMs: number) => boolean
  /** How long a shard must be silent (no ack) before it may be dissolved as gone. Default 5000 ms. */
  deadGraceMs?: number
  /** Global leader: alive members that say they vote in a shard the committed map no longer has. */
  stranded?: (map: ShardMap) => readonly NodeId[]
  /** Any node: the global leader says this map state is committed (members of dissolved shards). */
  onCommittedMap?: (state: MapState, nowMs: number) => void
}

/** An assignment is re-sent if the node is still unassigned after this long. */
const ASSIGN_RETRY_MS = 1000
const ASSIGNS_PENDING_MAX = 64

const ROUNDS_KEPT_MAX = 64
/** Committed maps sent to members of dissolved shards per heartbeat round. */
const STRANDED_PER_ROUND_MAX = 16
const PENDING_VOTES_MAX = 8
/** Shard ids ever handed out (wire bound SHARDS_MAX in shard-wire.ts). */
const SHARDS_TOTAL_MAX = 20_000

/** The state without a split in progress. */
function withoutForming(state: MapState): MapState {
  const { forming: _, ...rest } = state
  return rest
}

export class GlobalGroup {
  readonly id: NodeId
  private readonly cfg: GlobalConfig
  private readonly sink: Sink
  private shardGroup: ShardGroup | undefined
  private map: ShardMap | undefined

  // What this node knows about the global leader.
  private knownTermValue = 0
  private knownLeaderValue: NodeId | undefined
  private knownLeaseUntilMs = 0
  private lastHeardGlobalMs = Number.NEGATIVE_INFINITY
  private knownLeaderShard: number | undefined

  // Candidate / leader state (only while this node is its shard's leader).
  private roleValue: GlobalRole = 'none'
  private term = 0
  private readonly grants = new Set<number>()
  private electionDeadlineMs = Number.POSITIVE_INFINITY
  private selfVoteIndex: number | undefined
  private readonly pendingVotes = new Map<number, { term: number; candidate: NodeId; candShard: number }>()
  /** 'vote-commit' break only: the volatile stand-in for the log's vote record. */
  private volatileVoteTerm = 0
  /** The highest PreVote term for which we put our own election off (once per term: bounded). */
  private deferredTerm = 0
  /**
   * A PreVote we answer when our stickiness window closes (onPreVoteRequest): at most one, the
   * highest term. `atMs`: when the window closes.
   */
  private heldPreVote: { from: NodeId; m: GlobalMessage & { type: 'gprevote' }; atMs: number } | undefined

  private round = 0
  private readonly roundSentMs = new Map<number, number>()
  private readonly ackedRound = new Map<number, number>()
  /** Per shard: its leader's shard lease left when it acked ackedRound. */
  private readonly ackShardLeaseLeftMs = new Map<number, number>()
  private readonly shardLeaders = new Map<number, { id: NodeId; round: number; tag: number }>()
  /** This node as a relay of another leader's heartbeats (relay.ts). */
  private readonly relay: HeartbeatRelay
  /** Global leader: the relay chunks of the map version they were cut for. */
  private chunksCache: { key: string; chunks: number[][] } | undefined
  /** Voter count per shard, from acks (global leader, for balancing assignments). */
  private readonly shardSizes = new Map<number, number>()
  private readonly pendingAssigns = new Map<NodeId, { shard: number; atMs: number }>()
  private nextHeartbeatMs = Number.POSITIVE_INFINITY
  private leaseUntil = 0
  private lastQuorumSentMs = 0
  private lastQuorumRound = 0
  /** Global leader: per shard, the latest global-log entry committed in its control log (from acks). */
  private readonly mapCommitted = new Map<number, { term: number; version: number }>()
  /** Global leader: per shard, when it last acked (dissolve needs a silent shard). */
  private readonly lastAckMs = new Map<number, number>()
  private leaderSinceMs = 0
  /** Global leader: the round counter when this leadership began (a shard's silence counts from it). */
  private leaderSinceRound = 0
  /** Global leader: the newest map version it saw committed by a majority of shards. */
  private globallyCommitted: MapState | undefined
  /** Global leader: the forming shard and when this leadership first saw its reservation committed. */
  private formingSince: { shard: number; atMs: number } | undefined
  private effectiveCache: { key: string; map: ShardMap } | undefined
  /** Counters of the global election (election-stats.ts); read by metrics, never by the protocol. */
  readonly electionStats: GlobalElectionStats = newGlobalElectionStats()
  /** When our current (pre)vote round started (answer latency). */
  private roundStartedMs = 0

  constructor(private readonly init: GlobalGroupInit) {
    this.id = init.id
    this.cfg = init.config
    this.sink = init.sink
    this.relay = new HeartbeatRelay({
      id: init.id,
      send: (to, m) => this.sendTo(to, m),
      targets: (shard) => this.targets(shard, this.effMap()?.shards.get(shard) ?? []),
      ackWaitMs: init.config.relayAckWaitMs,
    })
  }

  attach(shardGroup: ShardGroup | undefined, map: ShardMap | undefined): void {
    this.shardGroup = shardGroup
    this.map = map
  }

  /**
   * The shard map this node acts on in the global group: the latest global-log entry in its
   * shard's control log, committed or not (Raft thesis §4.1: a configuration is used as soon as
   * it is in the log), or the committed map if that is newer (bootstrap, or told by the leader).
   */
  private effMap(): ShardMap | undefined {
    const base = this.map
    if (!base) return undefined
    const latest = this.shardGroup?.log.latestMap()
    if (!latest || isMapAtLeast(mapStateOf(base), latest)) return base
    const key = `${latest.term}/${latest.version}/${base.version}/${base.term ?? 0}`
    if (this.effectiveCache?.key !== key) this.effectiveCache = { key, map: withMapState(base, latest) }
    return this.effectiveCache.map
  }

  /** Our shard is a global voter in the map we act on (a forming shard is not, yet). */
  private isGlobalVoter(): boolean {
    const sg = this.shardGroup
    return sg !== undefined && this.effMap()?.shards.has(sg.shard) === true
  }

  /** (term, version) of the map this node acts on. */
  private mapState(): MapState | undefined {
    const m = this.effMap()
    return m ? mapStateOf(m) : undefined
  }

  // --- queries ---------------------------------------------------------------------------

  get role(): GlobalRole {
    return this.roleValue
  }
  get knownTerm(): number {
    return this.knownTermValue
  }
  get knownLeader(): NodeId | undefined {
    return this.knownLeaderValue
  }

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

  leaderTerm(): number {
    return this.term
  }

  /** What a shard leader piggybacks on its heartbeats. */
  announce(nowMs: number): Announce | undefined {
    if (this.knownLeaderValue === undefined) return undefined
    const leaseLeftMs =
      this.roleValue === 'leader' ? this.leaseLeftMs(nowMs) : Math.max(0, this.knownLeaseUntilMs - nowMs)
    return {
      globalLeader: this.knownLeaderValue,
      globalTerm: this.knownTermValue,
      leaseLeftMs,
      shardCount: this.map?.shardsTotal ?? this.map?.shards.size ?? 0,
    }
  }

  /** A follower or observer heard an announcement (from its shard leader). */
  learn(a: Announce | undefined, nowMs: number): void {
    if (!a) return
    this.know(a.globalTerm, a.globalLeader, nowMs + a.leaseLeftMs, nowMs)
  }

  nextTickAtMs(): number {
    const relayMs = this.relay.nextTickAtMs()
    if (this.shardGroup?.role !== 'leader' || !this.isGlobalVoter()) return relayMs
    if (this.roleValue === 'leader') return Math.min(relayMs, this.nextHeartbeatMs)
    return Math.min(relayMs, this.electionDeadlineMs, this.heldPreVote?.atMs ?? Number.POSITIVE_INFINITY)
  }

  // --- inputs ----------------------------------------------------------------------------

  /** The node's shard role changed: only a shard leader takes part in the global group. */
  onShardRoleChange(nowMs: number): void {
    const sg = this.shardGroup
    const isShardLeader = sg !== undefined && sg.role === 'leader'
    if (!isShardLeader) {
      if (this.roleValue !== 'none') this.stepDown(nowMs, 'shard-lost')
      this.electionDeadlineMs = Number.POSITIVE_INFINITY
      this.pendingVotes.clear()
      this.heldPreVote = undefined
      return
    }
    if (this.roleValue === 'none' && this.electionDeadlineMs === Number.POSITIVE_INFINITY)
      this.resetElectionTimer(nowMs)
  }

  tick(nowMs: number): void {
    this.relay.tick(nowMs)
    const sg = this.shardGroup
    if (sg?.role !== 'leader' || !this.isGlobalVoter()) return
    if (this.roleValue === 'leader') {
      // CheckQuorum, global flavour: no majority of shards acked a round in electionTimeoutMax.
      if (nowMs - this.lastQuorumSentMs > this.cfg.electionTimeoutMaxMs) {
        this.stepDown(nowMs, 'superseded')
        return
      }
      if (nowMs >= this.nextHeartbeatMs) this.heartbeatRound(nowMs)
      return
    }
    const held = this.heldPreVote
    if (held && nowMs >= held.atMs) {
      this.heldPreVote = undefined
      this.answerPreVote(held.from, held.m, nowMs)
    }
    if (nowMs < this.electionDeadlineMs) return
    // Without our shard lease we cannot speak for the shard: try again after a fresh timeout.
    if (sg.hasLease(nowMs)) this.startPreVote(nowMs)
    else {
      this.electionStats.timeoutsWithoutShardLease++
      this.resetElectionTimer(nowMs)
    }
  }

  receive(from: NodeId, m: GlobalMessage, nowMs: number): void {
    switch (m.type) {
      case 'gprevote':
        this.onPreVoteRequest(from, m, nowMs)
        return
      case 'gprevote-resp':
        this.onPreVoteResponse(from, m, nowMs)
        return
      case 'gvote':
        this.onVoteRequest(from, m, nowMs)
        return
      case 'gvote-resp':
        this.onVoteResponse(from, m, nowMs)
        return
      case 'gheartbeat':
        this.onHeartbeat(from, m, nowMs)
        return
      case 'gack':
        // A leader relays for nobody: every ack it gets is for its own rounds.
        if (this.roleValue === 'leader' || !this.relay.take(from, m, nowMs)) this.onAck(from, m, nowMs)
        return
      case 'grelay':
        this.onRelayRequest(from, m, nowMs)
        return
      case 'gfwd': {
        // A relayed heartbeat of m.leader: handled as that leader's own, acked to the relay.
        const ack = this.heartbeatAck(m.leader, m, nowMs)
        if (ack) this.sendTo(from, ack)
        return
      }
      case 'gacks':
        this.onRelayedAcks(from, m, nowMs)
        return
      case 'gassign':
        this.onAssign(from, m, nowMs)
        return
      case 'gmap':
        this.onMap(from, m, nowMs)
        return
    }
  }

  /** Shard-log entries committed: send the global votes they carry (vote committed → reply). */
  onShardCommit(entries: { index: number; entry: LogEntry }[], nowMs: number): void {
    const sg = this.shardGroup
    if (!sg) return
    for (const { index, entry } of entries) {
      if (entry.kind !== 'global-vote') continue
      if (index === this.selfVoteIndex && this.roleValue === 'candidate' && entry.globalTerm === this.term) {
        this.selfVoteIndex = undefined
        this.voteCast(sg.shard, entry.globalTerm, this.id, nowMs)
        this.grants.add(sg.shard)
        this.checkVoteQuorum(nowMs)
        continue
      }
      const pending = this.pendingVotes.get(index)
      if (!pending || pending.term !== entry.globalTerm || pending.candidate !== entry.candidate) continue
      this.pendingVotes.delete(index)
      this.voteCast(sg.shard, entry.globalTerm, entry.candidate, nowMs)
      this.sendTo(entry.candidate, {
        type: 'gvote-resp',
        term: entry.globalTerm,
        shard: sg.shard,
        granted: true,
      })
    }
  }

  // --- elections -------------------------------------------------------------------------

  /** Highest global term this shard has voted in or is voting in (the log, or the break's memory). */
  private votedTerm(): number {
    const sg = this.shardGroup
    if (!sg) return 0
    if (this.init.unsafeBreak === 'vote-commit')
      return Math.max(this.volatileVoteTerm, sg.log.globalVote().term)
    let t = sg.log.globalVote().term
    for (const p of this.pendingVotes.values()) t = Math.max(t, p.term)
    return t
  }

  /**
   * May this shard (we are its leader) grant a global (pre)vote for `term`? Needs: our shard
   * lease; no live global leader heard within electionTimeoutMin (stickiness); our shard
   * leadership older than electionTimeoutMin (inherit the predecessor's promise); a fresh map.
   */
  private mayGrant(term: number, candMap: { term: number; version: number }, nowMs: number): boolean {
    return this.refusal(term, candMap, nowMs) === undefined
  }

  /** The first rule of mayGrant that refuses (election-stats.ts names them), or undefined: grant. */
  private refusal(
    term: number,
    candMap: { term: number; version: number },
    nowMs: number,
  ): GlobalRefusal | undefined {
    const sg = this.shardGroup
    const mine = this.mapState()
    if (!sg?.hasLease(nowMs)) return 'no-shard-lease'
    if (!mine) return 'no-map'
    if (term <= this.votedTerm() || term <= this.knownTermValue || term <= mine.term) return 'term'
    // Raft §5.4.1 on the global log: a candidate must hold every entry a majority of shards holds.
    if (!isMapAtLeast(candMap, mine)) return 'map-behind'
    if (this.roleValue === 'leader') return 'leader'
    if (nowMs - this.lastHeardGlobalMs < this.cfg.electionTimeoutMinMs) return 'sticky'
    const inherited = this.init.unsafeBreak === 'vote-commit' ? 0 : this.cfg.electionTimeoutMinMs
    return nowMs - sg.leaderSinceMs >= inherited ? undefined : 'inherited'
  }

  /** Our running (pre)vote round, if any, ended this way (counted once: the role moves on after). */
  private roundEnded(end: GlobalRoundEnd): void {
    const phase: GlobalPhase | undefined =
      this.roleValue === 'precandidate' ? 'prevote' : this.roleValue === 'candidate' ? 'vote' : undefined
    if (phase) this.electionStats.ended[phase][end]++
  }

  /** An answer to one of our requests: in its round (granted / refused, with its latency) or late. */
  private countAnswer(phase: GlobalPhase, inRound: boolean, granted: boolean, nowMs: number): void {
    const a = this.electionStats.answers[phase]
    if (!inRound) {
      a.late++
      return
    }
    if (granted) a.granted++
    else a.refused++
    const buckets = this.electionStats.answerMs[phase]
    const i = answerBucket(nowMs - this.roundStartedMs)
    buckets[i] = (buckets[i] ?? 0) + 1
  }

  private countAnswered(phase: GlobalPhase, answer: 'granted' | GlobalRefusal): void {
    this.electionStats.answered[phase][answer]++
  }

  private startPreVote(nowMs: number): void {
    const sg = this.shardGroup
    const map = this.effMap()
    if (!sg || !map) return
    this.roundEnded('timed-out')
    this.roleValue = 'precandidate'
    this.electionStats.started.prevote++
    this.roundStartedMs = nowMs
    this.grants.clear()
    this.resetElectionTimer(nowMs)
    const term = this.termFloor() + 1
    this.term = term
    const own = mapStateOf(map)
    if (this.mayGrant(term, own, nowMs)) this.grants.add(sg.shard)
    const m: GlobalMessage = {
      type: 'gprevote',
      term,
      candShard: sg.shard,
      mapVersion: own.version,
      mapTerm: own.term,
    }
    this.broadcast(m, sg.shard)
    this.checkPreVoteQuorum(nowMs)
  }

  private checkPreVoteQuorum(nowMs: number): void {
    const map = this.effMap()
    if (this.roleValue === 'precandidate' && map && this.grants.size >= quorumSize(map.shards.size)) {
      this.becomeCandidate(nowMs)
    }
  }

  private becomeCandidate(nowMs: number): void {
    const sg = this.shardGroup
    const map = this.effMap()
    if (!sg || !map) return
    const own = mapStateOf(map)
    if (!this.mayGrant(this.term, own, nowMs)) {
      this.roundEnded('no-own-vote')
      this.roleValue = 'none'
      return
    }
    this.roundEnded('won')
    this.roleValue = 'candidate'
    this.electionStats.started.vote++
    this.roundStartedMs = nowMs
    this.grants.clear()
    this.resetElectionTimer(nowMs)
    // Our own shard votes for us like any other shard: committed in its log first.
    if (this.init.unsafeBreak === 'vote-commit') {
      this.volatileVoteTerm = this.term
      this.voteCast(sg.shard, this.term, this.id, nowMs)
      this.grants.add(sg.shard)
    } else {
      // A one-voter shard commits the entry inside propose(), before its index comes back, and
      // onShardCommit must already know it (else a one-node cluster never counted its own vote).
      this.selfVoteIndex = sg.log.lastIndex + 1
      if (sg.propose({ kind: 'global-vote', globalTerm: this.term, candidate: this.id }, nowMs) === undefined)
        this.selfVoteIndex = undefined
    }
    this.broadcast(
      { type: 'gvote', term: this.term, candShard: sg.shard, mapVersion: own.version, mapTerm: own.term },
      sg.shard,
    )
    this.checkVoteQuorum(nowMs)
  }

  private checkVoteQuorum(nowMs: number): void {
    const map = this.effMap()
    if (this.roleValue === 'candidate' && map && this.grants.size >= quorumSize(map.shards.size)) {
      this.becomeLeader(nowMs)
    }
  }

  /**
   * A PreVote that arrives while our stickiness window (or a new shard leader's inherited wait)
   * has at most one rank step left, and that we would grant once it closes, is answered then
   * instead of refused now. The first-ranked candidate's timer and our window both count from the
   * same last heartbeat, but on a busy host that heartbeat reached us up to tens of ms after it
   * reached the candidate; a refusal cost the whole rank step (the next-ranked shard leader ran),
   * or more (25 real processes at load 29: refused by 2 of 3 shards whose windows had 10 and 16 ms
   * left, leader known by all after 1192 ms). Liveness only: a PreVote grant changes no vote, no
   * term and no lease, and when the window closes the request is judged as if it arrived then (a
   * heartbeat heard meanwhile makes it a refusal). One held request (the highest term; a lower or
   * second one is answered at once), dropped when we stop leading our shard.
   */
  private onPreVoteRequest(from: NodeId, m: GlobalMessage & { type: 'gprevote' }, nowMs: number): void {
    const sg = this.shardGroup
    if (sg?.role !== 'leader') {
      this.countAnswered('prevote', 'not-shard-leader')
      return // only a shard leader speaks for its shard
    }
    const candMap = { term: m.mapTerm, version: m.mapVersion }
    const inherited = this.init.unsafeBreak === 'vote-commit' ? 0 : this.cfg.electionTimeoutMinMs
    const opensAtMs = Math.max(
      this.lastHeardGlobalMs + this.cfg.electionTimeoutMinMs,
      sg.leaderSinceMs + inherited,
    )
    const held = this.heldPreVote
    if (
      opensAtMs > nowMs &&
      opensAtMs - nowMs <= this.cfg.rankStepMs &&
      (!held || m.term > held.m.term) &&
      this.mayGrant(m.term, candMap, opensAtMs)
    ) {
      if (held) this.answerPreVote(held.from, held.m, nowMs)
      this.heldPreVote = { from, m, atMs: opensAtMs }
      return
    }
    this.answerPreVote(from, m, nowMs)
  }

  private answerPreVote(from: NodeId, m: GlobalMessage & { type: 'gprevote' }, nowMs: number): void {
    const sg = this.shardGroup
    if (sg?.role !== 'leader') {
      this.countAnswered('prevote', 'not-shard-leader')
      return
    }
    const refused = this.refusal(m.term, { term: m.mapTerm, version: m.mapVersion }, nowMs)
    const granted = refused === undefined
    this.countAnswered('prevote', refused ?? 'granted')
    this.sendTo(from, { type: 'gprevote-resp', term: m.term, shard: sg.shard, granted })
    if (granted) this.deferTo(m.candShard, m.term, nowMs)
  }

  /**
   * We just granted a PreVote for `term` to the leader of `candShard`: an election is under way.
   * Put our own off if we have not started one, or step back from our PreVote if theirs ranks
   * before ours. Two candidates in one term split the shards' votes, and with the dead leader's
   * shard still re-electing (and then waiting a global lease before it votes) a 2–2 split of 5
   * shards lasts until the retry (test net, 25 nodes, one-way 1–51 ms: 6 of 45 crashes took
   * 0.9–1.5 s that way, 0 after). Once per term, so a precandidate that never gets further delays
   * us by at most one step. Liveness only: PreVotes change no vote and no term.
   */
  private deferTo(candShard: number, term: number, nowMs: number): void {
    const sg = this.shardGroup
    if (!sg || term <= this.deferredTerm || candShard === sg.shard) return
    if (this.roleValue === 'precandidate') {
      if (term < this.term || !this.ranksBefore(candShard, sg.shard)) return
      // Our attempt's deadline stays (a random timeout from its start): we retry only if theirs
      // has not produced a leader by then (stepping back for one step split again: 2 of 45).
      this.roundEnded('stepped-back')
      this.roleValue = 'none'
      this.grants.clear()
      this.deferredTerm = term
      return
    }
    if (this.roleValue !== 'none') return
    this.deferredTerm = term
    // One rank step (the config's bound on PreVote → vote → shard commit): if their PreVote
    // succeeds, their vote request reaches us by then and restarts our timer (onVoteRequest); if
    // it fails, we lose one step. (A whole timeout instead: mass-failure at 60 nodes, seeds 3–8,
    // took up to 630 ms where it had taken 300–540.)
    this.electionDeadlineMs = Math.max(this.electionDeadlineMs, nowMs + this.cfg.rankStepMs)
  }

  /** Does shard `a` come before shard `b` in the candidate order (cyclic after the last leader's shard, else by id)? */
  private ranksBefore(a: number, b: number): boolean {
    const shards = [...(this.effMap()?.shards.keys() ?? [])].sort((x, y) => x - y)
    const from = this.knownLeaderShard === undefined ? -1 : shards.indexOf(this.knownLeaderShard)
    const pos = (s: number) => {
      const i = shards.indexOf(s)
      if (from < 0) return s
      return i < 0 ? shards.length + s : (i - from - 1 + shards.length) % shards.length
    }
    return pos(a) < pos(b)
  }

  private onPreVoteResponse(
    _from: NodeId,
    m: GlobalMessage & { type: 'gprevote-resp' },
    nowMs: number,
  ): void {
    const inRound = this.roleValue === 'precandidate' && m.term === this.term
    this.countAnswer('prevote', inRound, m.granted, nowMs)
    if (!inRound || !m.granted) return
    if (!this.effMap()?.shards.has(m.shard)) return
    this.grants.add(m.shard)
    this.checkPreVoteQuorum(nowMs)
  }

  private onVoteRequest(from: NodeId, m: GlobalMessage & { type: 'gvote' }, nowMs: number): void {
    const sg = this.shardGroup
    if (sg?.role !== 'leader') {
      this.countAnswered('vote', 'not-shard-leader')
      return
    }
    const candMap = { term: m.mapTerm, version: m.mapVersion }
    const refused =
      this.refusal(m.term, candMap, nowMs) ??
      (this.pendingVotes.size >= PENDING_VOTES_MAX ? 'votes-pending-full' : undefined)
    this.countAnswered('vote', refused ?? 'granted')
    if (refused !== undefined) {
      this.sendTo(from, {
        type: 'gvote-resp',
        term: Math.max(m.term, this.votedTerm()),
        shard: sg.shard,
        granted: false,
      })
      return
    }
    if (this.roleValue !== 'none') this.stepDown(nowMs, 'superseded') // a higher-term candidate supersedes ours
    // Raft §5.2: granting a vote restarts the election timer. Without it the next-ranked shard
    // leader, whose ranked timeout fires one rank step after the first-ranked one's, started its
    // own election while the candidate it had just voted for was still collecting votes (25 real
    // processes: 1 round in 10, +500 ms): its PreVote for term+1 was granted by shards that had
    // voted but not yet heard the new leader, and its ack of a higher term then made the new
    // leader step down and run the election again.
    this.resetElectionTimer(nowMs)
    if (this.init.unsafeBreak === 'vote-commit') {
      // TEST ONLY: the vote leaves without being recorded in the shard log.
      this.volatileVoteTerm = m.term
      this.voteCast(sg.shard, m.term, from, nowMs)
      this.sendTo(from, { type: 'gvote-resp', term: m.term, shard: sg.shard, granted: true })
      return
    }
    // Registered before propose(), which commits at once in a one-voter shard (see startVote).
    const index = sg.log.lastIndex + 1
    this.pendingVotes.set(index, { term: m.term, candidate: from, candShard: m.candShard })
    if (sg.propose({ kind: 'global-vote', globalTerm: m.term, candidate: from }, nowMs) === undefined)
      this.pendingVotes.delete(index)
  }

  private onVoteResponse(_from: NodeId, m: GlobalMessage & { type: 'gvote-resp' }, nowMs: number): void {
    const inRound = this.roleValue === 'candidate' && m.term === this.term
    this.countAnswer('vote', inRound, m.granted, nowMs)
    if (!inRound || !m.granted) return
    if (!this.effMap()?.shards.has(m.shard)) return
    this.grants.add(m.shard)
    this.checkVoteQuorum(nowMs)
  }

  // --- leadership and lease --------------------------------------------------------------

  private becomeLeader(nowMs: number): void {
    const sg = this.shardGroup
    if (!sg) return
    this.roundEnded('won')
    this.roleValue = 'leader'
    this.heldPreVote = undefined // a leader grants no PreVote
    this.ackedRound.clear()
    this.ackShardLeaseLeftMs.clear()
    this.roundSentMs.clear()
    this.leaseUntil = 0
    this.lastQuorumSentMs = nowMs
    this.lastQuorumRound = this.round
    this.mapCommitted.clear()
    this.lastAckMs.clear()
    // Shard leaders heard in an earlier leadership of ours may have changed (or crashed) since:
    // trusting them sent our first 3 rounds to a dead node (a re-elected global leader reached
    // the crashed leader's shard 362 ms late in a 15-node test). Silence counts from now.
    this.shardLeaders.clear()
    this.leaderSinceRound = this.round
    this.leaderSinceMs = nowMs
    this.electionDeadlineMs = Number.POSITIVE_INFINITY
    this.sink.event({ kind: 'global:leader', node: this.id, atMs: nowMs, term: this.term, leader: this.id })
    this.know(this.term, this.id, nowMs, nowMs)
    this.heartbeatRound(nowMs)
  }

  private heartbeatRound(nowMs: number): void {
    const sg = this.shardGroup
    const map = this.effMap()
    if (!sg || !map) return
    this.round++
    this.roundSentMs.set(this.round, nowMs)
    if (this.roundSentMs.size > ROUNDS_KEPT_MAX) this.roundSentMs.delete(this.round - ROUNDS_KEPT_MAX)
    this.nextHeartbeatMs = nowMs + this.cfg.heartbeatIntervalMs
    if (sg.hasLease(nowMs)) {
      this.ackedRound.set(sg.shard, this.round)
      this.ackShardLeaseLeftMs.set(sg.shard, sg.leaseLeftMs(nowMs))
    }
    this.shardSizes.set(sg.shard, sg.voters().length)
    const hb = {
      term: this.term,
      round: this.round,
      leaderShard: sg.shard,
      leaseLeftMs: this.leaseLeftMs(nowMs),
    }
    const m: GlobalMessage = { type: 'gheartbeat', ...hb }
    // Relayed chunks (relay.ts): one grelay to the chunk's relay, which forwards to the others.
    const relayed = new Set<number>()
    for (const chunk of this.chunksOf(map, sg.shard)) {
      const relay = this.pickRelay(chunk)
      if (!relay) continue // no shard of the chunk acked the last round: this round goes direct
      const shards = chunk.filter((s) => s !== relay.shard && this.isHeartbeatDue(s))
      this.sendTo(relay.id, { type: 'grelay', ...hb, shards })
      for (const s of chunk) relayed.add(s)
    }
    for (const [shard, voters] of map.shards) {
      if (shard === sg.shard || relayed.has(shard)) continue
      const known = this.shardLeaders.get(shard)
      // Send to the shard leader that acked recently; otherwise to every voter (one is the leader).
      if (known && this.round - known.round <= 3) this.sendTo(known.id, m)
      else if (this.isHeartbeatDue(shard)) for (const v of this.targets(shard, voters)) this.sendTo(v, m)
    }
    const f = map.forming
    if (f && f.shard !== sg.shard) {
      const known = this.shardLeaders.get(f.shard)
      if (known && this.round - known.round <= 3) this.sendTo(known.id, m)
      else for (const v of this.targets(f.shard, f.seeds)) this.sendTo(v, m)
    }
    this.extendLease(nowMs)
    if (this.hasLease(nowMs)) {
      this.maybeAssign(nowMs)
      this.advanceGlobalLog(nowMs)
    }
  }

  /**
   * Is shard `shard` sent this round? A shard whose leader acked in the last 3 rounds, or that has
   * been silent for at most 10 rounds, every round; a shard silent for longer (lost its quorum?)
   * only every 8th round, to bound the global leader's load.
   */
  private isHeartbeatDue(shard: number): boolean {
    const known = this.shardLeaders.get(shard)
    if (known && this.round - known.round <= 3) return true
    return this.round - (this.ackedRound.get(shard) ?? this.leaderSinceRound) <= 10 || this.round % 8 === 0
  }

  /**
   * The relay chunks of the map we act on (none below relayMinShards other shards). The shards
   * ranked first to succeed us (candidateRank) stay direct: their election timers start at our
   * heartbeat's arrival, and a relay hop would add its delay to every failover.
   */
  private chunksOf(map: ShardMap, ownShard: number): number[][] {
    const key = `${ownShard}/${mapStateOf(map).term}/${mapStateOf(map).version}/${map.shards.size}`
    if (this.chunksCache?.key !== key) {
      const sorted = [...map.shards.keys()].sort((a, b) => a - b)
      const at = sorted.indexOf(ownShard)
      const ranked = new Set<number>()
      for (let r = 1; r <= this.cfg.rankedCandidatesMax && r < sorted.length; r++)
        ranked.add(sorted[(at + r) % sorted.length] as number)
      const others = sorted.filter((s) => s !== ownShard && !ranked.has(s))
      this.chunksCache = { key, chunks: relayChunks(others, this.cfg.relayMinShards) }
    }
    return this.chunksCache.chunks
  }

  /**
   * A chunk's relay: its first shard whose leader acked the previous round (so a relay that
   * crashed, or whose acks did not come back, costs its chunk one round: the next goes direct).
   */
  private pickRelay(chunk: readonly number[]): { shard: number; id: NodeId } | undefined {
    for (const shard of chunk) {
      const known = this.shardLeaders.get(shard)
      if (known && known.round >= this.round - 1) return { shard, id: known.id }
    }
    return undefined
  }

  private onHeartbeat(from: NodeId, m: GlobalMessage & { type: 'gheartbeat' }, nowMs: number): void {
    const ack = this.heartbeatAck(from, m, nowMs)
    if (ack) this.sendTo(from, ack)
  }

  /** A relay request: our own shard's ack (kept for the relayed frame) and the forwarding. */
  private onRelayRequest(from: NodeId, m: GlobalMessage & { type: 'grelay' }, nowMs: number): void {
    const ack = this.heartbeatAck(from, m, nowMs)
    let own: RelayedAck | undefined
    if (ack) {
      const { type: _, ...fields } = ack
      own = { ...fields, leaderTag: leaderTag(this.id) }
    }
    // A leader of our own (we refused the other's lower term): no relaying for a rival.
    if (this.roleValue === 'leader') {
      if (ack) this.sendTo(from, ack)
      return
    }
    this.relay.start(from, m, own, nowMs)
  }

  /**
   * The ack of global leader `leader`'s heartbeat (direct, or relayed by another shard leader),
   * or undefined when this node may not ack (not a leased shard leader; it only learns who leads).
   */
  private heartbeatAck(
    leader: NodeId,
    m: { term: number; round: number; leaderShard: number; leaseLeftMs: number },
    nowMs: number,
  ): (GlobalMessage & { type: 'gack' }) | undefined {
    const from = leader
    const sg = this.shardGroup
    if (sg?.role !== 'leader' || !sg.hasLease(nowMs)) {
      // Only a leased shard leader may ack (and withhold its shard's vote). Any other voter the
      // heartbeat reached (the leader sends to every voter of a shard whose leader it does not
      // know) only learns who leads: knowledge, no ack, no stickiness. Without this, the voters
      // of the crashed leader's own shard, whose new shard leader is elected just after the
      // global election, learned the new global leader only at its next round (up to
      // heartbeatIntervalMs later; measured: +405 ms vs +285 ms for every other node, N = 300).
      this.know(m.term, from, nowMs + m.leaseLeftMs, nowMs)
      return undefined
    }
    const floor = this.termFloor()
    const committedMap = sg.log.committedMap(sg.commit) ?? (this.map ? mapStateOf(this.map) : undefined)
    const mapTerm = committedMap?.term ?? 0
    const mapVersion = committedMap?.version ?? 0
    if (m.term < floor || (m.term === this.term && this.roleValue === 'leader')) {
      return {
        type: 'gack',
        term: floor,
        round: m.round,
        shard: sg.shard,
        ok: false,
        voters: sg.voters().length,
        shardLeaseLeftMs: sg.leaseLeftMs(nowMs),
        mapTerm,
        mapVersion,
      }
    }
    // A PreVote raised no term (Raft thesis §9.6): a precandidate follows any leader its shard
    // still follows. (It stayed a precandidate for a term above the leader's, acking as one.)
    if (this.roleValue === 'precandidate' || (this.roleValue !== 'none' && m.term >= this.term))
      this.stepDown(nowMs, 'superseded')
    this.lastHeardGlobalMs = nowMs
    this.knownLeaderShard = m.leaderShard
    this.resetElectionTimer(nowMs)
    this.know(m.term, from, nowMs + m.leaseLeftMs, nowMs)
    return {
      type: 'gack',
      term: m.term,
      round: m.round,
      shard: sg.shard,
      ok: true,
      voters: sg.voters().length,
      shardLeaseLeftMs: sg.leaseLeftMs(nowMs),
      mapTerm,
      mapVersion,
    }
  }

  /** Lowest global term this shard still follows: its votes, the known term, its map's term. */
  private termFloor(): number {
    const mapTerm = this.shardGroup?.log.latestMap()?.term ?? 0
    return Math.max(this.knownTermValue, this.votedTerm(), mapTerm)
  }

  /**
   * A relay's frame: each entry is one shard leader's own ack, handled as if it had come
   * directly; `leaderTag` names the acking voter (undefined if none of the shard's voters we
   * know matches: the ack still counts, only the shard's leader stays unknown).
   */
  private onRelayedAcks(from: NodeId, m: GlobalMessage & { type: 'gacks' }, nowMs: number): void {
    if (this.roleValue !== 'leader') return
    const map = this.effMap()
    const relayTag = leaderTag(from)
    for (const { leaderTag: tag, ...ack } of m.acks) {
      if (this.roleValue !== 'leader') return // an entry of a higher term deposed us
      let id: NodeId | undefined
      const known = this.shardLeaders.get(ack.shard)
      if (tag === relayTag) id = from
      else if (known?.tag === tag) id = known.id
      else id = this.targets(ack.shard, map?.shards.get(ack.shard) ?? []).find((v) => leaderTag(v) === tag)
      this.onAck(id, { type: 'gack', ...ack }, nowMs, false)
    }
    if (this.roleValue === 'leader') this.extendLease(nowMs)
  }

  /** `extend`: recompute the lease now (a relayed frame does it once, after its last entry). */
  private onAck(
    from: NodeId | undefined,
    m: GlobalMessage & { type: 'gack' },
    nowMs: number,
    extend = true,
  ): void {
    const map = this.effMap()
    // The forming shard's acks are recorded (its leader, that it is up: nextChange) but only
    // count for the lease once it is a voter in our map (extendLease iterates map.shards).
    if (this.roleValue !== 'leader' || !map || !(map.shards.has(m.shard) || map.forming?.shard === m.shard))
      return
    if (!m.ok) {
      if (m.term > this.term) this.stepDown(nowMs, 'superseded')
      return
    }
    if (m.term !== this.term || m.round > this.round) return
    this.lastAckMs.set(m.shard, nowMs)
    this.mapCommitted.set(m.shard, { term: m.mapTerm, version: m.mapVersion })
    if (from !== undefined) {
      const known = this.shardLeaders.get(m.shard)
      const tag = known?.id === from ? known.tag : leaderTag(from)
      this.shardLeaders.set(m.shard, { id: from, round: m.round, tag })
    }
    this.shardSizes.set(m.shard, m.voters)
    if (m.round > (this.ackedRound.get(m.shard) ?? 0)) {
      this.ackedRound.set(m.shard, m.round)
      this.ackShardLeaseLeftMs.set(m.shard, m.shardLeaseLeftMs)
    }
    if (extend) this.extendLease(nowMs)
  }

  /**
   * Global lease: the largest time a majority of shards vouch for. Shard i acked round r_i (sent
   * at s_i) while its leader's shard lease had left_i to run, i.e. its last majority-acked shard
   * round was sent (shardLeaseMs − left_i) before the ack. It vouches until
   *   s_i + min(D, left_i + D − shardLeaseMs)        (D = global lease duration),
   * at most D after that shard round: a shard leader cut off from its shard at time P vouches for
   * nothing past P + D, so a side without a majority of shards holds no global lease one lease
   * period after the cut (invariant 5). Never more than s_i + D, so invariant 2's argument holds.
   */
  private extendLease(nowMs: number): void {
    const map = this.effMap()
    if (!map) return
    const shards = [...map.shards.keys()]
    const acked = quorumValue(
      shards.map((s) => this.ackedRound.get(s) ?? 0),
      shards.length,
    )
    const quorumSentMs = this.roundSentMs.get(acked)
    if (quorumSentMs !== undefined && acked > this.lastQuorumRound) {
      this.lastQuorumRound = acked
      this.lastQuorumSentMs = quorumSentMs
    }
    const durationMs = leaseUntilMs(
      0,
      this.cfg.electionTimeoutMinMs,
      this.cfg.driftBound,
      this.cfg.leaseMarginMs,
    )
    const vouched = shards.map((s) => {
      const sent = this.roundSentMs.get(this.ackedRound.get(s) ?? 0)
      if (sent === undefined) return 0
      if (this.init.unsafeBreak === 'lease') return sent + durationMs
      const left = this.ackShardLeaseLeftMs.get(s) ?? 0
      return sent + Math.min(durationMs, left + durationMs - this.init.shardLeaseMs)
    })
    const until = quorumValue(vouched, shards.length)
    if (until <= this.leaseUntil) return
    const sentMs = this.roundSentMs.get(acked) ?? nowMs
    const fromMs = Math.max(sentMs, nowMs)
    this.leaseUntil = until
    const shard = this.shardGroup?.shard ?? 0
    const untilMs = this.init.unsafeBreak === 'lease' ? until + 10 * this.cfg.electionTimeoutMaxMs : until
    if (until > fromMs) {
      this.sink.event({
        kind: 'lease:hold',
        node: this.id,
        atMs: nowMs,
        scope: 'global',
        shard,
        term: this.term,
        fromMs,
        untilMs,
      })
    }
    this.knownLeaseUntilMs = until
  }

  private stepDown(nowMs: number, why: GlobalRoundEnd): void {
    this.roundEnded(why)
    if (this.roleValue === 'leader') this.electionStats.leaderStepDowns++
    if (this.roleValue === 'leader' && this.hasLease(nowMs)) {
      this.sink.event({
        kind: 'lease:end',
        node: this.id,
        atMs: nowMs,
        scope: 'global',
        shard: this.shardGroup?.shard ?? 0,
        term: this.term,
      })
    }
    this.roleValue = 'none'
    this.leaseUntil = 0
    this.selfVoteIndex = undefined
    this.grants.clear()
    this.nextHeartbeatMs = Number.POSITIVE_INFINITY
    if (this.shardGroup?.role === 'leader') this.resetElectionTimer(nowMs)
    else this.electionDeadlineMs = Number.POSITIVE_INFINITY
  }

  private know(term: number, leader: NodeId, leaseUntil: number, nowMs: number): void {
    if (term < this.knownTermValue) return
    const changed = term !== this.knownTermValue || leader !== this.knownLeaderValue
    this.knownTermValue = term
    this.knownLeaderValue = leader
    this.knownLeaseUntilMs = leaseUntil
    if (changed) {
      this.sink.event({ kind: 'global:known', node: this.id, atMs: nowMs, term, leader })
      this.init.onKnownChange?.(nowMs)
    }
  }

  private voteCast(shard: number, term: number, candidate: NodeId, nowMs: number): void {
    this.sink.event({
      kind: 'vote:cast',
      node: this.id,
      atMs: nowMs,
      scope: 'global',
      shard,
      term,
      candidate,
    })
    this.sink.event({ kind: 'global:vote', node: this.id, atMs: nowMs, shard, term, candidate })
  }

  /**
   * Ranked timeout: candidates in cyclic shard order after the silent leader's shard go first,
   * one rankStepMs apart (plus jitter below rankJitterMs); unranked or unknown: random above;
   * a (pre)candidate whose election did not finish: random over the whole range.
   */
  private resetElectionTimer(nowMs: number): void {
    const cfg = this.cfg
    const rankedSpanMs = cfg.rankSlackMs + cfg.rankStepMs * cfg.rankedCandidatesMax
    const rank = this.roleValue === 'none' ? this.candidateRank() : undefined
    if (rank !== undefined && rank < cfg.rankedCandidatesMax) {
      // The slack: the other shard leaders' stickiness windows (opened by the same heartbeat,
      // received a little later) have closed when our PreVote arrives.
      this.electionDeadlineMs =
        nowMs +
        cfg.electionTimeoutMinMs +
        cfg.rankSlackMs +
        rank * cfg.rankStepMs +
        this.init.rng.float() * cfg.rankJitterMs
      return
    }
    if (this.roleValue !== 'none') {
      // Our (pre)election did not finish: retry after a random timeout over the whole range
      // (Raft §5.2: split votes are broken by randomness). The retry comes after every ranked
      // first attempt anyway (≥ 2·electionTimeoutMinMs after the silent leader's last heartbeat).
      // It used the unranked range below, which the local preset collapses to one value
      // (350 + 9·40 > 550): two split candidates retried in lockstep, exactly 550 ms later, and
      // split again (25 real processes at load 8–13: terms 20, 21, 22 in one failover).
      this.electionDeadlineMs =
        nowMs + randomElectionTimeoutMs(this.init.rng, cfg.electionTimeoutMinMs, cfg.electionTimeoutMaxMs)
      return
    }
    const lo = Math.min(cfg.electionTimeoutMinMs + rankedSpanMs, cfg.electionTimeoutMaxMs)
    this.electionDeadlineMs = nowMs + randomElectionTimeoutMs(this.init.rng, lo, cfg.electionTimeoutMaxMs)
  }

  /** Our place in the cyclic shard order after the last known leader's shard (0 = first). */
  private candidateRank(): number | undefined {
    const sg = this.shardGroup
    const map = this.effMap()
    if (!sg || !map || this.knownLeaderShard === undefined) return undefined
    const shards = [...map.shards.keys()].sort((a, b) => a - b)
    const from = shards.indexOf(this.knownLeaderShard)
    const me = shards.indexOf(sg.shard)
    if (from < 0 || me < 0 || me === from) return undefined
    return (me - from - 1 + shards.length) % shards.length
  }

  private broadcast(m: GlobalMessage, exceptShard: number): void {
    const map = this.effMap()
    if (!map) return
    for (const [shard, voters] of map.shards) {
      if (shard === exceptShard) continue
      for (const v of this.targets(shard, voters)) this.sendTo(v, m)
    }
  }

  private targets(shard: number, mapVoters: readonly NodeId[]): readonly NodeId[] {
    const extra = this.init.targetsOf?.(shard)
    if (!extra || extra.length === 0) return mapVoters
    return [...new Set([...mapVoters, ...extra])].filter((v) => v !== this.id)
  }

  // --- the global log of shard-map changes (global leader) -------------------------------

  /**
   * Global leader, once per heartbeat round while it holds its lease (docs/protocol.md §Global
   * log). Its latest entry is the newest map in its own shard's log. Steps:
   *  1. no entry of our term yet → append a no-change entry of our term (Raft thesis §4.1 fix: a
   *     new leader commits an entry of its term before any change);
   *  2. entry not yet committed by a majority of shards (of that entry's map) → send it to the
   *     shards whose control log has not committed it;
   *  3. committed → report it once, tell members of dissolved shards, then propose at most ONE
   *     next change (dissolve one shard), so consecutive maps differ by one voter (§4.1).
   */
  private advanceGlobalLog(nowMs: number): void {
    const sg = this.shardGroup
    const map = this.effMap()
    if (!sg || !map) return
    const mine = mapStateOf(map)
    if (mine.term < this.term) {
      const noop: MapState = { ...mine, term: this.term, version: mine.version + 1 }
      sg.propose({ kind: 'map', map: noop }, nowMs)
      return
    }
    const ownCommitted = sg.log.committedMap(sg.commit)
    if (ownCommitted)
      this.mapCommitted.set(sg.shard, { term: ownCommitted.term, version: ownCommitted.version })
    let holders = 0
    for (const shard of map.shards.keys()) {
      const c = this.mapCommitted.get(shard)
      if (c && c.term === mine.term && c.version >= mine.version) {
        holders++
        continue
      }
      if (shard === sg.shard) continue // our own shard commits through our own log
      this.sendMap(shard, map, { type: 'gmap', term: this.term, map: mine, committed: false })
    }
    if (holders < quorumSize(map.shards.size)) return
    if (this.globallyCommitted?.version !== mine.version) {
      const prev = this.globallyCommitted
      this.globallyCommitted = mine
      // A new leadership's first commit may carry a change its predecessor proposed (committed
      // together with our no-change entry): report the whole state, so the trace (checkers,
      // inspector) never misses a change. (Swarm seed 217: an `add shard 2` committed this way
      // left no event, and invariant 5's checker still counted shard 2 as forming.)
      if (prev === undefined)
        this.sink.event({
          kind: 'shardmap:commit',
          node: this.id,
          atMs: nowMs,
          index: mine.version,
          change: `global ${describeState(mine)}`,
        })
      else if (!sameShards(prev, mine))
        this.sink.event({
          kind: 'shardmap:commit',
          node: this.id,
          atMs: nowMs,
          index: mine.version,
          change: `global ${describeChange(prev, mine)}`,
        })
    }
    this.tellStranded(map, mine)
    const change = this.nextChange(map, mine, nowMs)
    if (change) sg.propose({ kind: 'map', map: change }, nowMs)
  }

  /**
   * The ONE next shard-map change, on top of the committed `mine`, in this order:
   *  1. a formed shard whose leader acks our heartbeats becomes a global voter (`add`);
   *  2. a shard that lost its quorum for good, or a small one, is dissolved (nextDissolve);
   *  3. a forming shard that never acked for deadGraceMs is given up (dissolved before it voted);
   *  4. no split in progress and at least `seeds` members wait unassigned (no shard had room for
   *     them) → split: reserve a new shard id with them as seeds (`form`).
   * Steps 1–3 change the global voter set by at most one shard; step 4 changes no voter.
   */
  private nextChange(map: ShardMap, mine: MapState, nowMs: number): MapState | undefined {
    const next = { ...mine, term: this.term, version: mine.version + 1 }
    const f = mine.forming
    const graceMs = this.init.deadGraceMs ?? 5000
    let formingUp = false
    let waitedMs = 0
    if (f) {
      const joined = this.tellSeeds(f, mine)
      if (this.formingSince?.shard !== f.shard) this.formingSince = { shard: f.shard, atMs: nowMs }
      waitedMs = nowMs - this.formingSince.atMs
      const ackedMs = this.lastAckMs.get(f.shard)
      formingUp = ackedMs !== undefined && nowMs - ackedMs < this.cfg.electionTimeoutMaxMs
      // Wait for every seed (or the grace period): a seed that never joined would be a voter of
      // the new shard that never votes, and could be assigned to another shard meanwhile.
      if (formingUp && (joined || waitedMs >= graceMs)) {
        // Pipelined: the same entry may reserve the next shard (a reservation changes no voter).
        const added = withoutForming(next)
        const seeds = this.splitSeeds(added, nowMs, f.seeds)
        if (!seeds) return added
        return { ...added, shardsTotal: added.shardsTotal + 1, forming: { shard: added.shardsTotal, seeds } }
      }
    }
    const dissolve = this.nextDissolve(map, nowMs)
    if (dissolve !== undefined) return { ...next, removed: [...mine.removed, dissolve].sort((a, b) => a - b) }
    if (f) {
      if (formingUp || waitedMs < graceMs || mine.removed.length >= REMOVED_SHARDS_MAX) return undefined
      return withoutForming({ ...next, removed: [...mine.removed, f.shard].sort((a, b) => a - b) })
    }
    const seeds = this.splitSeeds(mine, nowMs, [])
    if (!seeds) return undefined
    return { ...next, shardsTotal: mine.shardsTotal + 1, forming: { shard: mine.shardsTotal, seeds } }
  }

  /**
   * Seeds for a new shard: the smallest-id alive members that are in no shard, not observers, and
   * not being assigned (maybeAssign found no shard with room for them, or its pending-assignment
   * bound was reached). None while fewer than the seed count wait: a few joiners wait for room.
   */
  private splitSeeds(mine: MapState, nowMs: number, exclude: readonly NodeId[]): NodeId[] | undefined {
    if (mine.shardsTotal >= SHARDS_TOTAL_MAX) return undefined
    const count = Math.min(FORMING_SEEDS_MAX, Math.max(3, this.init.shardSizeTarget ?? 5))
    const free = (this.init.unassigned?.(nowMs) ?? []).filter(
      (n) => !this.pendingAssigns.has(n) && !exclude.includes(n),
    )
    if (free.length < count) return undefined
    return [...free.slice(0, count)].sort()
  }

  /**
   * Seeds of a committed forming shard learn it (then start the shard with the seeds as voters).
   * True when every seed already says (membership meta) it is in the new shard.
   */
  private tellSeeds(f: FormingShard, state: MapState): boolean {
    const joined = new Set(this.init.targetsOf?.(f.shard) ?? [])
    const m: GlobalMessage = { type: 'gmap', term: this.term, map: state, committed: true }
    let all = true
    for (const seed of f.seeds) {
      if (seed === this.id || joined.has(seed)) continue
      all = false
      this.sendTo(seed, m)
    }
    return all
  }

  /**
   * Which shard to dissolve next, if any (never our own): a shard that lost its quorum for good
   * (every member that says it votes there is dead or left for the grace period, and the shard
   * has not acked for as long), else a live shard below shardSizeMin while more than 3 shards
   * remain (a merge: its members are then reassigned one voter at a time).
   */
  private nextDissolve(map: ShardMap, nowMs: number): number | undefined {
    const sg = this.shardGroup
    if (!sg || map.shards.size <= 1 || (map.removed?.length ?? 0) >= REMOVED_SHARDS_MAX) return undefined
    const graceMs = this.init.deadGraceMs ?? 5000
    const sizeMin = this.init.shardSizeMin ?? 3
    const shards = [...map.shards.keys()].sort((a, b) => a - b)
    for (const shard of shards) {
      if (shard === sg.shard) continue
      const silentMs = nowMs - (this.lastAckMs.get(shard) ?? this.leaderSinceMs)
      if (silentMs >= graceMs && this.init.shardGone?.(shard, nowMs)) return shard
    }
    if (map.shards.size <= 3) return undefined
    for (const shard of shards) {
      if (shard === sg.shard) continue
      const size = this.shardSizes.get(shard)
      const fresh =
        nowMs - (this.lastAckMs.get(shard) ?? Number.NEGATIVE_INFINITY) < this.cfg.electionTimeoutMaxMs
      if (fresh && size !== undefined && size < sizeMin) return shard
    }
    return undefined
  }

  /** Members of dissolved shards learn the committed map (then leave their shard and get reassigned). */
  private tellStranded(map: ShardMap, state: MapState): void {
    const stranded = this.init.stranded?.(map) ?? []
    const m: GlobalMessage = { type: 'gmap', term: this.term, map: state, committed: true }
    for (const node of stranded.slice(0, STRANDED_PER_ROUND_MAX)) this.sendTo(node, m)
  }

  private sendMap(shard: number, map: ShardMap, m: GlobalMessage): void {
    const known = this.shardLeaders.get(shard)
    if (known && this.round - known.round <= 3) this.sendTo(known.id, m)
    else for (const v of this.targets(shard, map.shards.get(shard) ?? [])) this.sendTo(v, m)
  }

  /**
   * A shard leader appends the global leader's entry to its control log (its ack, with the
   * committed map, goes back on the next gack). Accepted only from a leader of a term this shard
   * still follows, and only if it is newer than the latest entry in the log. A committed map
   * (`committed`) is for members of dissolved shards: the node adopts it.
   */
  private onMap(_from: NodeId, m: GlobalMessage & { type: 'gmap' }, nowMs: number): void {
    if (m.committed) {
      if (m.map.term <= m.term) this.init.onCommittedMap?.(m.map, nowMs)
      return
    }
    const sg = this.shardGroup
    if (sg?.role !== 'leader' || m.map.term !== m.term || m.term < this.termFloor()) return
    if (!this.effMap()?.shards.has(sg.shard) && !isKnownShard(m.map, sg.shard)) return
    const latest = sg.log.latestMap()
    if (latest && isMapAtLeast(latest, m.map)) return // already have it (or newer)
    if (!latest && this.map && isMapAtLeast(mapStateOf(this.map), m.map)) return
    sg.propose({ kind: 'map', map: m.map }, nowMs)
  }

  // --- shard assignment (global leader) ---------------------------------------------------

  /**
   * New members join as observers; the global leader assigns each to the shard with the fewest
   * voters (ties: smallest id), by asking that shard's leader to add it (a single-voter change
   * committed in the shard's control log). One pending assignment per node, retried after 1 s.
   */
  private maybeAssign(nowMs: number): void {
    const map = this.effMap()
    const seeds = map?.forming?.seeds ?? []
    const unassigned = (this.init.unassigned?.(nowMs) ?? []).filter((n) => !seeds.includes(n))
    // Forget pending assignments of nodes that got a shard (or vanished), and expired ones: an
    // expired one is retried below and must not count against a shard's room (it did: nodes
    // whose assignment a shard leader had refused — one config change at a time — kept their
    // shard "full" and were never retried, 4 of 40 joiners in shard-split.test.ts).
    const still = new Set(unassigned)
    for (const [node, p] of [...this.pendingAssigns])
      if (!still.has(node) || nowMs - p.atMs >= ASSIGN_RETRY_MS) this.pendingAssigns.delete(node)
    if (!map || unassigned.length === 0) return
    const sizeMax = this.init.shardSizeMax ?? 9
    const sizes = new Map<number, number>()
    for (const [shard, voters] of map.shards) sizes.set(shard, this.shardSizes.get(shard) ?? voters.length)
    // A shard leader takes one config change at a time: one new assignment per shard per round.
    const busy = new Set<number>()
    for (const p of this.pendingAssigns.values()) {
      sizes.set(p.shard, (sizes.get(p.shard) ?? 0) + 1)
      if (nowMs - p.atMs < this.cfg.heartbeatIntervalMs) busy.add(p.shard)
    }
    for (const node of unassigned) {
      if (this.pendingAssigns.has(node)) continue
      if (this.pendingAssigns.size >= ASSIGNS_PENDING_MAX) break
      let best: number | undefined
      for (const [shard, size] of sizes) {
        if (size >= sizeMax || busy.has(shard)) continue
        if (best === undefined || size < (sizes.get(best) ?? 0) || (size === sizes.get(best) && shard < best))
          best = shard
      }
      if (best === undefined) return
      this.pendingAssigns.set(node, { shard: best, atMs: nowMs })
      sizes.set(best, (sizes.get(best) ?? 0) + 1)
      busy.add(best)
      const m: GlobalMessage = { type: 'gassign', term: this.term, shard: best, node }
      const sg = this.shardGroup
      if (sg && best === sg.shard) this.init.onAssign?.(node, nowMs)
      else {
        const known = this.shardLeaders.get(best)
        if (known) this.sendTo(known.id, m)
        else for (const v of this.targets(best, map.shards.get(best) ?? [])) this.sendTo(v, m)
      }
    }
  }

  private onAssign(from: NodeId, m: GlobalMessage & { type: 'gassign' }, nowMs: number): void {
    const sg = this.shardGroup
    if (sg?.role !== 'leader' || m.shard !== sg.shard) return
    // Only the global leader we follow (current term) may reshape shards.
    if (m.term !== this.knownTermValue || from !== this.knownLeaderValue) return
    this.init.onAssign?.(m.node, nowMs)
  }

  private sendTo(to: NodeId, m: GlobalMessage): void {
    this.sink.send({ to, layer: 'global', type: m.type, bytes: encodeGlobalMessage(m) })
  }
}
