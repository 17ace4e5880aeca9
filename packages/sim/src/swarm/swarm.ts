/**
 * The swarm: many seeds of random clusters under random faults (run-seed.ts), summed up. A
 * failing seed is reported with the exact command that replays it.
 */
import type { SubjectOptions } from '../scenarios/election/subjects.js'
import { runSwarmSeed, type SwarmSeedOptions, type SwarmSeedResult } from './run-seed.js'

export interface SwarmOptions {
  /** Seeds firstSeed .. firstSeed + seeds - 1. */
  readonly seeds: number
  readonly firstSeed: number
  readonly nodesMax: number
  readonly unsafeBreak?: SubjectOptions['unsafeBreak']
  readonly safetyMs?: number
  /** Stop at the first failing seed (for --break runs: "found within K seeds"). */
  readonly stopAtFirstFailure?: boolean
  /** Called after each seed (progress). */
  readonly onSeed?: (r: SwarmSeedResult, done: number) => void
}

export interface FailingSeed {
  seed: number
  nodes: number
  rules: string[]
  livenessFailure: boolean
  /** The first violation's message, for a quick look. */
  first: string
  replay: string
}

export interface SwarmReport {
  seeds: number
  nodesMax: number
  unsafeBreak: string | null
  violations: number
  livenessFailures: number
  failingSeeds: FailingSeed[]
  /** 1-based position of the first failing seed (how many seeds it took), or null. */
  firstFailureAfterSeeds: number | null
  /** Per rule (`invariant:rule`, `0:crash` for a machine that threw): seeds that hit it. */
  seedsByRule: Record<string, number>
  /** Per rule: after how many seeds it was first hit (1-based). */
  firstHitByRule: Record<string, number>
  /** Growth seeds run (founders 3–9, the rest joining under faults), and shards their splits added. */
  growthSeeds: number
  shardsAdded: number
  /** Seeds in which the global leader sent heartbeats through relays (relay.ts). */
  relaySeeds: number
  /** Founder-cap seeds: all expect N, fewer found the cluster (`bootstrapFoundersMax`), the rest join. */
  foundersSeeds: number
  simSeconds: number
  wallSeconds: number
}

/**
 * A machine that throws (a failed assert() in protocol code, the simulator's busy-tick guard) is
 * a bug found by the seed: it is reported as a failing seed with rule `0:crash`, not swallowed.
 */
function runSeedCatching(opts: SwarmSeedOptions): SwarmSeedResult {
  try {
    return runSwarmSeed(opts)
  } catch (err) {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    return {
      seed: opts.seed,
      nodes: 0,
      violations: [{ checker: 'exception', invariant: 0, rule: 'crash', trueMs: 0, message, nodes: [] }],
      livenessFailure: false,
      actions: [],
      growth: false,
      shardsAdded: 0,
      relayFrames: 0,
      traceHash: '',
      simMs: 0,
    }
  }
}

export function replayCommand(seed: number, nodesMax: number, unsafeBreak?: string): string {
  return `pnpm sim swarm --seed ${seed} --nodes-max ${nodesMax}${unsafeBreak ? ` --break ${unsafeBreak}` : ''}`
}

export function runSwarm(opts: SwarmOptions): SwarmReport {
  const wall0 = performance.now()
  let violations = 0
  let livenessFailures = 0
  let simMs = 0
  let done = 0
  let growthSeeds = 0
  let shardsAdded = 0
  let relaySeeds = 0
  let foundersSeeds = 0
  let firstFailureAfterSeeds: number | null = null
  const failingSeeds: FailingSeed[] = []
  const seedsByRule: Record<string, number> = {}
  const firstHitByRule: Record<string, number> = {}
  for (let i = 0; i < opts.seeds; i++) {
    const seed = opts.firstSeed + i
    const r = runSeedCatching({
      seed,
      nodesMax: opts.nodesMax,
      ...(opts.unsafeBreak ? { unsafeBreak: opts.unsafeBreak } : {}),
      ...(opts.safetyMs !== undefined ? { safetyMs: opts.safetyMs } : {}),
    })
    done++
    simMs += r.simMs
    if (r.growth) growthSeeds++
    shardsAdded += r.shardsAdded
    if (r.relayFrames > 0) relaySeeds++
    if (r.foundersMax !== undefined) foundersSeeds++
    violations += r.violations.length
    if (r.livenessFailure) livenessFailures++
    const rules = new Set(r.violations.map((v) => `${v.invariant}:${v.rule}`))
    if (r.livenessFailure) rules.add('6:no-agreed-leader')
    for (const rule of rules) {
      seedsByRule[rule] = (seedsByRule[rule] ?? 0) + 1
      firstHitByRule[rule] ??= done
    }
    if (r.violations.length > 0 || r.livenessFailure) {
      firstFailureAfterSeeds ??= done
      failingSeeds.push({
        seed,
        nodes: r.nodes,
        rules: [...new Set(r.violations.map((v) => `${v.invariant}:${v.rule}`))],
        livenessFailure: r.livenessFailure,
        first:
          r.violations[0]?.message ??
          (r.livenessFailure ? 'no leader known to all after faults stopped' : ''),
        replay: replayCommand(seed, opts.nodesMax, opts.unsafeBreak),
      })
    }
    opts.onSeed?.(r, done)
    if (opts.stopAtFirstFailure && firstFailureAfterSeeds !== null) break
  }
  return {
    seeds: done,
    nodesMax: opts.nodesMax,
    unsafeBreak: opts.unsafeBreak ?? null,
    violations,
    livenessFailures,
    failingSeeds,
    firstFailureAfterSeeds,
    seedsByRule,
    firstHitByRule,
    growthSeeds,
    shardsAdded,
    relaySeeds,
    foundersSeeds,
    simSeconds: Math.round(simMs / 100) / 10,
    wallSeconds: Math.round((performance.now() - wall0) / 100) / 10,
  }
}
