/**
 * Who each live node believes is global leader, replayed over the trace in true time. Feeds
 * invariant 6 (a leader known to every live node appears) and the failover figures (from a
 * crash until every live node knows the new leader).
 *
 * A node's belief is its latest `global:known` (or `global:leader`, which implies it); a crash
 * or restart forgets it (volatile state). "Agreed" means every live node believes the same
 * (leader, term) and that leader is live.
 */
import type { NodeId } from '@conclave/core'
import type { FaultRecord, TraceRecord } from '../../trace.js'

export interface Belief {
  readonly leader: NodeId
  readonly term: number
}

export class LeaderKnowledge {
  /** Nodes left out of the agreement entirely (e.g. the far side of a partition, a paused node). */
  constructor(private readonly ignore: ReadonlySet<NodeId> = new Set()) {}

  private readonly live = new Set<NodeId>()
  private readonly belief = new Map<NodeId, Belief>()
  /** Live nodes per `term/leader`; entries at 0 are deleted, so the map stays tiny. */
  private readonly counts = new Map<string, { belief: Belief; n: number }>()

  liveCount(): number {
    return this.live.size
  }

  isLive(node: NodeId): boolean {
    return this.live.has(node)
  }

  beliefOf(node: NodeId): Belief | undefined {
    return this.belief.get(node)
  }

  fault(f: FaultRecord): void {
    if (f.node === undefined || this.ignore.has(f.node)) return
    if (f.kind === 'add' || f.kind === 'restart') {
      this.forget(f.node)
      this.live.add(f.node)
    } else if (f.kind === 'crash') {
      this.forget(f.node)
      this.live.delete(f.node)
    }
  }

  event(record: TraceRecord): void {
    const e = record.event
    if (e.kind !== 'global:known' && e.kind !== 'global:leader') return
    if (!this.live.has(e.node)) return
    // The latest announcement wins, even with a lower term: the node itself decided to believe
    // it (Bully's epochs are not monotone across leaders; Conclave never goes back).
    this.forget(e.node)
    const b = { leader: e.leader, term: e.term }
    this.belief.set(e.node, b)
    const key = `${b.term}/${b.leader}`
    const c = this.counts.get(key)
    if (c === undefined) this.counts.set(key, { belief: b, n: 1 })
    else c.n++
  }

  /** The (leader, term) every live node believes, if any, with the leader live. */
  agreed(): Belief | undefined {
    if (this.live.size === 0) return undefined
    for (const { belief, n } of this.counts.values()) {
      if (n === this.live.size && this.live.has(belief.leader)) return belief
    }
    return undefined
  }

  private forget(node: NodeId): void {
    const prev = this.belief.get(node)
    if (prev === undefined) return
    this.belief.delete(node)
    const key = `${prev.term}/${prev.leader}`
    const c = this.counts.get(key)
    if (c !== undefined && --c.n === 0) this.counts.delete(key)
  }
}

/**
 * Replays trace and faults in true-time order (at a tie, events first: they were drained before
 * the fault), calling `visit` after each step with the current true time.
 */
export function replay(
  trace: readonly TraceRecord[],
  faults: readonly FaultRecord[],
  visit: (k: LeaderKnowledge, trueMs: number) => boolean | undefined,
  ignore?: ReadonlySet<NodeId>,
): LeaderKnowledge {
  const k = new LeaderKnowledge(ignore)
  let f = 0
  for (const record of trace) {
    for (; f < faults.length && (faults[f]?.trueMs ?? 0) < record.trueMs; f++) {
      const fault = faults[f] as FaultRecord
      k.fault(fault)
      if (visit(k, fault.trueMs) === true) return k
    }
    k.event(record)
    if (visit(k, record.trueMs) === true) return k
  }
  for (; f < faults.length; f++) {
    const fault = faults[f] as FaultRecord
    k.fault(fault)
    if (visit(k, fault.trueMs) === true) return k
  }
  return k
}
