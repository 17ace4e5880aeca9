/**
 * The algorithms the election harness can run, behind one query surface. Conclave and the two
 * baselines (flat Raft, Bully) all emit `global:leader` / `global:known`, and all answer
 * isLeader / leader / fencingToken, so the same scenarios, checkers and figures apply to each.
 */
import {
  Bully,
  bullyConfig,
  ConclaveMachine,
  decodeClaimEntry,
  FlatRaft,
  flatRaftConfig,
  type GlobalConfig,
  lanConclaveConfig,
  type Machine,
  type Membership,
  type MembershipConfig,
  type NodeId,
  type ShardConfig,
  type ShardMapConfig,
  simSigner,
} from '@conclave/core'
import type { MachineFactory, Simulation } from '../../simulation.js'

/** What the harness asks of every elected-leader machine (ConclaveMachine's public API subset). */
export interface ElectionSubject extends Machine {
  isLeader(nowMs: number): boolean
  leader(): { id: NodeId; term: number } | undefined
  fencingToken(nowMs: number): number | undefined
  shardLeader?(): { shard: number; id: NodeId; term: number } | undefined
  /** Conclave only: which shard this node votes in (role 'observer' = none). */
  status?(nowMs: number): { shard: number | null; role: string }
  leave?(nowMs: number): void
}

export type Algo = 'conclave' | 'raft' | 'bully'

/**
 * The message types (`layer/type`, simulator accounting) that make up a leader's heartbeat round,
 * per algorithm: Conclave's global heartbeat (direct and through relays), flat Raft's heartbeat,
 * Bully's heartbeat and COORDINATOR. "The leader's last heartbeat round" means a message of one
 * of these sent by the leader, for `--crash-phase` (scenarios.ts) and `--phases`.
 */
export const LEADER_ROUND_TYPES: Readonly<Record<Algo, readonly string[]>> = {
  conclave: ['global/gheartbeat', 'global/grelay'],
  raft: ['global/raft-heartbeat'],
  bully: ['global/bully-heartbeat', 'global/bully-coordinator'],
}

export interface SubjectOptions {
  /** Every node of the run (baselines need the full voter list up front). */
  readonly ids: readonly NodeId[]
  /** Test-only safety switch for Conclave (`config.unsafe.break`). */
  readonly unsafeBreak?: 'vote-commit' | 'lease' | 'persist'
  /**
   * Conclave: only the first `initialNodes` ids form the cluster (`bootstrapExpect`); the others
   * start later as joiners (seeds only) and get a shard from the global leader. Default: all.
   */
  readonly initialNodes?: number
  /** Conclave: global-group settings that differ from the LAN preset (the swarm's relay seeds). */
  readonly global?: Partial<GlobalConfig>
  /** Conclave: shard-group settings that differ from the LAN preset (`--timing raft-paper`). */
  readonly shard?: Partial<ShardConfig>
  /** Conclave: membership settings that differ from the LAN preset (the swarm's gossip-peer seeds). */
  readonly membership?: Partial<MembershipConfig>
  /** Conclave: shard-map settings that differ from the LAN preset (`--timing local`'s founders). */
  readonly shardMap?: Partial<ShardMapConfig>
  /**
   * Conclave: the founders' first boot starts from a converged membership view (every founder's
   * signed claim adopted by every founder, `Membership.adoptView`) instead of joining through
   * the seeds; a restarted founder and every later joiner join through the seeds for real.
   * The election layers start as they would once a real join converged (bootstrapExpect).
   */
  readonly convergedStart?: boolean
  /**
   * Baselines: run at this failure-detection timing instead of their own (Raft paper: 50 ms
   * heartbeats, 150–300 ms timeouts). `pnpm sim baseline --timing conclave` passes Conclave's
   * global-group timing (conclaveDetectionTiming), so both sides detect a dead leader alike.
   */
  readonly detection?: DetectionTiming
}

/**
 * How a leader's death is detected: heartbeat period, the randomized silence after which a
 * follower acts, and the bound the algorithm assumes for one election round trip.
 */
export interface DetectionTiming {
  readonly heartbeatIntervalMs: number
  readonly timeoutMinMs: number
  readonly timeoutMaxMs: number
  /**
   * Bully only: its ANSWER timeout (a round-trip bound, not a detection timeout); the
   * COORDINATOR timeout is BULLY_COORDINATOR_ROUND_TRIPS times it.
   */
  readonly roundTripBoundMs: number
}

/**
 * A baseline's own detection timing (its config defaults: the Raft paper's 50 ms heartbeats and
 * 150–300 ms timeouts) with the given round-trip bound (`--timing own-rtt`: Conclave's).
 */
