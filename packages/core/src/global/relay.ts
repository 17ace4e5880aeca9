/**
 * Heartbeat relay (docs/protocol.md §Heartbeat relay). The global leader's per-round cost is
 * 2 messages per shard (heartbeat + ack): ≈ 16,700 msgs/s at 1000 shards, over the busiest-node
 * budget of 4000. Instead it splits the other shards into ≈ √S chunks (`relayChunks`) and sends
 * the round to one shard leader per chunk (`grelay`), which forwards it to the chunk (`gfwd`)
 * and passes the acks back in one frame (`gacks`): ≈ 2√S messages per round at the leader and
 * ≈ 2√S at each relay, the same total as before.
 *
 * Guarantees:
 *  - a relay passes on only acks it received for the round it forwards, from the shards it
 *    forwarded that round to, each once and unchanged (term, round, shard lease left, map);
 *    it adds nothing but the acking node's `leaderTag`. It never acks for another shard;
 *  - every ack is still sent by a shard leader that heard the heartbeat after the global leader
 *    sent it, so the global lease argument (vouching from the round's SEND time) is untouched:
 *    a late relayed ack only vouches for less time, never for more;
 *  - bounded: one round in flight (a newer round or a new leader replaces it), at most
 *    RELAY_SHARDS_MAX shards per round, at most RELAY_LEADERS_MAX remembered shard leaders.
 */
import type { NodeId } from '../sans-io.js'
import {
  GACKS_HEADER_BYTES_MAX,
  GLOBAL_FRAME_BYTES_MAX,
  type GlobalMessage,
  RELAY_SHARDS_MAX,
  type RelayedAck,
  relayedAckBytes,
} from './global-wire.js'

/** Shard leaders a relay remembers (it serves one chunk of ≈ √S shards; a new chunk may differ). */
const RELAY_LEADERS_MAX = 512
/** A remembered shard leader is used while it acked one of the last this many relayed rounds. */
const LEADER_FRESH_ROUNDS = 3

/** 32-bit FNV-1a of a node id: the global leader finds the acking voter among the shard's voters. */
export function leaderTag(id: NodeId): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * The global leader's chunks: the other global-voter shards in id order, cut into
 * max(⌈√n⌉, ⌈n / RELAY_SHARDS_MAX⌉) contiguous chunks of nearly equal size (n = their count).
 * Stable while the map is, so a chunk's relay (its first live shard) stays the same shard.
 * None (every shard direct) when n < `minShards`.
 */
export function relayChunks(otherShards: readonly number[], minShards: number): number[][] {
  const n = otherShards.length
  if (n === 0 || n < minShards) return []
  const sorted = [...otherShards].sort((a, b) => a - b)
  const count = Math.max(Math.ceil(Math.sqrt(n)), Math.ceil(n / RELAY_SHARDS_MAX))
  const chunks: number[][] = []
  for (let c = 0; c < count; c++) {
    const from = Math.floor((c * n) / count)
    const to = Math.floor(((c + 1) * n) / count)
    if (to > from) chunks.push(sorted.slice(from, to))
  }
  return chunks
}

export interface HeartbeatRelayInit {
  id: NodeId
  send: (to: NodeId, m: GlobalMessage) => void
  /** Where to reach shard `shard` when its leader is not known: its voters. */
  targets: (shard: number) => readonly NodeId[]
  /** GlobalConfig.relayAckWaitMs. */
  ackWaitMs: number
}

interface RelayRound {
  leader: NodeId
  term: number
  round: number
  /** Shards this round was forwarded to (and the relay's own shard, if it acked). */
  readonly expected: Set<number>
  /** Shards whose ack was received (passed on, or waiting in `pending`). */
  readonly answered: Set<number>
  pending: RelayedAck[]
  flushAtMs: number
}

export class HeartbeatRelay {
  private current: RelayRound | undefined
  /** Shard leaders that acked rounds of `leadersOf` (round numbers are that leader's counter). */
  private readonly leaders = new Map<number, { id: NodeId; round: number }>()
  private leadersOf: { leader: NodeId; term: number } | undefined

