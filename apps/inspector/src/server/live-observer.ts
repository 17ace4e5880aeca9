/**
 * Live mode: the inspector joins the mesh as an observer peer (createConclave with
 * `observer: true`: a member that learns the leaders, never votes, never sits in a shard) and
 * feeds the SAME TraceModel a replay uses, so live and replayed views are one code path:
 *   - every trace event of its own machine (its membership view: joins, suspicions, deaths; the
 *     global leader it learns), stamped with the wall clock as trueMs;
 *   - leader announcements on TOPIC_LEADER ({ leader, term, isSelf, shard } from each node that
 *     saw a change) → `global:known` (and `global:leader` when isSelf) for the announcing node;
 *   - periodic status on TOPIC_STATUS (a NodeStatus JSON) → shard role/leader, known global
 *     leader and lease records for the publishing node, and from its cumulative `traffic`
 *     counters a `net:sample` (messages and bytes since its previous status) for the charts.
 * Malformed pubsub payloads are counted in `rejected`, never thrown.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toTraceRecord } from '../model/parse-trace-line.js'
import type { TraceModel } from '../model/trace-model.js'
import type { ShardRole, TraceRecord } from '../model/trace-record.js'

export interface LiveObserverInit {
  readonly bootstrap: string[]
  /**
   * Where the observer keeps its key (default: a fresh temp dir, so each run is a new peer; removed
   * by stop(), or when the start fails).
   */
  readonly dataDir?: string
  readonly listen?: string[]
  /** The cluster's pre-shared key (a closed mesh): without it no member accepts the connection. */
  readonly psk?: Uint8Array
}

export interface LiveObserver {
  readonly id: string
  readonly dataDir: string
  readonly rejected: { count: number }
  stop(): Promise<void>
}

const ROLES: readonly string[] = ['follower', 'precandidate', 'candidate', 'leader', 'observer']

/**
 * NodeStatus.role (core's NodeRole) → the node's role in its shard. A global leader is its
 * shard's leader when it names itself shard leader; 'observer' with no shard is a node outside
 * every shard. Older payloads that already use the shard role names pass through.
 */
function shardRoleOf(from: string, status: Record<string, unknown>): ShardRole | null {
  const role = status.role
  if (role === 'shard-leader') return 'leader'
  if (role === 'global-leader') return status.shardLeader === from ? 'leader' : 'follower'
  return typeof role === 'string' && ROLES.includes(role) ? (role as ShardRole) : null
}

/** NodeStatus (packages/core node/conclave-machine.ts) → the records it implies about its node. */
export function statusToRecords(from: string, status: Record<string, unknown>, nowMs: number): TraceRecord[] {
  const base = { node: from, atMs: nowMs, trueMs: nowMs }
  const out: TraceRecord[] = []
  const shard = typeof status.shard === 'number' ? status.shard : null
  const shardTerm = typeof status.shardTerm === 'number' ? status.shardTerm : 0
  const role = shardRoleOf(from, status)
  if (role) out.push({ ...base, kind: 'shard:role', shard: shard ?? -1, term: shardTerm, role })
  if (shard !== null && typeof status.shardLeader === 'string') {
    out.push({ ...base, kind: 'shard:leader', shard, term: shardTerm, leader: status.shardLeader })
  }
  // A machine without NodeStatus (the FlatRaft baseline) publishes the service's fallback
  // { id, isLeader, leader: { id, term } | null }: its one leader is read as the global leader.
  const fallback = status.leader as { id?: unknown; term?: unknown } | null | undefined
  if (
    status.globalLeader === undefined &&
    typeof fallback === 'object' &&
    fallback !== null &&
    typeof fallback.id === 'string' &&
    typeof fallback.term === 'number'
  ) {
    if (status.isLeader === true && fallback.id === from) {
      out.push({ ...base, kind: 'global:leader', term: fallback.term, leader: from })
    }
    out.push({ ...base, kind: 'global:known', term: fallback.term, leader: fallback.id })
    return out
  }
  const globalTerm = typeof status.globalTerm === 'number' ? status.globalTerm : 0
  if (typeof status.globalLeader === 'string') {
    if (status.role === 'global-leader' && status.globalLeader === from) {
      out.push({ ...base, kind: 'global:leader', term: globalTerm, leader: from })
    }
    out.push({ ...base, kind: 'global:known', term: globalTerm, leader: status.globalLeader })
  }
  const lease = typeof status.leaseLeftMs === 'number' ? status.leaseLeftMs : 0
  if (lease > 0) {
    const scope = status.globalLeader === from ? 'global' : 'shard'
    out.push({
      ...base,
      kind: 'lease:hold',
      scope,
      shard: shard ?? -1,
      term: scope === 'global' ? globalTerm : shardTerm,
      fromMs: nowMs,
      untilMs: nowMs + lease,
    })
  }
  return out
}

