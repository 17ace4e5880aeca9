/**
 * The history checker: pure functions from what the nodes and the fenced resource logged to
 * violations. All times are host CLOCK_MONOTONIC milliseconds (shared by every namespace), never
 * a node's protocol clock. It reports:
 * - lease-overlap: two nodes holding the global lease at the same instant. Each node logs its own
 *   protocol's lease events (`chaos:lease`: hold = acquired or extended, with the claim's end on
 *   the node's clock and on the host clock, converted with that node's own clock rate; end =
 *   released early), so a lease is an exact host-time interval [acquired, min(claimed end,
 *   release)], not a sampled one. Intervals of different nodes may touch but not overlap by more
 *   than `toleranceMs`, a measurement tolerance (1 ms: float rounding and the host-clock reading,
 *   no drift allowance — each end is already converted with its own node's rate).
 * - stale-write: the resource accepted a write whose token is below one it accepted before, or a
 *   token a different node already wrote with (two leaders under one fencing token).
 * - minority-lease: a node on a side without a quorum of shards holds the lease past one lease
 *   period (plus drift and tolerance) after the partition was in place.
 * - no-leader: no leader known to every running node within the liveness bound after a heal.
 * - crash: a node process exited without the nemesis killing or stopping it.
 */

export interface Sample {
  node: number
  id: string
  hostMs: number
  role: string
  leader: string | null
  term: number
  token: number | null
  leaseLeftMs: number
  driftPpm: number
  shard: number | null
}

export interface Write {
  hostMs: number
  node: string
  token: number
  seq: number
  accepted: boolean
  /** Held back past the writer's lease with an old token (the probe's delayed writes). */
  delayed?: boolean
}

export interface PartitionRecord {
  label: string
  installedHostMs: number
  healedHostMs: number
  /** Sides that held no quorum of shards when the partition started. */
  noQuorum: number[][]
}

export interface HealRecord {
  healHostMs: number
  /** First instant a leased leader was known to every running node; undefined = never. */
  agreedHostMs: number | undefined
}

export const VIOLATION_KINDS = [
  'lease-overlap',
  'stale-write',
  'minority-lease',
  'no-leader',
  'crash',
  'no-first-leader',
] as const
export type ViolationKind = (typeof VIOLATION_KINDS)[number]

export interface Violation {
  kind: ViolationKind
  atHostMs: number
  detail: string
}

/** One `chaos:lease` line of a node (apps/node/src/testing/chaos-probe.ts), host ms. */
export type LeaseEvent =
  | {
      node: number
      id: string
      event: 'hold' | 'rebase'
      term: number
      /** Protocol-clock end of the claim (identifies a claim across rebases). */
      untilMs: number
      fromHostMs: number
      untilHostMs: number
    }
  | { node: number; id: string; event: 'end'; term: number; atHostMs: number }

export interface LeaseSpan {
  node: number
  id: string
  term: number
  fromMs: number
  toMs: number
}

/**
 * Each node's global lease as exact host-time spans from its lease events (in the order the node
 * logged them): a hold opens a span, or extends the open one when it is the same term and starts
 * before that one's end; a rebase (the clock's rate changed) replaces the end of the claim it names;
 * an end event cuts the open span at the release. A hold that starts after the open span ended
 * opens a new span (the node held nothing in between).
 */
export function leaseSpansFromEvents(events: readonly LeaseEvent[]): LeaseSpan[] {
  const open = new Map<number, { span: LeaseSpan; untilMs: number }>()
  const spans: LeaseSpan[] = []
  for (const e of events) {
    const cur = open.get(e.node)
    if (e.event === 'end') {
      if (cur && cur.span.term === e.term) cur.span.toMs = Math.min(cur.span.toMs, e.atHostMs)
      open.delete(e.node)
      continue
    }
    if (e.event === 'rebase') {
      if (cur && cur.span.term === e.term && cur.untilMs === e.untilMs) cur.span.toMs = e.untilHostMs
      continue
    }
    if (cur && cur.span.term === e.term && e.fromHostMs <= cur.span.toMs) {
      cur.span.toMs = Math.max(cur.span.toMs, e.untilHostMs)
      cur.untilMs = e.untilMs
      continue
    }
    const span: LeaseSpan = {
      node: e.node,
      id: e.id,
      term: e.term,
      fromMs: e.fromHostMs,
      toMs: Math.max(e.fromHostMs, e.untilHostMs),
    }
    spans.push(span)
    open.set(e.node, { span, untilMs: e.untilMs })
  }
  return spans.sort((a, b) => a.fromMs - b.fromMs)
}