  constructor(private readonly init: HeartbeatRelayInit) {}

  /**
   * A `grelay` from the global leader: forward it to the shards it lists. `own` is this node's
   * own ack of the round (its shard), if it gave one: it goes back with the others.
   */
  start(
    leader: NodeId,
    m: GlobalMessage & { type: 'grelay' },
    own: RelayedAck | undefined,
    nowMs: number,
  ): void {
    this.flush()
    if (this.leadersOf?.leader !== leader || this.leadersOf.term !== m.term) {
      // Another leadership counts its own rounds: what we heard under the last one is no measure.
      this.leaders.clear()
      this.leadersOf = { leader, term: m.term }
    }
    const r: RelayRound = {
      leader,
      term: m.term,
      round: m.round,
      expected: new Set(),
      answered: new Set(),
      pending: [],
      flushAtMs: nowMs + this.init.ackWaitMs,
    }
    this.current = r
    if (own) {
      r.expected.add(own.shard)
      r.answered.add(own.shard)
      r.pending.push(own)
    }
    const fwd: GlobalMessage = {
      type: 'gfwd',
      term: m.term,
      round: m.round,
      leaderShard: m.leaderShard,
      leaseLeftMs: m.leaseLeftMs,
      leader,
    }
    for (const shard of m.shards) {
      if (r.expected.has(shard)) continue
      r.expected.add(shard)
      const known = this.leaders.get(shard)
      if (known && m.round - known.round <= LEADER_FRESH_ROUNDS) this.init.send(known.id, fwd)
      else for (const v of this.init.targets(shard)) if (v !== this.init.id) this.init.send(v, fwd)
    }
    if (r.answered.size === r.expected.size) this.flush()
  }

  /**
   * A `gack`: true if it answers the round this node relays (then it is passed on), false if it
   * is not for the relay (the caller handles it as a direct ack, if it leads).
   */
  take(from: NodeId, m: GlobalMessage & { type: 'gack' }, nowMs: number): boolean {
    const r = this.current
    if (!r || m.round !== r.round || !r.expected.has(m.shard)) return false
    if (r.answered.has(m.shard)) return true // a duplicate: the first one is passed on
    r.answered.add(m.shard)
    if (m.ok && m.term === r.term) {
      this.leaders.set(m.shard, { id: from, round: m.round })
      if (this.leaders.size > RELAY_LEADERS_MAX) this.forgetStale(m.round)
    }
    const { type: _, ...ack } = m
    r.pending.push({ ...ack, leaderTag: leaderTag(from) })
    if (r.pending.length === 1 && r.flushAtMs <= nowMs) r.flushAtMs = nowMs + this.init.ackWaitMs
    if (r.answered.size === r.expected.size) this.flush()
    return true
  }

  tick(nowMs: number): void {
    const r = this.current
    if (r && r.pending.length > 0 && nowMs >= r.flushAtMs) this.flush()
  }

  nextTickAtMs(): number {
    const r = this.current
    return r && r.pending.length > 0 ? r.flushAtMs : Number.POSITIVE_INFINITY
  }

  /** Pass the acks received so far on to the leader, in frames under the bound. */
  private flush(): void {
    const r = this.current
    if (!r || r.pending.length === 0) return
    let acks: RelayedAck[] = []
    let bytes = GACKS_HEADER_BYTES_MAX
    for (const a of r.pending) {
      const size = relayedAckBytes(a)
      if (acks.length > 0 && bytes + size > GLOBAL_FRAME_BYTES_MAX) {
        this.init.send(r.leader, { type: 'gacks', term: r.term, round: r.round, acks })
        acks = []
        bytes = GACKS_HEADER_BYTES_MAX
      }
      acks.push(a)
      bytes += size
    }
    this.init.send(r.leader, { type: 'gacks', term: r.term, round: r.round, acks })
    r.pending = []
  }

  private forgetStale(round: number): void {
    for (const [shard, k] of this.leaders)
      if (round - k.round > LEADER_FRESH_ROUNDS) this.leaders.delete(shard)
    if (this.leaders.size > RELAY_LEADERS_MAX) this.leaders.clear()
  }
}
