/**
 * `--phases`: where a global failover's time goes. For every crash of the acting global leader,
 * the times (ms after the crash) of: the leader's last heartbeat round before the crash (as a
 * negative offset), the first election message of any kind (Conclave: a global PreVote; flat
 * Raft: a vote request; Bully: an ELECTION), the first global PreVote sent, the first global vote
 * request, the shard vote that made a majority of shards (`global:vote` events of the new term),
 * the new leader (`global:leader`), its first heartbeat round, every live shard leader knowing it,
 * and every live node knowing it (`global:known`). The baselines have no PreVote, shard votes or
 * shard leaders (those stay null); Bully's COORDINATOR counts as the new leader's first round.
 *
 * Message times come from the simulator's accounting (sent counters per `layer/type`), sampled
 * every POLL_MS of simulated time — a CALL entry with no events, so the trace (hash) of the run
 * is unchanged; event times come from the trace itself.
 */
import type { NodeId } from '@conclave/core'
import { type Algo, type ElectionRun, LEADER_ROUND_TYPES, type Simulation } from '@conclave/sim'

/** Sampling period of the sent counters, ms (the message times' resolution). */
const POLL_MS = 0.5
/** How long after a crash the recorder watches for the phases, ms. */
const WATCH_MS = 3000

/** Per algorithm: the leader's heartbeat round, the first election message, PreVote, vote request. */
const KEYS: Record<
  Algo,
  { heartbeat: readonly string[]; election: string; preVote?: string; vote?: string }
> = {
  conclave: {
    heartbeat: LEADER_ROUND_TYPES.conclave,
    election: 'global/gprevote',
    preVote: 'global/gprevote',
    vote: 'global/gvote',
  },
  raft: {
    heartbeat: LEADER_ROUND_TYPES.raft,
    election: 'global/raft-vote-request',
    vote: 'global/raft-vote-request',
  },
  bully: {
    heartbeat: LEADER_ROUND_TYPES.bully,
    election: 'global/bully-election',
  },
}

export interface FailoverPhases {
  crashMs: number
  shards: number
  /** Last heartbeat round of the crashed leader, ms before the crash (≤ 0). */
  lastHeartbeatMs: number | null
  /** The first election message of any kind (Conclave: PreVote; Raft: vote request; Bully: ELECTION). */
  firstElectionMsgMs?: number | null
  firstPreVoteMs: number | null
  firstVoteRequestMs: number | null
  majorityOfShardVotesMs: number | null
  newLeaderMs: number | null
  newLeaderFirstHeartbeatMs: number | null
  allShardLeadersKnowMs: number | null
  allNodesKnowMs: number | null
}

const r1 = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10)

export class PhaseRecorder {
  readonly phases: FailoverPhases[] = []
  private leader: { id: NodeId; term: number } | undefined
  private lastHeartbeatSentMs: number | undefined
  private lastHeartbeatCount = 0
  private faultsSeen = 0
  private readonly keys: (typeof KEYS)[Algo]

  constructor(
    private readonly sim: Simulation,
    private readonly run: ElectionRun,
    algo: Algo = 'conclave',
  ) {
    this.keys = KEYS[algo]
    sim.onEvent(({ event }) => {
      if (event.kind === 'global:leader' && (this.leader === undefined || event.term > this.leader.term)) {
        this.leader = { id: event.leader, term: event.term }
        this.lastHeartbeatCount = this.run.sentBy(event.leader, this.keys.heartbeat)
        this.lastHeartbeatSentMs = undefined
      }
    })
    const poll = (): void => {
      this.pollHeartbeat()
      this.pollFaults()
      sim.schedule(sim.nowMs + POLL_MS, poll)
    }
    sim.schedule(sim.nowMs + POLL_MS, poll)
  }

  private sentByAll(key: string): number {
    let n = 0
    for (const t of this.sim.accounting.perNode.values()) n += t.byType.get(key)?.sentMsgs ?? 0
    return n
  }

  private pollHeartbeat(): void {
    // A crashed leader's counters stay readable: a round sent in the same poll period as the
    // crash, just before it, still counts as its last.
    if (this.leader === undefined) return
    const n = this.run.sentBy(this.leader.id, this.keys.heartbeat)
    if (n > this.lastHeartbeatCount) {
      this.lastHeartbeatCount = n
      this.lastHeartbeatSentMs = this.sim.nowMs
    }
  }

  private pollFaults(): void {
    const faults = this.sim.faults
    for (; this.faultsSeen < faults.length; this.faultsSeen++) {
      const f = faults[this.faultsSeen]
      if (f?.kind === 'crash' && f.node !== undefined && f.node === this.leader?.id) this.watch(f.trueMs)
    }
  }

