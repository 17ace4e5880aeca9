/**
 * The chaos CLI's argument parsing and the replay command it prints for a failing schedule.
 * Guarantees: `replayCommand` names every flag that shapes the replayed schedule or how it is
 * judged (`--nodes`, `--seed`, `--schedule`, `--faults`, `--break`, `--liveness-ms`,
 * `--warmup-ms`), so `parseArgs` of the printed words gives back the same (seed, index, nodes,
 * fault kinds), and therefore the same `planSchedule` output (schedule.test.ts checks this).
 */

/** `--k v`, `--k=v` and bare `--k` (= 'true'); a lone `--` is skipped. */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--') continue
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`)
    const eq = a.indexOf('=')
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1))
    else if (argv[i + 1] !== undefined && !(argv[i + 1] as string).startsWith('--'))
      out.set(a.slice(2), argv[++i] as string)
    else out.set(a.slice(2), 'true')
  }
  return out
}

export interface ReplaySpec {
  nodes: number
  seed: number
  schedule: number
  faults?: readonly string[]
  breakRules: readonly string[]
  livenessMs: number
  warmupMs: number
}

/** The argument words (after `pnpm chaos`) that replay one schedule alone. */
export function replayArgs(r: ReplaySpec): string[] {
  const args = ['--nodes', String(r.nodes), '--seed', String(r.seed), '--schedule', String(r.schedule)]
  if (r.faults !== undefined) args.push('--faults', r.faults.join(','))
  if (r.breakRules.length > 0) args.push('--break', r.breakRules.join(','))
  args.push('--liveness-ms', String(r.livenessMs), '--warmup-ms', String(r.warmupMs))
  return args
}

export function replayCommand(r: ReplaySpec): string {
  return `pnpm chaos ${replayArgs(r).join(' ')}`
}