export function baselineOwnTiming(algo: 'raft' | 'bully', roundTripBoundMs: number): DetectionTiming {
  if (algo === 'raft') {
    const c = flatRaftConfig()
    return {
      heartbeatIntervalMs: c.heartbeatIntervalMs,
      timeoutMinMs: c.electionTimeoutMinMs,
      timeoutMaxMs: c.electionTimeoutMaxMs,
      roundTripBoundMs,
    }
  }
  const c = bullyConfig()
  return {
    heartbeatIntervalMs: c.heartbeatIntervalMs,
    timeoutMinMs: c.leaderTimeoutMinMs,
    timeoutMaxMs: c.leaderTimeoutMaxMs,
    roundTripBoundMs,
  }
}

/** Bully's own defaults wait 200 ms for COORDINATOR after a 50 ms ANSWER bound: 4 bounds. */
export const BULLY_COORDINATOR_ROUND_TRIPS = 4

/**
 * Conclave's global-group detection timing (LAN preset unless given): the global heartbeat, the
 * global election timeout range, and as round-trip bound rankStepMs — the time Conclave itself
 * allows one LAN election round (PreVote + vote + shard-log commit) before the next-ranked
 * candidate starts (global-config.ts).
 */
export function conclaveDetectionTiming(global: GlobalConfig = lanConclaveConfig().global): DetectionTiming {
  return {
    heartbeatIntervalMs: global.heartbeatIntervalMs,
    timeoutMinMs: global.electionTimeoutMinMs,
    timeoutMaxMs: global.electionTimeoutMaxMs,
    roundTripBoundMs: global.rankStepMs,
  }
}

/**
 * Conclave at the baselines' Raft-paper timing (flat Raft's defaults: 50 ms heartbeats, 150–300 ms
 * election timeouts), in BOTH layers. The global lease derives from the global timeout,
 * D = 150·(1−ρ)/(1+ρ) − 20 ≈ 127 ms (ρ = 0.01), and a shard leader vouches for it only as far as
 * its own shard lease reaches (global-group.ts extendLease: `left + D − shardLease`, at least
 * D − one shard heartbeat − a round trip after the round's send). The lease is continuous only if
 * D > global heartbeat + shard heartbeat + delays: 127 > 50 + 50 + ≈ 10 leaves ≈ 17 ms. With the
 * LAN shard heartbeat (100 ms) it is not (127 < 150: the leader held no lease 26 % of the time at
 * 100 nodes), so the shard layer moves to 50 ms / 150–300 ms too (shard lease
 * 150·0.99/1.01 − 10 ≈ 137 ms). Everything else (rank step and slack, relay, margins) is LAN.
 */
export function raftPaperTiming(): { global: Partial<GlobalConfig>; shard: Partial<ShardConfig> } {
  const raft = flatRaftConfig()
  const timing = {
    heartbeatIntervalMs: raft.heartbeatIntervalMs,
    electionTimeoutMinMs: raft.electionTimeoutMinMs,
    electionTimeoutMaxMs: raft.electionTimeoutMaxMs,
  }
  return { global: { ...timing }, shard: { ...timing } }
}

/** The figures a subject's timing implies, for the checkers' bounds. */
export interface SubjectTiming {
  /** One lease period (invariant 5 window), ms. */
  readonly leasePeriodMs: number
  readonly driftBound: number
  /** The leader-death detection timing in use (the global group's, for Conclave). */
  readonly detection: Omit<DetectionTiming, 'roundTripBoundMs'>
}

export interface SubjectKind {
  readonly algo: Algo
  factory(id: NodeId): MachineFactory
  readonly timing: SubjectTiming
  /** Baselines have fixed membership: no joins of new ids, leave = crash. */
  readonly fixedMembership: boolean
  /**
   * Called once right after the first nodes were added (SubjectOptions.convergedStart): hands
   * each of them the converged view. Absent for subjects that start by joining.
   */
  startConverged?(sim: Simulation, ids: readonly NodeId[]): void
}

export function raftSubject(opts: SubjectOptions): SubjectKind {
  const d = opts.detection
  const config = flatRaftConfig(
    d === undefined
      ? {}
      : {
          heartbeatIntervalMs: d.heartbeatIntervalMs,
          electionTimeoutMinMs: d.timeoutMinMs,
          electionTimeoutMaxMs: d.timeoutMaxMs,
        },
  )
  return {
    algo: 'raft',
    fixedMembership: true,
    timing: {
      leasePeriodMs: config.electionTimeoutMinMs,
      driftBound: 0.01,
      detection: {
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        timeoutMinMs: config.electionTimeoutMinMs,
        timeoutMaxMs: config.electionTimeoutMaxMs,
      },
    },
    factory: (id) => (ctx) =>
      new FlatRaft({ id, voters: opts.ids, rng: ctx.rng, config, stored: ctx.stored }, ctx.nowMs),
  }
}

