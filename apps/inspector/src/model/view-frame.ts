/**
 * Projects the model at one instant into what the browser draws: a compact, JSON-able frame.
 * Nodes travel as tuples (a 1000-node frame is ~80 KB), the timeline and chart series as their
 * prefix up to t, thinned to a bounded number of points (peaks kept for message rates).
 */
import {
  type ClusterState,
  type FailoverScope,
  isLive,
  leaseLeftMs,
  type MemberCounts,
  type NodeInfo,
} from './cluster-state.js'
import type { FailoverEntry, Journal, MembersPoint, RatePoint, TimelineEntry } from './journal.js'
import { upperBound } from './journal.js'
import type { MemberState, NodeId, ShardRole } from './trace-record.js'

export const STATE_CODES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left']
export const ROLE_CODES: readonly (ShardRole | null)[] = [
  null,
  'follower',
  'precandidate',
  'candidate',
  'leader',
  'observer',
]

export const FLAG_GLOBAL_LEADER = 1
export const FLAG_SHARD_LEADER = 2
export const FLAG_CRASHED = 4
export const FLAG_OBSERVER = 8

/** [id, state code, shard (-1 = none), role code, flags, lease left ms, shard term] */
export type NodeRow = [NodeId, number, number, number, number, number, number]

export interface ShardView {
  readonly shard: number
  readonly leader: NodeId | null
  readonly term: number
  readonly leaseLeftMs: number
  readonly size: number
  readonly live: number
  readonly suspect: number
  readonly down: number
  readonly failing: boolean
}

export interface OpenFailoverView {
  readonly scope: FailoverScope
  readonly shard: number | null
  readonly startMs: number
  readonly cause: string
  readonly oldLeader: NodeId | null
  readonly newLeader: NodeId | null
  readonly elapsedMs: number
}

export interface ViewFrame {
  readonly mode: 'replay' | 'live'
  readonly tMs: number
  readonly startMs: number
  readonly endMs: number
  readonly records: number
  readonly totalRecords: number
  /** leaseLeftMs is null when the leader never reported a global lease (e.g. the baselines). */
  readonly global: { leader: NodeId; term: number; sinceMs: number; leaseLeftMs: number | null } | null
  readonly globalFailover: OpenFailoverView | null
  readonly counts: MemberCounts
  readonly shards: ShardView[]
  readonly nodes: NodeRow[]
  readonly timeline: TimelineEntry[]
  readonly failovers: FailoverEntry[]
  readonly members: MembersPoint[]
  readonly rates: RatePoint[]
}

export interface NodeDetail {
  readonly id: NodeId
  readonly state: MemberState
  readonly stateSinceMs: number
  readonly incarnation: number
  readonly shard: number | null
  readonly role: ShardRole | null
  readonly shardTerm: number
  readonly priority: number | null
  readonly addrs: readonly string[]
  readonly observer: boolean
  readonly crashed: boolean
  readonly firstSeenMs: number
  readonly lastHeardMs: number
  readonly accusers: number
  readonly health: number
  readonly rejections: number
  readonly knownGlobalLeader: NodeId | null
  readonly knownGlobalTerm: number
  readonly knownShardLeader: NodeId | null
  readonly knownShardTerm: number
  readonly globalLeaseLeftMs: number
  readonly shardLeaseLeftMs: number
}

export interface FrameOptions {
  /** Timeline entries sent (the most recent up to t). Default 300. */
  timelineMax: number
  /** Only entries at or below this level (1 = cluster-level only, 2 = all). Default 2. */
  timelineLevel: 1 | 2
  /** Points per chart series. Default 400. */
  pointsMax: number
}

export const DEFAULT_FRAME_OPTIONS: FrameOptions = { timelineMax: 300, timelineLevel: 2, pointsMax: 400 }

function prefix<T extends { trueMs: number }>(array: readonly T[], tMs: number): T[] {
  return array.slice(0, upperBound(array, tMs))
}

/** Keeps at most `max` points: the last of each stride for levels, the peak for rates. */
export function thin<T>(points: readonly T[], max: number, peak?: (a: T, b: T) => T): T[] {
  if (points.length <= max) return [...points]
  const stride = Math.ceil(points.length / max)
  const out: T[] = []
  for (let i = 0; i < points.length; i += stride) {
    let chosen = points[Math.min(i + stride, points.length) - 1] as T
    if (peak)
      for (let j = i; j < Math.min(i + stride, points.length); j++) chosen = peak(chosen, points[j] as T)
    out.push(chosen)
  }
  return out
}

function roleCode(role: ShardRole | null): number {
  return ROLE_CODES.indexOf(role)
}

