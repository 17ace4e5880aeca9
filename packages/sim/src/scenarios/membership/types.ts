/** Options and report of a membership scenario run (what `pnpm sim membership` prints). */
import type { MembershipConfig } from '@conclave/core'
import type { NetworkModel } from '../../network-model.js'
import type { Simulation } from '../../simulation.js'

export const membershipScenarios = ['crash', 'loss', 'pause', 'partition', 'churn', 'join'] as const
export type MembershipScenarioName = (typeof membershipScenarios)[number]

/**
 * How the cluster reaches the converged state the measured phase starts from:
 * - `converged`: every node starts with the signed claims of all others already in its table
 *   (`Membership.adoptView`), the state a real join converges to; cheap (no N² join exchange).
 * - `join`: every node really joins (through up to three running nodes) until all see all.
 * `join` the scenario always joins for real: its bootstrap is what it measures.
 */
export type WarmupMode = 'converged' | 'join'

export interface MembershipRunOptions {
  nodes: number
  seed: number
  scenario: MembershipScenarioName
  /** Random loss during the measured phase. Default 0.05 for `loss`, 0 for the others. */
  lossRate?: number
  /** Length of the measured phase (after warm-up), in simulated seconds. Default per scenario. */
  durationS?: number
  /** Default `converged` (ignored by the `join` scenario, which always joins for real). */
  warmup?: WarmupMode
  /** Membership configuration of every node. Default lanConfig(). */
  config?: MembershipConfig
  /** Default lanNetwork(). */
  network?: NetworkModel
  /** Called about once per simulated second (and at phase changes). */
  onProgress?: (p: Progress) => void
  /** Called once with the simulation before it runs (e.g. to record the trace to a file). */
  onSimulation?: (sim: Simulation) => void
}

export interface Progress {
  phase: 'warmup' | 'run' | 'check'
  simMs: number
  /** Where the run will end (warm-up is open-ended: its cap until it converges). */
  endMs: number
  heapMB: number
}

export interface MembershipReport {
  nodes: number
  seed: number
  scenario: MembershipScenarioName
  network: string
  lossRate: number
  /** Measured phase, simulated seconds. */
  durationS: number
  /** How the warm-up reached the converged state (`join` for the join scenario). */
  warmup: WarmupMode
  /** Simulated time until every node saw every other alive (before faults start). */
  warmupMs: number | null
  traceHash: string
  traceRecords: number
  /** Crashes whose detection was measured. */
  detectSamples: number
  detectFirstP50Ms: number | null
  detectFirstP99Ms: number | null
  detectAllP50Ms: number | null
  detectAllP99Ms: number | null
  /** Crashes that some live node still did not know dead at the end of the run. */
  undetected: number
  disseminationP50Ms: number | null
  disseminationP99Ms: number | null
  falseDeaths: number
  falseDeathsPerHour: number
  falseSuspicions: number
  /** DESIGN.md invariant 7 (deadStaysDead checker). */
  invariant7Violations: number
  /** join: from the first join until every node sees every node alive. */
  joinAllSeeAllMs: number | null
  /** partition: from heal until every node sees every node alive again. */
  healConvergeMs: number | null
  /** pause: pauses after which the paused node itself was declared dead by someone. */
  pausedDeclaredDead: number | null
  msgsPerNodePerSecMean: number
  msgsPerNodePerSecMax: number
  bytesPerNodePerSecMean: number
  bytesPerNodePerSecMax: number
  bytesSentPerNodePerSecMean: number
  /** Whole-run figures per `layer/type`: messages and bytes sent per node per second. */
  byType: Record<string, { msgsPerNodePerSec: number; bytesPerMsg: number }>
  dropped: Record<string, number>
  /** Frames the machines rejected as malformed (sum of their RejectionCounters). */
  rejections: number
  simSeconds: number
  wallSeconds: number
  simSecondsPerWallSecond: number
  /** CPU time (user + system) of this process during the simulation loop, s. */
  cpuSeconds: number
  /** Simulated seconds per CPU second: the speed figure that a busy shared machine does not skew. */
  simSecondsPerCpuSecond: number
  /** Simulated seconds per wall second of the measured phase alone (bootstrap excluded). */
  phaseSimSecondsPerWallSecond: number
  /** Largest V8 heap in use seen during the run, MB. */
  heapMB: number
  /** The first few violations, for the readable report. */
  examples: string[]
}
