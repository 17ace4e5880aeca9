/**
 * Where a shard leader sends its global election frames (and the global leader its first
 * heartbeats): the leader it last heard speak for each other shard, instead of every voter of
 * that shard. Without it every campaigning shard leader wrote to every node of the cluster and
 * so opened a connection to each (100 real processes: ≈ 20 ms of CPU per connection, both cores
 * saturated for minutes; docs/operations.md, sessions 5 and 6).
 *
 * Learnt only from frames that a shard leader alone sends: a global PreVote or vote request
 * (`candShard`), a (pre)vote reply or an ack (`shard`), a heartbeat or relay request
 * (`leaderShard`), a forwarded heartbeat (`gfwd`: its leader). Membership meta (the 'leader'
 * role) is a hint used only for a shard the book has no entry for.
 *
 * Guarantees:
 *  - routing only: who answers for a shard is still judged by the receiver (only its shard's
 *    leased leader grants, votes after its shard commit, or acks), so a wrong or stale entry can
 *    only cost liveness: the frame reaches a node that is no longer the shard's leader and is
 *    ignored;
 *  - a stale entry costs a bounded delay: a shard whose known leaders (book and hint) have left
 *    the caller's requests unanswered for a silence bound (`silentForMs`) is marked `missed` and
 *    sent the request through all its voters, after which the silence counts anew;
 *  - bounded: at most LEADER_BOOK_MAX shards (the oldest entry goes first).
 */
import type { NodeId } from '../sans-io.js'

/** Shards remembered (a 1000-node cluster has ≈ 200; the wire allows more, the oldest go). */
export const LEADER_BOOK_MAX = 4096

interface Entry {
  /** undefined: the last known leader did not answer (reach the shard through its voters). */
  id: NodeId | undefined
  /** The leader that did not answer (a membership hint naming it is not used either). */
  missedId?: NodeId
  atMs: number
  /** Since when our requests to the shard's known leaders have gone unanswered (none heard since). */
  askedSinceMs?: number
}

export class LeaderBook {
  private readonly entries = new Map<number, Entry>()

  /** A frame only a leader of `shard` sends came from `id`. */
  note(shard: number, id: NodeId, nowMs: number): void {
    const e = this.entries.get(shard)
    if (e?.id === id) {
      e.atMs = nowMs
      e.askedSinceMs = undefined
      return
    }
    this.put(shard, { id, atMs: nowMs })
  }

  /** We sent `shard` a request through its known leaders: its silence counts from now, if it did not already. */
  asked(shard: number, nowMs: number): void {
    const e = this.entries.get(shard)
    if (e === undefined) this.put(shard, { id: undefined, atMs: nowMs, askedSinceMs: nowMs })
    else e.askedSinceMs ??= nowMs
  }

  /** How long `shard` has left our requests unanswered (0 if it answered since the last). */
  silentForMs(shard: number, nowMs: number): number {
    const since = this.entries.get(shard)?.askedSinceMs
    return since === undefined ? 0 : nowMs - since
  }

  private put(shard: number, e: Entry): void {
    this.entries.delete(shard)
    this.entries.set(shard, e)
    if (this.entries.size > LEADER_BOOK_MAX) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
  }

  /** `id` (if it is still the entry) did not answer for `shard` within the caller's bound. */
  missed(shard: number, id: NodeId, nowMs: number): void {
    const e = this.entries.get(shard)
    if (e === undefined || e.id === id || e.id === undefined)
      this.put(shard, { id: undefined, missedId: id, atMs: nowMs, askedSinceMs: nowMs })
  }

  /** `id` no longer leads any shard as far as we know (it lost the global leadership): missed. */
  forget(id: NodeId, nowMs: number): void {
    for (const [shard, e] of this.entries) if (e.id === id) this.missed(shard, id, nowMs)
  }

  /**
   * The leader to reach `shard` through: `{ id }` (known), `{ id: undefined }` (its last known
   * leader did not answer: use the voters), or undefined (never heard: a hint may be used).
   */
  get(shard: number): { id: NodeId | undefined; missedId?: NodeId } | undefined {
    return this.entries.get(shard)
  }

  get size(): number {
    return this.entries.size
  }
}