export function bullySubject(opts: SubjectOptions): SubjectKind {
  const d = opts.detection
  const config = bullyConfig(
    d === undefined
      ? {}
      : {
          heartbeatIntervalMs: d.heartbeatIntervalMs,
          leaderTimeoutMinMs: d.timeoutMinMs,
          leaderTimeoutMaxMs: d.timeoutMaxMs,
          answerTimeoutMs: d.roundTripBoundMs,
          coordinatorTimeoutMs: BULLY_COORDINATOR_ROUND_TRIPS * d.roundTripBoundMs,
        },
  )
  const peers = opts.ids.map((id) => ({ id, priority: 0 }))
  return {
    algo: 'bully',
    fixedMembership: true,
    timing: {
      leasePeriodMs: config.leaderTimeoutMinMs,
      driftBound: 0.01,
      detection: {
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        timeoutMinMs: config.leaderTimeoutMinMs,
        timeoutMaxMs: config.leaderTimeoutMaxMs,
      },
    },
    factory: (id) => (ctx) => new Bully({ id, peers, rng: ctx.rng, config, stored: ctx.stored }, ctx.nowMs),
  }
}

/** How many bootstrap seeds each Conclave node dials (the first ids of the run). */
const CONCLAVE_SEEDS = 3

export function conclaveSubject(opts: SubjectOptions): SubjectKind {
  const config = lanConclaveConfig()
  if (opts.unsafeBreak !== undefined) config.unsafe = { break: opts.unsafeBreak }
  if (opts.global) config.global = { ...config.global, ...opts.global }
  if (opts.shard) config.shard = { ...config.shard, ...opts.shard }
  if (opts.membership) config.membership = { ...config.membership, ...opts.membership }
  if (opts.shardMap) config.shardMap = { ...config.shardMap, ...opts.shardMap }
  const signer = simSigner()
  const seeds = opts.ids.slice(0, CONCLAVE_SEEDS)
  const initial = opts.initialNodes ?? opts.ids.length
  const founders = new Set(opts.ids.slice(0, initial))
  const converged = opts.convergedStart === true
  const membershipOf = (sim: Simulation, id: NodeId): Membership =>
    (sim.machine<ConclaveMachine>(id) as ConclaveMachine).membership as Membership
  return {
    algo: 'conclave',
    fixedMembership: false,
    timing: {
      leasePeriodMs: config.global.electionTimeoutMinMs,
      driftBound: config.global.driftBound,
      detection: {
        heartbeatIntervalMs: config.global.heartbeatIntervalMs,
        timeoutMinMs: config.global.electionTimeoutMinMs,
        timeoutMaxMs: config.global.electionTimeoutMaxMs,
      },
    },
    factory: (id) => (ctx) =>
      new ConclaveMachine(
        {
          id,
          bootEpoch: ctx.bootEpoch,
          rng: ctx.rng,
          signer,
          config,
          stored: ctx.stored,
          bootstrap: founders.has(id)
            ? {
                bootstrapExpect: initial,
                // A converged founder's first boot has its view already (startConverged).
                seeds: converged && ctx.bootEpoch === 0 ? [] : seeds.filter((s) => s !== id),
              }
            : { seeds: seeds.filter((s) => s !== id) },
        },
        ctx.nowMs,
      ),
    ...(converged
      ? {
          startConverged(sim: Simulation, ids: readonly NodeId[]): void {
            // Each claim decoded once and shared read-only by every table (as the membership
            // scenarios' Cluster.startConverged does).
            const frameBytesMax = config.membership.frameBytesMax
            const claims = ids.map((id) =>
              decodeClaimEntry(membershipOf(sim, id).ownClaimEntry(), frameBytesMax),
            )
            for (const id of ids)
              sim.act<ConclaveMachine, number>(id, (m, nowMs) =>
                (m.membership as Membership).adoptView(claims, nowMs),
              )
          },
        }
      : {}),
  }
}

export function subjectFor(algo: Algo): (opts: SubjectOptions) => SubjectKind {
  return algo === 'conclave' ? conclaveSubject : algo === 'raft' ? raftSubject : bullySubject
}
