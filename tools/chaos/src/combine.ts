/**
 * Combine the parts of a long chaos run (tools/chaos/scripts/long-run.sh) into one set of figures.
 * Percentiles are computed over the pooled per-schedule values (the `schedule` records of each
 * part's history.jsonl), not averaged from the parts' own percentiles, with the same quantile
 * rule as a single run (checker.ts).
 *
 *   pnpm chaos:combine DIR [DIR …] [--json]
 *
 * DIR holds part-*.json (the runner's summary with commit and load) and part-* report
 * directories. Prints one line per part and the combined summary; `--json` prints it as JSON last.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type LeaseEvent, leaseHolderAgain, leaseSpansFromEvents, quantile, type Write } from './checker.js'

interface ScheduleRecord {
  kind: 'schedule'
  index: number
  violations: { kind: string }[]
  reelectMs?: number
  agreementLostAtHeal: boolean
  /** Recomputed here from the part's lease events and writes (also for parts run before it existed). */
  leaseAgainMs?: number
  leaseHeldAtHeal: boolean
  healHostMs: number
  endHostMs: number
  neverAgreed: boolean
  maxLeaderlessAfterHealMs: number
  leaderlessGapsMs: number[]
  allKnowMs?: number
  staleWrites: number
  acceptedWrites: number
  refusedWrites: number
  durationMs: number
  startHealthy: boolean
}

interface PartFile {
  part: string
  commit: string
  exit: number
  start: string
  end: string
  loadBefore: string
  loadAfter: string
  summary: { nodes: number | number[]; schedules: number; startupMs?: number; firstLeaderMs?: number } | null
}

interface Part {
  file: PartFile
  nodes: number
  schedules: ScheduleRecord[]
}

function readParts(dir: string): Part[] {
  const out: Part[] = []
  for (const name of readdirSync(dir).sort()) {
    if (!/^part-.*\.json$/.test(name)) continue
    const file = JSON.parse(readFileSync(join(dir, name), 'utf8')) as PartFile
    const history = join(dir, file.part, 'history.jsonl')
    if (!existsSync(history)) continue
    const schedules: ScheduleRecord[] = []
    const leases: LeaseEvent[] = []
    const writes: Write[] = []
    for (const line of readFileSync(history, 'utf8').split('\n')) {
      if (line.startsWith('{"kind":"schedule"')) schedules.push(JSON.parse(line) as ScheduleRecord)
      else if (line.startsWith('{"kind":"lease"')) leases.push(JSON.parse(line) as LeaseEvent)
      else if (line.startsWith('{"kind":"write"')) writes.push(JSON.parse(line) as Write)
    }
    const spans = leaseSpansFromEvents(leases)
    for (const s of schedules) {
      const again = leaseHolderAgain(spans, writes, s.healHostMs, s.endHostMs)
      s.leaseAgainMs = again.afterHealMs
      s.leaseHeldAtHeal = again.heldAtHeal
    }
    const m = /-n(\d+)$/.exec(file.part)
    out.push({ file, nodes: m ? Number(m[1]) : 0, schedules })
  }
  return out
}

