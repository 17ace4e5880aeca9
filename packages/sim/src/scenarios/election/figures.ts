/**
 * The figures of an election run, all computed from the trace, the fault log and the message
 * accounting after the run (nothing here is estimated or hard-coded).
 *
 * - global failover: from the fault until every live node (outside the episode's ignore set)
 *   knows one live global leader of a newer term (checkers/election/leader-converges.ts);
 * - shard failover: from the fault until every live voter of the shard has learned
 *   (`shard:leader`) a leader of a newer shard term;
 * - per-node load: messages sent + received per node per second (all layers), over the
 *   measured window, mean and busiest node.
 */
import type { NodeId } from '@conclave/core'
import type { Traffic } from '../../accounting.js'
import { agreementAfter } from '../../checkers/election/leader-converges.js'
import type { FaultRecord, TraceRecord } from '../../trace.js'
import type { Episode } from './harness.js'

export interface FailoverFigures {
  /** Durations of the episodes that recovered, ms. */
  readonly samplesMs: number[]
  /** Episodes with no recovery before the run ended. */
  readonly unrecovered: number
}

export function globalFailovers(
  trace: readonly TraceRecord[],
  faults: readonly FaultRecord[],
  episodes: readonly Episode[],
): FailoverFigures {
  const samplesMs: number[] = []
  let unrecovered = 0
  for (const e of episodes) {
    if (e.kind !== 'global') continue
    const at = agreementAfter(trace, { faults }, e.startMs, e.minTerm, e.ignore)
    if (at === undefined) unrecovered++
    else samplesMs.push(at - e.startMs)
  }
  return { samplesMs, unrecovered }
}

export function shardFailovers(
  trace: readonly TraceRecord[],
  faults: readonly FaultRecord[],
  episodes: readonly Episode[],
): FailoverFigures {
  const samplesMs: number[] = []
  let unrecovered = 0
  for (const e of episodes) {
    if (e.kind !== 'shard' || e.shard === undefined || e.members === undefined) continue
    const crashedLater = new Set(
      faults
        .filter((f) => f.kind === 'crash' && f.trueMs > e.startMs && f.node !== undefined)
        .map((f) => f.node),
    )
    const waiting = new Set(e.members.filter((m) => !crashedLater.has(m)))
    if (waiting.size === 0) continue
    let doneMs: number | undefined
    for (const { trueMs, event: ev } of trace) {
      if (trueMs < e.startMs) continue
      if (
        ev.kind === 'shard:leader' &&
        ev.shard === e.shard &&
        ev.term >= e.minTerm &&
        waiting.delete(ev.node)
      ) {
        if (waiting.size === 0) {
          doneMs = trueMs
          break
        }
      }
    }
    if (doneMs === undefined) unrecovered++
    else samplesMs.push(doneMs - e.startMs)
  }
  return { samplesMs, unrecovered }
}

/** Messages sent + received per node per second between two accounting snapshots. */
export function perNodeRates(
  before: ReadonlyMap<NodeId, Traffic>,
  after: ReadonlyMap<NodeId, Traffic>,
  seconds: number,
): number[] {
  const rates: number[] = []
  for (const [id, t] of after) {
    const b = before.get(id)
    const msgs = t.sentMsgs + t.recvMsgs - (b === undefined ? 0 : b.sentMsgs + b.recvMsgs)
    rates.push(msgs / seconds)
  }
  return rates
}