/**
 * Two nodes' spans that intersect for more than `toleranceMs` are a violation: both held the lease
 * over the intersection. One report per pair of (node, term).
 */
export function checkLeaseOverlaps(spans: readonly LeaseSpan[], toleranceMs: number): Violation[] {
  const out: Violation[] = []
  const seen = new Set<string>()
  const sorted = [...spans].sort((a, b) => a.fromMs - b.fromMs)
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i] as LeaseSpan
    for (let j = i + 1; j < sorted.length; j++) {
      const b = sorted[j] as LeaseSpan
      if (b.fromMs >= a.toMs - toleranceMs) break // sorted by start: no later span starts inside a
      if (a.node === b.node) continue
      const overlapMs = Math.min(a.toMs, b.toMs) - b.fromMs
      if (overlapMs <= toleranceMs) continue
      const key = `${a.node}:${a.term}:${b.node}:${b.term}`
      if (seen.has(key)) continue
      seen.add(key)
      out.push({
        kind: 'lease-overlap',
        atHostMs: b.fromMs,
        detail: `n${b.node} (term ${b.term}) and n${a.node} (term ${a.term}) both held the lease for ${overlapMs.toFixed(1)} ms`,
      })
    }
  }
  return out
}

/** Running state of the write check, carried from one schedule's window to the next. */
export interface WriteCheckState {
  maxToken: number
  ownerOf: Map<number, string>
}

export function newWriteCheckState(): WriteCheckState {
  return { maxToken: Number.NEGATIVE_INFINITY, ownerOf: new Map() }
}

/** Walk the resource's log in order (writes must be in the order the resource handled them). */
export function checkWrites(
  writes: readonly Write[],
  state: WriteCheckState = newWriteCheckState(),
): {
  violations: Violation[]
  stale: number
  accepted: number
  refused: number
  delayedAccepted: number
  delayedRefused: number
} {
  const out: Violation[] = []
  let stale = 0
  let accepted = 0
  let refused = 0
  let delayedAccepted = 0
  let delayedRefused = 0
  for (const w of writes) {
    if (w.delayed) {
      if (w.accepted) delayedAccepted++
      else delayedRefused++
    }
    if (!w.accepted) {
      refused++
      continue
    }
    accepted++
    const owner = state.ownerOf.get(w.token)
    let why: string | undefined
    if (w.token < state.maxToken) why = `token ${w.token} accepted after token ${state.maxToken}`
    else if (owner !== undefined && owner !== w.node)
      why = `token ${w.token} written by ${short(w.node)} after ${short(owner)} (two leaders under one token)`
    if (why) {
      stale++
      if (stale <= 20) out.push({ kind: 'stale-write', atHostMs: w.hostMs, detail: why })
    }
    if (owner === undefined) state.ownerOf.set(w.token, w.node)
    state.maxToken = Math.max(state.maxToken, w.token)
  }
  if (stale > 20)
    out.push({ kind: 'stale-write', atHostMs: writes.at(-1)?.hostMs ?? 0, detail: `… ${stale - 20} more` })
  return { violations: out, stale, accepted, refused, delayedAccepted, delayedRefused }
}

/**
 * A node on a side without quorum must hold no lease past installed + one lease period × (1 + ρ)
 * + tolerance (the lease it had when the cut came cannot be extended without a quorum).
 */
export function checkMinorityLeases(
  spans: readonly LeaseSpan[],
  partitions: readonly PartitionRecord[],
  leasePeriodMs: number,
  driftBound: number,
  toleranceMs: number,
): Violation[] {
  const out: Violation[] = []
  for (const p of partitions) {
    const boundMs = p.installedHostMs + leasePeriodMs * (1 + driftBound) + toleranceMs
    for (const side of p.noQuorum) {
      const reported = new Set<number>()
      for (const s of spans) {
        if (!side.includes(s.node) || reported.has(s.node)) continue
        if (s.toMs <= p.installedHostMs || s.fromMs >= p.healedHostMs) continue
        const heldUntil = Math.min(s.toMs, p.healedHostMs)
        if (heldUntil > boundMs) {
          reported.add(s.node)
          out.push({
            kind: 'minority-lease',
            atHostMs: boundMs,
            detail: `n${s.node} on a side without quorum (${p.label}) held the lease (term ${s.term}) ${(heldUntil - p.installedHostMs).toFixed(0)} ms after the partition (bound ${(boundMs - p.installedHostMs).toFixed(0)} ms)`,
          })
        }
      }
    }
  }
  return out
}