/** The last traffic counters seen from one node: the baseline of its next sample. */
interface TrafficBaseline {
  readonly msgs: number
  readonly bytes: number
  /** The node's own clock reading of the counters, when it sent one. */
  readonly atMs: number | null
  /** The observer's clock when they arrived. */
  readonly seenMs: number
  readonly boot: number | null
}

/** How many nodes' baselines are kept (a live mesh is far smaller; this only bounds memory). */
const TRAFFIC_NODES_MAX = 4096

function counter(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null
}

/**
 * Turns the cumulative counters in successive statuses of each node
 * (`traffic: { msgsSent, msgsReceived, bytesSent, bytesReceived, atMs?, boot? }`, published by
 * core's ConclaveService) into the `net:sample` records a replayed simulator trace carries: the
 * messages and bytes (sent + received) the node handled since its previous status, over the
 * window between the two. The first status of a node only sets its baseline. A restart (a new
 * boot epoch, or a counter or clock going backwards) also only sets the baseline: a sample is
 * never negative. A status without (valid) counters, from an older node, yields nothing.
 */
export class TrafficSampler {
  private readonly last = new Map<string, TrafficBaseline>()

  sample(from: string, status: Record<string, unknown>, nowMs: number): TraceRecord[] {
    const t = status.traffic
    if (typeof t !== 'object' || t === null) return []
    const traffic = t as Record<string, unknown>
    const sent = counter(traffic.msgsSent)
    const received = counter(traffic.msgsReceived)
    if (sent === null || received === null) return []
    const msgs = sent + received
    const bytes = (counter(traffic.bytesSent) ?? 0) + (counter(traffic.bytesReceived) ?? 0)
    const atMs = counter(traffic.atMs)
    const boot = counter(traffic.boot)
    const prev = this.last.get(from)
    const next: TrafficBaseline = { msgs, bytes, atMs, seenMs: nowMs, boot }
    const restarted =
      prev !== undefined &&
      ((prev.boot !== null && boot !== null && boot !== prev.boot) ||
        msgs < prev.msgs ||
        bytes < prev.bytes ||
        (prev.atMs !== null && atMs !== null && atMs < prev.atMs))
    if (prev === undefined || restarted) {
      this.remember(from, next)
      return []
    }
    const windowMs = prev.atMs !== null && atMs !== null ? atMs - prev.atMs : nowMs - prev.seenMs
    // Two statuses read at the same instant: keep the older baseline, the next one carries both.
    if (!(windowMs > 0)) return []
    this.remember(from, next)
    return [
      {
        kind: 'net:sample',
        node: from,
        trueMs: nowMs,
        windowMs,
        msgs: msgs - prev.msgs,
        bytes: bytes - prev.bytes,
      },
    ]
  }

