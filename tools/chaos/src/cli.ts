/**
 * `pnpm chaos --nodes N --schedules K --seed S [--json]`: the chaos harness on real node
 * processes (run.ts; docs/testing.md). Needs root on Linux (network namespaces, iptables).
 * `--seed S --schedule I` replays schedule I of seed S alone. The last line with --json is the
 * summary object; the exit code is 1 when the checker found a violation.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isRtoMaxMs, RTO_MAX_MS_MAX, RTO_MAX_MS_MIN } from '@conclave/core'
import { intFlag as int, optionsIn, parseFlags } from '@conclave/flags'
import { quantile, VIOLATION_KINDS, type ViolationKind } from './checker.js'
import { cleanup } from './cleanup.js'
import { BREAKS, CHAOS_USAGE as HELP, replayCommand } from './cli-args.js'
import { type RunResult, runChaos } from './run.js'
import { FAULT_KINDS, type FaultKind } from './schedule.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), optionsIn(HELP), HELP)
  if (flags.has('help')) {
    process.stdout.write(`${HELP}\n`)
    return 0
  }
  if (process.platform !== 'linux' || process.getuid?.() !== 0)
    throw new Error('the chaos harness needs root on Linux (network namespaces and iptables)')
  if (flags.has('cleanup')) {
    await cleanup((line) => process.stderr.write(`${line}\n`))
    return 0
  }
  const nodesRaw = flags.get('nodes') ?? '5'
  const range = /^(\d+)\.\.(\d+)$/.exec(nodesRaw)
  const sizes = range
    ? [
        ...new Set([
          Number(range[1]),
          Math.round((Number(range[1]) + Number(range[2])) / 2),
          Number(range[2]),
        ]),
      ]
    : [int(flags, 'nodes', 5, 5, 25)]
  for (const n of sizes)
    if (!Number.isInteger(n) || n < 5 || n > 25)
      throw new Error(`--nodes: 5–25 or A..B within 5–25, got ${nodesRaw}`)
  if (range && flags.has('schedule'))
    throw new Error('--schedule replays on one cluster size: pass --nodes N')
  const seed = int(flags, 'seed', Date.now() % 1_000_000, 0, 2 ** 31 - 1)
  const count = int(flags, 'schedules', 3, 1, 100_000)
  const schedules = flags.has('schedule')
    ? [int(flags, 'schedule', 0, 0, 1_000_000)]
    : [...Array(count).keys()].map((k) => k + int(flags, 'first-schedule', 0, 0, 1_000_000))
  const breakRules = (flags.get('break') ?? '').split(',').filter(Boolean)
  for (const b of breakRules) if (!BREAKS.includes(b)) throw new Error(`--break: one of ${BREAKS.join(', ')}`)
  if (breakRules.filter((b) => b !== 'fence').length > 1)
    throw new Error('--break: one protocol rule at a time')
  const kinds = flags.get('faults')?.split(',') as FaultKind[] | undefined
  for (const k of kinds ?? []) if (!FAULT_KINDS.includes(k)) throw new Error(`--faults: unknown kind ${k}`)
  const expectRaw = flags.get('expect-violations')
  const expectKinds = expectRaw === undefined ? undefined : expectRaw.split(',').filter(Boolean)
  if (expectKinds !== undefined) {
    if (expectKinds.length === 0 || expectRaw === 'true')
      throw new Error(`--expect-violations: name the kind(s) to expect (${VIOLATION_KINDS.join(', ')})`)
    for (const k of expectKinds)
      if (!(VIOLATION_KINDS as readonly string[]).includes(k))
        throw new Error(`--expect-violations: unknown kind ${k} (${VIOLATION_KINDS.join(', ')})`)
  }
  const livenessMs = int(flags, 'liveness-ms', 10_000, 1000, 600_000)
  const warmupMs = int(flags, 'warmup-ms', 300_000, 1000, 3_600_000)
  const json = flags.has('json')
  const nodeLogLevel = flags.get('node-log-level') ?? 'info'
  if (!['debug', 'info', 'warn', 'error'].includes(nodeLogLevel))
    throw new Error('--node-log-level: one of debug, info, warn, error')
  const tcpRtoMaxMs = flags.has('tcp-rto-max-ms')
    ? int(flags, 'tcp-rto-max-ms', 0, 0, RTO_MAX_MS_MAX)
    : undefined
  if (tcpRtoMaxMs !== undefined && !isRtoMaxMs(tcpRtoMaxMs))
    throw new Error(
      `--tcp-rto-max-ms: 0 or ${RTO_MAX_MS_MIN}..${RTO_MAX_MS_MAX} (what the kernel accepts), got ${tcpRtoMaxMs}`,
    )
  const outDir = flags.get('out') ?? join(ROOT, 'artifacts', 'chaos', `seed-${seed}`)
  const log = (line: string) => process.stderr.write(`${line}\n`)

  log(
    `chaos: ${sizes.join('/')} nodes, ${flags.has('schedule') ? `schedule ${schedules[0]}` : `${schedules.length} schedules`}, seed ${seed}, preset local${breakRules.length ? `, BREAK ${breakRules.join(',')} (test only)` : ''}`,
  )
  const t0 = performance.now()
  const runs: { nodes: number; run: RunResult }[] = []
  for (let g = 0; g < sizes.length; g++) {
    const n = sizes[g] as number
    const mine = schedules.filter((_, k) => Math.floor((k * sizes.length) / schedules.length) === g)
    if (mine.length === 0) continue
    if (sizes.length > 1) log(`-- ${n} nodes: schedules ${mine[0]}..${mine.at(-1)}`)
    const run = await runChaos({
      nodes: n,
      schedules: mine,
      seed,
      breakRules,
      livenessMs,
      warmupMs,
      outDir: sizes.length > 1 ? join(outDir, `nodes-${n}`) : outDir,
      dataDir: join('/dev/shm', `conclave-chaos-${process.pid}`),
      kinds,
      nodeLogLevel,
      tcpRtoMaxMs,
      log,
    })
    runs.push({ nodes: n, run })
  }
  const nodesOf = new Map<number, number>()
  for (const { nodes: n, run } of runs) for (const x of run.results) nodesOf.set(x.index, n)
  const nodes = sizes.length > 1 ? nodesRaw : sizes[0]
  const run = {
    results: runs.flatMap((x) => x.run.results),
    leasePeriodMs: runs[0]?.run.leasePeriodMs ?? 0,
    toleranceMs: runs[0]?.run.toleranceMs ?? 0,
    startupMs: Math.max(...runs.map((x) => x.run.startupMs)),
    firstLeaderMs: runs.some((x) => x.run.firstLeaderMs === undefined)
      ? undefined
      : Math.max(...runs.map((x) => x.run.firstLeaderMs ?? 0)),
  }
  const r = run.results
  const violations = r.flatMap((x) => x.violations)
  const byKind: Record<string, number> = {}
  for (const v of violations) byKind[v.kind] = (byKind[v.kind] ?? 0) + 1
  const reelect = r.map((x) => x.reelectMs).filter((x): x is number => x !== undefined)
  const leaseLost = r.filter((x) => !x.leaseHeldAtHeal)
  const leaseAgain = leaseLost.flatMap((x) => x.leaseAgainMs ?? [])
  const leaseAgainAll = r.flatMap((x) => x.leaseAgainMs ?? [])
  const allKnow = r.map((x) => x.allKnowMs).filter((x): x is number => x !== undefined)
  const gaps = r.flatMap((x) => x.leaderlessGapsMs)
  const never = r.filter((x) => x.neverAgreed).length
  const failing = r.filter((x) => x.violations.length > 0).map((x) => x.index)
  const round = (x: number | undefined) => (x === undefined ? null : Math.round(x))
  const summary = {
    seed,
    nodes,
    preset: 'local',
    break: breakRules.length ? breakRules.join(',') : null,
    schedules: r.length,
    violations: violations.length,
    violationsByKind: byKind,
    staleWritesAccepted: r.reduce((a, x) => a + x.staleWrites, 0),
    acceptedWrites: r.reduce((a, x) => a + x.acceptedWrites, 0),
    refusedWrites: r.reduce((a, x) => a + x.refusedWrites, 0),
    delayedWritesAccepted: r.reduce((a, x) => a + x.delayedAccepted, 0),
    delayedWritesRefused: r.reduce((a, x) => a + x.delayedRefused, 0),
    maxLeaderlessAfterHealMs: round(Math.max(0, ...r.map((x) => x.maxLeaderlessAfterHealMs))),
    leaderlessGaps: gaps.length,
    p50LeaderlessGapMs: round(quantile(gaps, 0.5)),
    p99LeaderlessGapMs: round(quantile(gaps, 0.99)),
    agreementLostAtHeal: r.filter((x) => x.agreementLostAtHeal).length,
    neverReelected: never,
    p50ReelectAfterHealMs: round(quantile(reelect, 0.5)),
    p99ReelectAfterHealMs: round(quantile(reelect, 0.99)),
    p99AllKnowAfterHealMs: round(quantile(allKnow, 0.99)),
    leaseLostAtHeal: leaseLost.length,
    leaseNeverAgain: r.filter((x) => x.leaseAgainMs === undefined).length,
    p50LeaseAgainAfterHealMs: round(quantile(leaseAgain, 0.5)),
    p99LeaseAgainAfterHealMs: round(quantile(leaseAgain, 0.99)),
    p99LeaseAgainAllHealsMs: round(quantile(leaseAgainAll, 0.99)),
    failingSchedules: failing,
    unhealthyStarts: r.filter((x) => !x.startHealthy).map((x) => x.index),
    bySize: runs.map(({ nodes: n, run: x }) => ({
      nodes: n,
      schedules: x.results.length,
      violations: x.results.reduce((a, y) => a + y.violations.length, 0),
      p50ReelectAfterHealMs: round(
        quantile(
          x.results.flatMap((y) => y.reelectMs ?? []),
          0.5,
        ),
      ),
      p99ReelectAfterHealMs: round(
        quantile(
          x.results.flatMap((y) => y.reelectMs ?? []),
          0.99,
        ),
      ),
      meanScheduleS:
        Math.round(x.results.reduce((a, y) => a + y.durationMs, 0) / x.results.length / 100) / 10,
    })),
    leasePeriodMs: round(run.leasePeriodMs),
    overlapToleranceMs: Math.round(run.toleranceMs * 10) / 10,
    startupMs: round(run.startupMs),
    firstLeaderMs: round(run.firstLeaderMs),
    durationS: Math.round((performance.now() - t0) / 1000),
    report: outDir,
  }
  log('')
  log(`schedules ${summary.schedules}, violations ${summary.violations} ${JSON.stringify(byKind)}`)
  log(
    `fenced writes: ${summary.acceptedWrites} accepted, ${summary.refusedWrites} refused (stale token), stale accepted ${summary.staleWritesAccepted}; held back past the lease: ${summary.delayedWritesAccepted} accepted (token still the newest), ${summary.delayedWritesRefused} refused`,
  )
  log(
    `leaderless gaps (end of one lease → start of the next): ${gaps.length}, p50 ${summary.p50LeaderlessGapMs} ms, p99 ${summary.p99LeaderlessGapMs} ms; longest at or after a heal ${summary.maxLeaderlessAfterHealMs} ms`,
  )
  log(
    `agreement lost at the heal in ${summary.agreementLostAtHeal} of ${r.length} schedules: leader known to all again p50 ${summary.p50ReelectAfterHealMs} ms, p99 ${summary.p99ReelectAfterHealMs} ms, never within the bound ${never}; known to every node incl. restarted ones p99 ${summary.p99AllKnowAfterHealMs} ms`,
  )
  log(
    `lease lost at the heal in ${summary.leaseLostAtHeal} of ${r.length} schedules: a lease holder's fenced write accepted again p50 ${summary.p50LeaseAgainAfterHealMs} ms, p99 ${summary.p99LeaseAgainAfterHealMs} ms (over every heal p99 ${summary.p99LeaseAgainAllHealsMs} ms; none by the schedule's end ${summary.leaseNeverAgain})`,
  )
  if (failing.length > 0)
    log(
      `failing schedules: ${failing.join(', ')} — replay one with: ${replayCommand({
        nodes: nodesOf.get(failing[0] as number) ?? (sizes[0] as number),
        seed,
        schedule: failing[0] as number,
        faults: kinds,
        breakRules,
        livenessMs,
        warmupMs,
      })}`,
    )
  const pictures = failing.length > 0 ? r.filter((x) => x.violations.length > 0) : r.slice(-1)
  log(
    `timeline: ${pictures
      .map((x) => x.svg)
      .slice(0, 5)
      .join(' ')}`,
  )
  log(`history: ${join(outDir, 'history.jsonl')}`)
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`)
  if (expectKinds !== undefined) {
    const missing = expectKinds.filter((k) => (byKind[k as ViolationKind] ?? 0) === 0)
    log(
      missing.length === 0
        ? `expected violations found: ${expectKinds.map((k) => `${k} ${byKind[k]}`).join(', ')}`
        : `EXPECTED violations NOT found: ${missing.join(', ')} (found ${JSON.stringify(byKind)})`,
    )
    return missing.length === 0 ? 0 : 1
  }
  return violations.length > 0 ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`chaos: ${err.message}\n`)
    process.exit(2)
  },
)