  /** The acting leader just crashed: follow this failover for WATCH_MS. */
  private watch(crashMs: number): void {
    const old = this.leader as { id: NodeId; term: number }
    const shardLeaders = new Set<NodeId>()
    const live = new Set<NodeId>()
    for (const id of this.run.ids) {
      if (!this.sim.isUp(id)) continue
      live.add(id)
      const sl = this.run.subject(id)?.shardLeader?.()
      if (sl !== undefined && sl.id === id) shardLeaders.add(id)
    }
    const shards = this.run.shardMapNow().size
    const p: FailoverPhases = {
      crashMs: r1(crashMs) ?? 0,
      shards,
      // Sampled: a round seen at the first poll after the crash was sent before it (≤ 0).
      lastHeartbeatMs:
        this.lastHeartbeatSentMs === undefined ? null : r1(Math.min(0, this.lastHeartbeatSentMs - crashMs)),
      firstElectionMsgMs: null,
      firstPreVoteMs: null,
      firstVoteRequestMs: null,
      majorityOfShardVotesMs: null,
      newLeaderMs: null,
      newLeaderFirstHeartbeatMs: null,
      allShardLeadersKnowMs: null,
      allNodesKnowMs: null,
    }
    this.phases.push(p)
    const since = (t: number): number | null => r1(t - crashMs)
    const keys = this.keys
    const elections0 = this.sentByAll(keys.election)
    const preVotes0 = keys.preVote === undefined ? 0 : this.sentByAll(keys.preVote)
    const votes0 = keys.vote === undefined ? 0 : this.sentByAll(keys.vote)
    const votedShards = new Set<number>()
    let newLeader: NodeId | undefined
    // Heartbeat rounds sent by each node so far: the new leader's first round is counted in the
    // same step as its global:leader event, so its count is taken from before the election.
    const beats0 = new Map<NodeId, number>()
    for (const id of live) beats0.set(id, this.run.sentBy(id, keys.heartbeat))
    const waitingLeaders = new Set(shardLeaders)
    const waitingNodes = new Set(live)
    const stop = this.sim.onEvent(({ trueMs, event }) => {
      if (trueMs > crashMs + WATCH_MS) return
      if (event.kind === 'global:vote' && event.term > old.term) {
        votedShards.add(event.shard)
        if (p.majorityOfShardVotesMs === null && votedShards.size > shards / 2)
          p.majorityOfShardVotesMs = since(trueMs)
      } else if (event.kind === 'global:leader' && event.term > old.term && newLeader === undefined) {
        newLeader = event.leader
        p.newLeaderMs = since(trueMs)
      } else if (event.kind === 'global:known' && event.term > old.term) {
        waitingLeaders.delete(event.node)
        waitingNodes.delete(event.node)
        if (shardLeaders.size > 0 && waitingLeaders.size === 0 && p.allShardLeadersKnowMs === null)
          p.allShardLeadersKnowMs = since(trueMs)
        if (waitingNodes.size === 0 && p.allNodesKnowMs === null) p.allNodesKnowMs = since(trueMs)
      }
    })
    const endMs = crashMs + WATCH_MS
    const poll = (): void => {
      const now = this.sim.nowMs
      if (p.firstElectionMsgMs === null && this.sentByAll(keys.election) > elections0)
        p.firstElectionMsgMs = since(now)
      if (keys.preVote !== undefined && p.firstPreVoteMs === null && this.sentByAll(keys.preVote) > preVotes0)
        p.firstPreVoteMs = since(now)
      if (keys.vote !== undefined && p.firstVoteRequestMs === null && this.sentByAll(keys.vote) > votes0)
        p.firstVoteRequestMs = since(now)
      if (
        newLeader !== undefined &&
        p.newLeaderFirstHeartbeatMs === null &&
        this.run.sentBy(newLeader, keys.heartbeat) > (beats0.get(newLeader) ?? 0)
      )
        p.newLeaderFirstHeartbeatMs = since(now)
      // A node that crashed meanwhile (or the restarted victim) is not waited for.
      for (const id of waitingNodes) if (!this.sim.isUp(id)) waitingNodes.delete(id)
      for (const id of waitingLeaders) if (!this.sim.isUp(id)) waitingLeaders.delete(id)
      if (now < endMs && (p.allNodesKnowMs === null || p.newLeaderFirstHeartbeatMs === null))
        this.sim.schedule(now + POLL_MS, poll)
      else stop()
    }
    this.sim.schedule(crashMs + POLL_MS, poll)
  }
}