export function nodeRow(s: ClusterState, n: NodeInfo, tMs: number): NodeRow {
  let flags = 0
  if (s.global?.leader === n.id) flags |= FLAG_GLOBAL_LEADER
  if (n.shard !== null && s.shards.get(n.shard)?.leader === n.id) flags |= FLAG_SHARD_LEADER
  if (n.crashed) flags |= FLAG_CRASHED
  if (n.observer) flags |= FLAG_OBSERVER
  const lease = Math.max(leaseLeftMs(n.shardLease, tMs), leaseLeftMs(n.globalLease, tMs))
  return [
    n.id,
    STATE_CODES.indexOf(n.state),
    n.shard ?? -1,
    roleCode(n.role),
    flags,
    Math.round(lease),
    n.shardTerm,
  ]
}

function shardViews(s: ClusterState, tMs: number): ShardView[] {
  const acc = new Map<number, { size: number; live: number; suspect: number; down: number }>()
  for (const n of s.nodes.values()) {
    if (n.shard === null || n.observer) continue
    const a = acc.get(n.shard) ?? { size: 0, live: 0, suspect: 0, down: 0 }
    a.size++
    if (isLive(n)) a.live++
    else a.down++
    if (n.state === 'suspect') a.suspect++
    acc.set(n.shard, a)
  }
  const views: ShardView[] = []
  for (const [shard, a] of [...acc].sort((x, y) => x[0] - y[0])) {
    const info = s.shards.get(shard)
    const leader = info ? s.nodes.get(info.leader) : undefined
    views.push({
      shard,
      leader: info?.leader ?? null,
      term: info?.term ?? 0,
      leaseLeftMs: Math.round(leaseLeftMs(leader?.shardLease ?? null, tMs)),
      size: a.size,
      live: a.live,
      suspect: a.suspect,
      down: a.down,
      failing: s.shardFailovers.has(shard),
    })
  }
  return views
}

export function buildFrame(
  mode: 'replay' | 'live',
  s: ClusterState,
  journal: Journal,
  tMs: number,
  range: { startMs: number; endMs: number; totalRecords: number },
  options: FrameOptions = DEFAULT_FRAME_OPTIONS,
): ViewFrame {
  const global = s.global
  const globalNode = global ? s.nodes.get(global.leader) : undefined
  const f = s.globalFailover
  const timelineEnd = upperBound(journal.timelineEntries, tMs)
  const timeline: TimelineEntry[] = []
  for (let i = timelineEnd - 1; i >= 0 && timeline.length < options.timelineMax; i--) {
    const e = journal.timelineEntries[i]!
    if (e.level <= options.timelineLevel) timeline.push(e)
  }
  const nodes: NodeRow[] = []
  for (const n of s.nodes.values()) nodes.push(nodeRow(s, n, tMs))
  return {
    mode,
    tMs,
    startMs: range.startMs,
    endMs: range.endMs,
    records: s.records,
    totalRecords: range.totalRecords,
    global: global
      ? {
          leader: global.leader,
          term: global.term,
          sinceMs: global.sinceMs,
          leaseLeftMs: globalNode?.globalLease ? Math.round(leaseLeftMs(globalNode.globalLease, tMs)) : null,
        }
      : null,
    globalFailover: f
      ? {
          scope: f.scope,
          shard: f.shard,
          startMs: f.startMs,
          cause: f.cause,
          oldLeader: f.oldLeader,
          newLeader: f.newLeader,
          elapsedMs: tMs - f.startMs,
        }
      : null,
    counts: { ...s.counts },
    shards: shardViews(s, tMs),
    nodes,
    timeline,
    failovers: prefix(journal.failovers, tMs).slice(-options.pointsMax),
    members: thin(prefix(journal.members, tMs), options.pointsMax),
    rates: thin(prefix(journal.rates, tMs), options.pointsMax, (a, b) =>
      b.clusterPerSec > a.clusterPerSec ? b : a,
    ),
  }
}

export function nodeDetail(s: ClusterState, id: NodeId, tMs: number): NodeDetail | null {
  const n = s.nodes.get(id)
  if (!n) return null
  return {
    id: n.id,
    state: n.state,
    stateSinceMs: n.stateSinceMs,
    incarnation: n.incarnation,
    shard: n.shard,
    role: n.role,
    shardTerm: n.shardTerm,
    priority: n.priority,
    addrs: n.addrs,
    observer: n.observer,
    crashed: n.crashed,
    firstSeenMs: n.firstSeenMs,
    lastHeardMs: n.lastHeardMs,
    accusers: n.accusers.size,
    health: n.health,
    rejections: n.rejections,
    knownGlobalLeader: n.knownGlobalLeader,
    knownGlobalTerm: n.knownGlobalTerm,
    knownShardLeader: n.knownShardLeader,
    knownShardTerm: n.knownShardTerm,
    globalLeaseLeftMs: Math.round(leaseLeftMs(n.globalLease, tMs)),
    shardLeaseLeftMs: Math.round(leaseLeftMs(n.shardLease, tMs)),
  }
}
