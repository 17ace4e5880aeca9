/**
 * One swarm seed: a random cluster (size, clock drift within ρ, offsets) runs a random fault
 * schedule (the safety phase), then every fault stops — heal, loss off, crashed nodes restarted,
 * pauses run out — and a leader known to every live node must appear within a bound (the
 * liveness phase). All election invariants are checked over the whole run.
 *
 * Everything derives from (seed, nodesMax, unsafeBreak), so a failing seed replays exactly.
 */
import { createRng, type NodeId } from '@conclave/core'
import { checkElection } from '../checkers/election/index.js'
import type { ElectionViolation } from '../checkers/election/violation.js'
import { idsFor } from '../peer-ids.js'
import { ElectionRun } from '../scenarios/election/harness.js'
import { type Algo, type SubjectOptions, subjectFor } from '../scenarios/election/subjects.js'
import { type FaultAction, playFaults } from './fault-schedule.js'

export interface SwarmSeedOptions {
  readonly seed: number
  /** Cluster size is uniform in [3, nodesMax]. */
  readonly nodesMax: number
  readonly unsafeBreak?: SubjectOptions['unsafeBreak']
  readonly algo?: Algo
  /** Safety phase length, ms. Default 10_000. */
  readonly safetyMs?: number
  /** Liveness bound after faults stop, ms. Default 10_000. */
  readonly convergeBoundMs?: number
}

export interface SwarmSeedResult {
  readonly seed: number
  readonly nodes: number
  /** Safety violations (invariants 1–5). */
  readonly violations: ElectionViolation[]
  /** No first leader, or invariant 6 failed after faults stopped. */
  readonly livenessFailure: boolean
  readonly actions: FaultAction[]
  /** A founder-cap seed: only this many of the N expected nodes founded the cluster. */
  readonly foundersMax?: number
  /** A growth seed (few founders, the rest joined during the faults), and the shards splits added. */
  readonly growth: boolean
  readonly shardsAdded: number
  /** `grelay` frames sent (global heartbeats through relays; odd seeds relay from 4 shards). */
  readonly relayFrames: number
  readonly traceHash: string
  readonly simMs: number
  /** The finished run, for inspecting a failing seed (trace, faults, probes). */
  readonly run?: ElectionRun
}

export function runSwarmSeed(opts: SwarmSeedOptions): SwarmSeedResult {
  const rng = createRng(opts.seed ^ 0x5157a2d3)
  const nodes = 3 + rng.int(Math.max(1, opts.nodesMax - 2))
  const ids: NodeId[] = idsFor(nodes, opts.seed)
  // Growth seeds (1 in 4, Conclave): 3–9 founders (one shard), the others join during the
  // faults, so shards fill up and split (global log `form`/`add`) under crashes and partitions.
  const growth = (opts.algo ?? 'conclave') === 'conclave' && nodes > 9 && rng.int(4) === 0
  const initialNodes = growth ? 3 + rng.int(7) : nodes
  // Relay seeds (odd seeds): global heartbeats go through relays from 4 shards on (≈ 16
  // nodes; the preset relays only from 17 shards, ≈ 85 nodes), so small clusters test them too.
  const relay = opts.seed % 2 === 1
  // Gossip-peer seeds (every third): gossip, anti-entropy and ping-req helpers pick among 4
  // gossip peers plus the ring neighbours instead of any member (the `local` preset uses 8).
  const gossipPeers = opts.seed % 3 === 0
  // Founder-cap seeds (every fifth, Conclave, no growth): all nodes expect N, but only the F
  // smallest ids found the cluster (`bootstrapFoundersMax`, the `local` preset's 25) and the
  // others join it as newcomers while the faults run. Drawn from a second PRNG, so the other
  // seeds replay exactly as before.
  const foundersMax =
    (opts.algo ?? 'conclave') === 'conclave' && !growth && nodes > 9 && opts.seed % 5 === 4
      ? 3 + createRng(opts.seed ^ 0x0f0d3e25).int(nodes - 3)
      : undefined
  const subject = subjectFor(opts.algo ?? 'conclave')({
    ids,
    ...(opts.unsafeBreak ? { unsafeBreak: opts.unsafeBreak } : {}),
    ...(growth ? { initialNodes } : {}),
    ...(foundersMax !== undefined ? { shardMap: { bootstrapFoundersMax: foundersMax } } : {}),
    ...(relay ? { global: { relayMinShards: 1, rankedCandidatesMax: 2 } } : {}),
    ...(gossipPeers ? { membership: { gossipPeers: 4 } } : {}),
  })
  const rho = subject.timing.driftBound
  const run = new ElectionRun({
    subject,
    ids,
    seed: opts.seed,
    driftPpmMax: rng.float() * 0.9 * rho * 1e6,
    offsetMsMax: rng.int(10_000),
    ...(growth ? { initialNodes } : {}),
  })
  const convergeBoundMs = opts.convergeBoundMs ?? 10_000
  const first = run.runUntilAgreed(20_000)
  let actions: FaultAction[] = []
  if (first !== undefined) {
    actions = playFaults(run, rng, { durationMs: opts.safetyMs ?? 10_000, gapMinMs: 50, gapMaxMs: 800 })
  }
  // Liveness phase: stop every fault, let pauses run out; joiners still waiting join now.
  run.join(run.joiners.length)
  run.sim.heal()
  run.sim.setLoss(0)
  for (const id of ids) if (!run.sim.isUp(id)) run.sim.restart(id)
  while (ids.some((id) => run.sim.isPaused(id))) run.sim.runFor(50)
  const faultsEndMs = run.sim.nowMs
  run.runUntilAgreed(convergeBoundMs)
  run.sim.runFor(300)
  const all = checkElection(run.sim.trace, {
    faults: run.sim.faults,
    trueTimeOf: (id, localMs) => run.sim.trueTimeOf(id, localMs),
    endMs: run.sim.nowMs,
    leasePeriodMs: subject.timing.leasePeriodMs,
    driftBound: rho,
    faultsEndMs,
    convergeBoundMs,
    probes: run.probes,
    fenceWrites: run.resource.log,
    quorumOf: (side, t, bridge) => run.quorumOf(side, t, bridge),
  })
  return {
    seed: opts.seed,
    nodes,
    violations: all.filter((v) => v.invariant !== 6),
    livenessFailure: first === undefined || all.some((v) => v.invariant === 6),
    actions,
    growth,
    ...(foundersMax !== undefined && foundersMax < nodes ? { foundersMax } : {}),
    shardsAdded: run.sim.trace.filter(
      (r) => r.event.kind === 'shardmap:commit' && r.event.change.startsWith('global add shard'),
    ).length,
    relayFrames: [...run.sim.accounting.perNode.values()].reduce(
      (n, t) => n + (t.byType.get('global/grelay')?.sentMsgs ?? 0),
      0,
    ),
    traceHash: run.sim.traceHash(),
    simMs: run.sim.nowMs,
    run,
  }
}
