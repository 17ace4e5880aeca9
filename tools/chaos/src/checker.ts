/**
 * The history checker: pure functions from what the nodes and the fenced resource logged to
 * violations. All times are host CLOCK_MONOTONIC milliseconds (shared by every namespace), never
 * a node's protocol clock. It reports:
 * - lease-overlap: two nodes holding the global lease at the same instant. A node holds it from a
 *   sample at which `isLeader()` was true until the end it claimed then (lease left, turned into
 *   host time with the node's own test-clock drift); claims of one node and term are merged.
 *   Overlaps up to `toleranceMs` (the configured drift bound ρ times the lease, plus sampling
 *   rounding) are allowed.
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

export interface LeaseSpan {
  node: number
  id: string
  term: number
  fromMs: number
  toMs: number
}

/** Each node's lease holdings as host-time spans, merged per (node, term) where they touch. */
export function leaseSpans(samples: readonly Sample[]): LeaseSpan[] {
  const byNode = new Map<number, Sample[]>()
  for (const s of samples) {
    if (s.token === null) continue
    let list = byNode.get(s.node)
    if (!list) {
      list = []
      byNode.set(s.node, list)
    }
    list.push(s)
  }
  const spans: LeaseSpan[] = []
  for (const list of byNode.values()) {
    list.sort((a, b) => a.hostMs - b.hostMs)
    let cur: LeaseSpan | undefined
    for (const s of list) {
      const toMs = s.hostMs + Math.max(0, s.leaseLeftMs) / (1 + s.driftPpm / 1e6)
      const term = s.token as number
      if (cur && cur.term === term && s.hostMs <= cur.toMs) cur.toMs = Math.max(cur.toMs, toMs)
      else {
        if (cur) spans.push(cur)
        cur = { node: s.node, id: s.id, term, fromMs: s.hostMs, toMs }
      }
    }
    if (cur) spans.push(cur)
  }
  return spans.sort((a, b) => a.fromMs - b.fromMs)
}

/**
 * Spans are sorted by start, so b's first instant is one at which b held the lease: if it falls
 * inside a's claimed lease (more than the tolerance before its end), both held at that instant,
 * even if b's claim is a single instant (a broken lease claims 0 ms left). One report per pair
 * of (node, term).
 */
export function checkLeaseOverlaps(spans: readonly LeaseSpan[], toleranceMs: number): Violation[] {
  const out: Violation[] = []
  const seen = new Set<string>()
  for (let i = 0; i < spans.length; i++) {
    const a = spans[i] as LeaseSpan
    for (let j = i + 1; j < spans.length; j++) {
      const b = spans[j] as LeaseSpan
      if (b.fromMs >= a.toMs - toleranceMs) break // sorted by start: no later span starts inside a
      if (a.node === b.node) continue
      const key = `${a.node}:${a.term}:${b.node}:${b.term}`
      if (seen.has(key)) continue
      seen.add(key)
      out.push({
        kind: 'lease-overlap',
        atHostMs: b.fromMs,
        detail: `n${b.node} (term ${b.term}) held the lease ${(a.toMs - b.fromMs).toFixed(1)} ms before the end of n${a.node}'s (term ${a.term})`,
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
): { violations: Violation[]; stale: number; accepted: number; refused: number } {
  const out: Violation[] = []
  let stale = 0
  let accepted = 0
  let refused = 0
  for (const w of writes) {
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
  return { violations: out, stale, accepted, refused }
}

export function checkMinorityLeases(
  samples: readonly Sample[],
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
      for (const s of samples) {
        if (s.token === null || !side.includes(s.node) || reported.has(s.node)) continue
        if (s.hostMs < p.installedHostMs || s.hostMs >= p.healedHostMs) continue
        const endMs = s.hostMs + Math.max(0, s.leaseLeftMs) / (1 + s.driftPpm / 1e6)
        if (Math.max(s.hostMs, endMs) > boundMs) {
          reported.add(s.node)
          out.push({
            kind: 'minority-lease',
            atHostMs: s.hostMs,
            detail: `n${s.node} on a side without quorum (${p.label}) held the lease (term ${s.token}) ${(Math.max(s.hostMs, endMs) - p.installedHostMs).toFixed(0)} ms after the partition (bound ${(boundMs - p.installedHostMs).toFixed(0)} ms)`,
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

/** p-quantile (nearest rank) of a list; undefined when empty. */
export function quantile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]
}

function short(id: string): string {
  return id.length > 10 ? `…${id.slice(-6)}` : id
}
