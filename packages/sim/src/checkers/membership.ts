/**
 * Membership checkers (SWIM + Lifeguard) over a trace.
 *
 * - falseDeaths / falseSuspicions: a node declared dead (suspected) by an accuser that could
 *   reach it: for the whole `graceMs` before the declaration the member was running, unpaused and
 *   not gone, and no partition separated it from the accuser. Only declarations count (the
 *   accuser's own event, `via` = itself: its suspicion timed out, or its probe failed), not the
 *   spread of that news: a death declared while a partition separated the two sides is a correct
 *   declaration, and its news reaching the other side after the heal is re-convergence work
 *   (measured as `healConvergeMs`), not a new false death. Each (member, incarnation) counts
 *   once. An accuser that was itself paused is no excuse (Lifeguard's point is that it is not).
 * - deadStaysDead: DESIGN.md invariant 7 — once an observer has a member dead at incarnation i,
 *   it takes it back (alive, suspect or a new join) only with an incarnation above i, or a new
 *   boot epoch (the member restarted, per the fault log, or the event carries a higher bootEpoch).
 *   An observer that restarted since the death starts with an empty table and is not bound by it.
 */
import type { MemberState, NodeId, TraceEvent } from '@conclave/core'
import type { TraceRecord } from '../trace.js'
import { Impairments } from './impairment.js'
import type { CheckContext, Violation } from './types.js'

export interface FalseAlarmOptions {
  /** How long after an impairment ends an accusation is still excused, ms. Default 10_000. */
  graceMs?: number
}

export function falseDeaths(
  trace: readonly TraceRecord[],
  ctx: CheckContext,
  opts: FalseAlarmOptions = {},
): Violation[] {
  return falseAlarms('falseDeaths', 'dead', trace, ctx, opts)
}

export function falseSuspicions(
  trace: readonly TraceRecord[],
  ctx: CheckContext,
  opts: FalseAlarmOptions = {},
): Violation[] {
  return falseAlarms('falseSuspicions', 'suspect', trace, ctx, opts)
}

function falseAlarms(
  checker: string,
  state: MemberState,
  trace: readonly TraceRecord[],
  ctx: CheckContext,
  opts: FalseAlarmOptions,
): Violation[] {
  const graceMs = opts.graceMs ?? 10_000
  const impaired = new Impairments(ctx.faults, trace)
  const seen = new Set<string>()
  const out: Violation[] = []
  for (const r of trace) {
    const e = r.event
    if (e.kind !== 'member:state' || e.state !== state || e.via !== e.node) continue
    const key = `${e.member}|${e.incarnation}`
    if (seen.has(key)) continue
    const fromMs = r.trueMs - graceMs
    if (impaired.downDuring(e.member, fromMs, r.trueMs)) continue
    if (impaired.separated(e.node, e.member, fromMs, r.trueMs)) continue
    seen.add(key)
    out.push({
      checker,
      trueMs: r.trueMs,
      node: e.node,
      message: `${short(e.node)} declared reachable ${short(e.member)} ${state} at incarnation ${e.incarnation}`,
    })
  }
  return out
}

export function deadStaysDead(trace: readonly TraceRecord[], ctx: CheckContext): Violation[] {
  const restarts = new Map<NodeId, number[]>()
  for (const f of ctx.faults) {
    if (f.kind === 'restart' && f.node !== undefined) {
      const list = restarts.get(f.node) ?? []
      list.push(f.trueMs)
      restarts.set(f.node, list)
    }
  }
  const restartedBetween = (node: NodeId, fromMs: number, toMs: number) =>
    (restarts.get(node) ?? []).some((t) => t >= fromMs && t <= toMs)

  const dead = new Map<string, { incarnation: number; bootEpoch: number | undefined; trueMs: number }>()
  const out: Violation[] = []
  for (const r of trace) {
    const e = r.event
    let member: NodeId
    let incarnation: number
    if (e.kind === 'member:state') {
      member = e.member
      incarnation = e.incarnation
    } else if (e.kind === 'member:join') {
      member = e.member
      incarnation = e.incarnation
    } else continue
    const key = `${e.node}|${member}`
    const bootEpoch = bootEpochOf(e)
    if (e.kind === 'member:state' && e.state === 'dead') {
      dead.set(key, { incarnation, bootEpoch, trueMs: r.trueMs })
      continue
    }
    if (e.kind === 'member:state' && e.state === 'left') {
      dead.delete(key)
      continue
    }
    const was = dead.get(key)
    if (was === undefined) continue
    dead.delete(key)
    const newerBoot = bootEpoch !== undefined && was.bootEpoch !== undefined && bootEpoch > was.bootEpoch
    // The observer's own restart wipes its (unpersisted) table: a fresh process that learns the member anew is no revival.
    if (
      incarnation > was.incarnation ||
      newerBoot ||
      restartedBetween(member, was.trueMs, r.trueMs) ||
      restartedBetween(e.node, was.trueMs, r.trueMs)
    )
      continue
    out.push({
      checker: 'deadStaysDead',
      trueMs: r.trueMs,
      node: e.node,
      message:
        `${short(e.node)} revived ${short(member)} at incarnation ${incarnation} after declaring it dead at ` +
        `incarnation ${was.incarnation} (t=${was.trueMs.toFixed(1)} ms), without a new incarnation or boot epoch`,
    })
  }
  return out
}

/** Events may carry the member's boot epoch (an additive field); use it when present. */
function bootEpochOf(e: TraceEvent): number | undefined {
  const v = (e as { bootEpoch?: unknown }).bootEpoch
  return typeof v === 'number' ? v : undefined
}

/** Peer ids are long; reports show their last 6 characters. */
export function short(id: NodeId): string {
  return id.length > 10 ? `…${id.slice(-6)}` : id
}
