/**
 * The inspector's picture of the cluster at one instant: every node with its membership state,
 * shard, role and the leaders it knows, the leaders themselves, and the failovers in progress.
 * It is plain data, folded from trace records by apply-record.ts, and cheap to clone, so the
 * replay index can keep keyframes of it (clone-cluster-state below) and scrub by folding forward.
 */
import type { LeaseScope, MemberState, NodeId, ShardRole } from './trace-record.js'

/** A lease claim on the holder's own clock, with one (local, true) time pair to map it. */
export interface LeaseClaim {
  readonly scope: LeaseScope
  readonly term: number
  readonly untilLocalMs: number
  /** The holder's clock and the true time when it made the claim (clock mapping, drift ignored). */
  readonly atLocalMs: number
  readonly atTrueMs: number
}

export interface NodeInfo {
  readonly id: NodeId
  readonly firstSeenMs: number
  /** True time of the last event this node emitted itself ("last heard"). */
  lastHeardMs: number
  /** Membership state as the cluster decides it: SWIM precedence over all observers' reports. */
  state: MemberState
  incarnation: number
  stateSinceMs: number
  /** Observers that reported it suspect or dead in its current life (bounded by the cluster size). */
  accusers: Set<NodeId>
  /** The driver crashed it (sim:fault crash) and has not restarted it. */
  crashed: boolean
  shard: number | null
  role: ShardRole | null
  shardTerm: number
  /** The shard leader this node knows, and its term. */
  knownShardLeader: NodeId | null
  knownShardTerm: number
  /** The global leader this node knows, and its term. */
  knownGlobalLeader: NodeId | null
  knownGlobalTerm: number
  shardLease: LeaseClaim | null
  globalLease: LeaseClaim | null
  health: number
  rejections: number
  priority: number | null
  addrs: readonly string[]
  observer: boolean
  /** The inspector's own observer peer: shown, but not counted when measuring failovers. */
  instrument: boolean
}

export interface LeaderInfo {
  readonly leader: NodeId
  readonly term: number
  readonly sinceMs: number
}

export type FailoverScope = 'global' | 'shard'

/** A leader loss being measured: from the first sign of loss until every live node knows a newer leader. */
export interface OpenFailover {
  readonly scope: FailoverScope
  readonly shard: number | null
  readonly startMs: number
  readonly cause: string
  readonly oldLeader: NodeId | null
  readonly oldTerm: number
  electedMs: number | null
  newLeader: NodeId | null
  newTerm: number | null
}

export interface MemberCounts {
  alive: number
  suspect: number
  dead: number
  left: number
}

export interface ClusterState {
  /** True time of the last record folded in. */
  nowMs: number
  /** Records folded in so far. */
  records: number
  readonly nodes: Map<NodeId, NodeInfo>
  readonly counts: MemberCounts
  global: LeaderInfo | null
  readonly shards: Map<number, LeaderInfo>
  globalFailover: OpenFailover | null
  readonly shardFailovers: Map<number, OpenFailover>
  /** Highest global term any node has voted or campaigned in (elections in progress). */
  globalElectionTerm: number
  /** Highest shard term seen per shard in a candidacy (elections in progress). */
  readonly shardElectionTerms: Map<number, number>
  /** Highest shard-map index committed (the timeline shows each commit once). */
  shardmapIndex: number
}

export function createClusterState(): ClusterState {
  return {
    nowMs: 0,
    records: 0,
    nodes: new Map(),
    counts: { alive: 0, suspect: 0, dead: 0, left: 0 },
    global: null,
    shards: new Map(),
    globalFailover: null,
    shardFailovers: new Map(),
    globalElectionTerm: 0,
    shardElectionTerms: new Map(),
    shardmapIndex: -1,
  }
}

export function cloneClusterState(s: ClusterState): ClusterState {
  const nodes = new Map<NodeId, NodeInfo>()
  for (const [id, n] of s.nodes) nodes.set(id, { ...n, accusers: new Set(n.accusers) })
  const shardFailovers = new Map<number, OpenFailover>()
  for (const [shard, f] of s.shardFailovers) shardFailovers.set(shard, { ...f })
  return {
    nowMs: s.nowMs,
    records: s.records,
    nodes,
    counts: { ...s.counts },
    global: s.global,
    shards: new Map(s.shards),
    globalFailover: s.globalFailover ? { ...s.globalFailover } : null,
    shardFailovers,
    globalElectionTerm: s.globalElectionTerm,
    shardElectionTerms: new Map(s.shardElectionTerms),
    shardmapIndex: s.shardmapIndex,
  }
}

/** The node's lease time left at true time nowMs, 0 when it holds none (clock drift ignored). */
export function leaseLeftMs(claim: LeaseClaim | null, nowMs: number): number {
  if (!claim) return 0
  const localNowMs = claim.atLocalMs + (nowMs - claim.atTrueMs)
  return Math.max(0, claim.untilLocalMs - localNowMs)
}

/** Live = not crashed by the driver and not dead or left as far as the cluster knows. */
export function isLive(n: NodeInfo): boolean {
  return !n.crashed && (n.state === 'alive' || n.state === 'suspect')
}

/** The nodes a failover waits for: live, and not the inspector measuring it. */
export function mustKnowLeader(n: NodeInfo): boolean {
  return isLive(n) && !n.instrument
}