  private remember(node: string, b: TrafficBaseline): void {
    this.last.delete(node)
    if (this.last.size >= TRAFFIC_NODES_MAX) {
      const oldest = this.last.keys().next().value
      if (oldest !== undefined) this.last.delete(oldest)
    }
    this.last.set(node, b)
  }
}

/** A leader announcement ({ leader, term, isSelf, shard }) from `from` → what it says about `from`. */
export function announcementToRecords(
  from: string,
  a: Record<string, unknown>,
  nowMs: number,
): TraceRecord[] {
  if (typeof a.leader !== 'string' || typeof a.term !== 'number') return []
  const base = { node: from, atMs: nowMs, trueMs: nowMs }
  const out: TraceRecord[] = []
  if (a.isSelf === true) out.push({ ...base, kind: 'global:leader', term: a.term, leader: a.leader })
  out.push({ ...base, kind: 'global:known', term: a.term, leader: a.leader })
  return out
}

interface PubSubMessage {
  topic: string
  data: Uint8Array
  from?: { toString(): string }
}

export async function startLiveObserver(model: TraceModel, init: LiveObserverInit): Promise<LiveObserver> {
  const core = await import('@conclave/core')
  const ownDir = init.dataDir === undefined
  const dataDir = init.dataDir ?? (await mkdtemp(join(tmpdir(), 'conclave-inspector-')))
  const removeOwnDir = () => (ownDir ? rm(dataDir, { recursive: true, force: true }) : Promise.resolve())
  const node = await core
    .createConclave({
      bootstrap: init.bootstrap,
      dataDir,
      observer: true,
      // Identify every node: gossipsub finds the nodes' status topic through it (nodes skip it
      // between themselves; an observer's default is already on, said here for the reader).
      identifyPeers: true,
      listen: init.listen ?? ['/ip4/127.0.0.1/tcp/0'],
      psk: init.psk,
    })
    .catch(async (err: unknown) => {
      await removeOwnDir()
      throw err
    })
  const rejected = { count: 0 }
  const traffic = new TrafficSampler()
  const append = (records: TraceRecord[]) => {
    for (const r of records) model.append(r)
  }
  model.append({
    kind: 'node:meta',
    node: node.id,
    trueMs: Date.now(),
    observer: true,
    roles: ['inspector'],
    addrs: node.libp2p.getMultiaddrs().map(String),
  })
  node.addEventListener('trace', (e) => {
    try {
      model.append(toTraceRecord({ ...e.detail, trueMs: Date.now() }, 0))
    } catch {
      rejected.count++
    }
  })
  const pubsub = (node.libp2p.services as Record<string, unknown>).pubsub as
    | {
        subscribe(topic: string): void
        addEventListener(type: 'message', cb: (e: CustomEvent<PubSubMessage>) => void): void
      }
    | undefined
  if (pubsub) {
    pubsub.subscribe(core.TOPIC_STATUS)
    pubsub.subscribe(core.TOPIC_LEADER)
    pubsub.addEventListener('message', (e) => {
      const msg = e.detail
      if (msg.topic !== core.TOPIC_STATUS && msg.topic !== core.TOPIC_LEADER) return
      const from = msg.from?.toString()
      let body: unknown
      try {
        body = JSON.parse(new TextDecoder().decode(msg.data))
      } catch {
        rejected.count++
        return
      }
      if (typeof body !== 'object' || body === null) {
        rejected.count++
        return
      }
      const b = body as Record<string, unknown>
      const sender = from ?? (typeof b.id === 'string' ? b.id : null)
      if (!sender) {
        rejected.count++
        return
      }
      const now = Date.now()
      append(
        msg.topic === core.TOPIC_STATUS
          ? [...statusToRecords(sender, b, now), ...traffic.sample(sender, b, now)]
          : announcementToRecords(sender, b, now),
      )
    })
  }
  return {
    id: node.id,
    dataDir,
    rejected,
    stop: async () => {
      try {
        await node.stop()
      } finally {
        await removeOwnDir()
      }
    },
  }
}