export function checkHeals(heals: readonly HealRecord[], livenessMs: number): Violation[] {
  return heals
    .filter((h) => h.agreedHostMs === undefined || h.agreedHostMs - h.healHostMs > livenessMs)
    .map((h) => ({
      kind: 'no-leader' as const,
      atHostMs: h.healHostMs,
      detail: `no leader known to every running node within ${livenessMs} ms after the faults healed`,
    }))
}

/**
 * Whether a side holds a quorum of shards: a majority of its voters in a majority of shards
 * (DESIGN.md, global group). `shardOf` is each node's shard as a voter (undefined: not a voter);
 * with no voter known at all, falls back to a majority of nodes.
 */
export function hasQuorum(side: readonly number[], shardOf: ReadonlyMap<number, number>, n: number): boolean {
  const voters = new Map<number, number[]>()
  for (const [node, shard] of shardOf) {
    let list = voters.get(shard)
    if (!list) {
      list = []
      voters.set(shard, list)
    }
    list.push(node)
  }
  if (voters.size === 0) return side.length * 2 > n
  let won = 0
  for (const members of voters.values()) {
    const inside = members.filter((m) => side.includes(m)).length
    if (inside * 2 > members.length) won++
  }
  return won * 2 > voters.size
}

export interface LeaderlessGap {
  /** End of the last lease before the gap (host ms). */
  fromMs: number
  /** Start of the next lease; undefined = none by the window's end (still leaderless). */
  toMs: number | undefined
  durationMs: number
}

/**
 * Intervals in which no node held the global lease, from the exact lease spans: between the end
 * of one lease (the union of all holders' spans) and the start of the next. Only gaps that start
 * inside [fromMs, toMs] are returned; a gap still open at toMs has `toMs: undefined` and lasts
 * until toMs. A window that starts leaderless reports nothing for that start (it belongs to the
 * window in which the lease ended).
 */
export function leaderlessGaps(spans: readonly LeaseSpan[], fromMs: number, toMs: number): LeaderlessGap[] {
  const sorted = [...spans].sort((a, b) => a.fromMs - b.fromMs)
  const union: { fromMs: number; toMs: number }[] = []
  for (const s of sorted) {
    const last = union.at(-1)
    if (last && s.fromMs <= last.toMs) last.toMs = Math.max(last.toMs, s.toMs)
    else union.push({ fromMs: s.fromMs, toMs: s.toMs })
  }
  const gaps: LeaderlessGap[] = []
  for (let i = 0; i < union.length; i++) {
    const endMs = (union[i] as { toMs: number }).toMs
    if (endMs < fromMs || endMs >= toMs) continue
    const next = union[i + 1]
    if (next && next.fromMs <= toMs)
      gaps.push({ fromMs: endMs, toMs: next.fromMs, durationMs: next.fromMs - endMs })
    else gaps.push({ fromMs: endMs, toMs: undefined, durationMs: toMs - endMs })
  }
  return gaps
}

export interface LeaseAgain {
  /** Some node held the global lease at the heal instant (exact lease spans). */
  heldAtHeal: boolean
  /**
   * Heal → the first fenced write accepted by the resource at or after the heal whose writer held
   * the global lease (a span of its own, of the write's token as term) at the write's instant;
   * undefined: none before `untilMs`. Writes held back on purpose (`delayed`) do not count.
   */
  afterHealMs: number | undefined
}

/**
 * "A leader again" in the sense: a lease holder exists whose fenced writes are accepted.
 * Complements re-agreement (every running node knows that leader), which waits for the last node
 * to hear of it as well.
 */
export function leaseHolderAgain(
  spans: readonly LeaseSpan[],
  writes: readonly Write[],
  healMs: number,
  untilMs: number,
): LeaseAgain {
  const heldAtHeal = spans.some((s) => s.fromMs <= healMs && healMs < s.toMs)
  let first: number | undefined
  for (const w of writes) {
    if (!w.accepted || w.delayed || w.hostMs < healMs || w.hostMs > untilMs) continue
    if (first !== undefined && w.hostMs >= first) continue
    const holds = spans.some(
      (s) => s.id === w.node && s.term === w.token && s.fromMs <= w.hostMs && w.hostMs <= s.toMs,
    )
    if (holds) first = w.hostMs
  }
  return { heldAtHeal, afterHealMs: first === undefined ? undefined : first - healMs }
}

/** p-quantile (nearest rank) of a list; undefined when empty. */
export function quantile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]
}

function short(id: string): string {
  return id.length > 10 ? `…${id.slice(-6)}` : id
}