export function combine(parts: readonly Part[]) {
  const all = parts.flatMap((p) => p.schedules)
  const reelect = all.flatMap((s) =>
    s.agreementLostAtHeal && s.reelectMs !== undefined ? [s.reelectMs] : [],
  )
  const leaseAgain = (ss: readonly ScheduleRecord[]) =>
    ss.flatMap((s) => (!s.leaseHeldAtHeal && s.leaseAgainMs !== undefined ? [s.leaseAgainMs] : []))
  const lease = leaseAgain(all)
  const gaps = all.flatMap((s) => s.leaderlessGapsMs)
  const byKind: Record<string, number> = {}
  for (const s of all) for (const v of s.violations) byKind[v.kind] = (byKind[v.kind] ?? 0) + 1
  const round = (x: number | undefined) => (x === undefined ? null : Math.round(x))
  const sizes = [...new Set(parts.map((p) => p.nodes))].sort((a, b) => a - b)
  return {
    parts: parts.length,
    commits: [...new Set(parts.map((p) => p.file.commit))],
    schedules: all.length,
    violations: all.reduce((a, s) => a + s.violations.length, 0),
    violationsByKind: byKind,
    staleWritesAccepted: all.reduce((a, s) => a + s.staleWrites, 0),
    acceptedWrites: all.reduce((a, s) => a + s.acceptedWrites, 0),
    refusedWrites: all.reduce((a, s) => a + s.refusedWrites, 0),
    maxLeaderlessAfterHealMs: round(Math.max(0, ...all.map((s) => s.maxLeaderlessAfterHealMs))),
    p50LeaderlessGapMs: round(quantile(gaps, 0.5)),
    p99LeaderlessGapMs: round(quantile(gaps, 0.99)),
    agreementLostAtHeal: all.filter((s) => s.agreementLostAtHeal).length,
    neverReelected: all.filter((s) => s.neverAgreed).length,
    p50ReelectAfterHealMs: round(quantile(reelect, 0.5)),
    p99ReelectAfterHealMs: round(quantile(reelect, 0.99)),
    reelectOver2sMs: reelect.filter((x) => x > 2000).map((x) => Math.round(x)),
    leaseLostAtHeal: all.filter((s) => !s.leaseHeldAtHeal).length,
    leaseNeverAgain: all.filter((s) => s.leaseAgainMs === undefined).length,
    p50LeaseAgainAfterHealMs: round(quantile(lease, 0.5)),
    p99LeaseAgainAfterHealMs: round(quantile(lease, 0.99)),
    leaseAgainOver2sMs: lease.filter((x) => x > 2000).map((x) => Math.round(x)),
    p99LeaseAgainAllHealsMs: round(
      quantile(
        all.flatMap((s) => s.leaseAgainMs ?? []),
        0.99,
      ),
    ),
    failingSchedules: parts.flatMap((p) =>
      p.schedules.filter((s) => s.violations.length > 0).map((s) => `${p.nodes}:${s.index}`),
    ),
    unhealthyStarts: all.filter((s) => !s.startHealthy).length,
    bySize: sizes.map((n) => {
      const ss = parts.filter((p) => p.nodes === n).flatMap((p) => p.schedules)
      const r = ss.flatMap((s) => (s.agreementLostAtHeal && s.reelectMs !== undefined ? [s.reelectMs] : []))
      return {
        nodes: n,
        schedules: ss.length,
        violations: ss.reduce((a, s) => a + s.violations.length, 0),
        staleWritesAccepted: ss.reduce((a, s) => a + s.staleWrites, 0),
        agreementLostAtHeal: ss.filter((s) => s.agreementLostAtHeal).length,
        neverReelected: ss.filter((s) => s.neverAgreed).length,
        p50ReelectAfterHealMs: round(quantile(r, 0.5)),
        p99ReelectAfterHealMs: round(quantile(r, 0.99)),
        leaseLostAtHeal: ss.filter((s) => !s.leaseHeldAtHeal).length,
        p50LeaseAgainAfterHealMs: round(quantile(leaseAgain(ss), 0.5)),
        p99LeaseAgainAfterHealMs: round(quantile(leaseAgain(ss), 0.99)),
        meanScheduleS: ss.length
          ? Math.round(ss.reduce((a, s) => a + s.durationMs, 0) / ss.length / 100) / 10
          : null,
      }
    }),
  }
}

function main(argv: readonly string[]): void {
  const json = argv.includes('--json')
  const dirs = argv.filter((a) => a !== '--json' && a !== '--')
  if (dirs.length === 0) {
    console.error('usage: pnpm chaos:combine DIR [DIR …] [--json]')
    process.exit(2)
  }
  const parts = dirs.flatMap(readParts)
  for (const p of parts) {
    const f = p.file
    const r = p.schedules.flatMap((s) =>
      s.agreementLostAtHeal && s.reelectMs !== undefined ? [s.reelectMs] : [],
    )
    console.log(
      `${f.part}: ${p.schedules.length} schedules, ${p.schedules.reduce((a, s) => a + s.violations.length, 0)} violations, re-agree p99 ${Math.round(quantile(r, 0.99) ?? 0)} ms, commit ${f.commit.slice(0, 7)}, ${f.start} → ${f.end}, load ${f.loadBefore} → ${f.loadAfter}, exit ${f.exit}`,
    )
  }
  const c = combine(parts)
  console.log(
    `combined: ${c.schedules} schedules in ${c.parts} parts, ${c.violations} violations ${JSON.stringify(c.violationsByKind)}, stale writes accepted ${c.staleWritesAccepted}, re-agreement after heal p50 ${c.p50ReelectAfterHealMs} / p99 ${c.p99ReelectAfterHealMs} ms (${c.agreementLostAtHeal} schedules lost agreement, ${c.neverReelected} never re-agreed), longest leaderless at/after a heal ${c.maxLeaderlessAfterHealMs} ms; lease holder writing again after the heal p50 ${c.p50LeaseAgainAfterHealMs} / p99 ${c.p99LeaseAgainAfterHealMs} ms (${c.leaseLostAtHeal} schedules had no lease holder at the heal, ${c.leaseNeverAgain} none by the schedule's end)`,
  )
  if (json) console.log(JSON.stringify(c))
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2))
