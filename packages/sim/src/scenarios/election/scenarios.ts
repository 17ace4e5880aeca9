/**
 * The election scenarios of issue 3. Each injects one kind of fault, several times where that
 * gives a failover distribution, and returns with all faults stopped (partitions healed,
 * crashed nodes restarted) so the run can end with a liveness phase (invariant 6).
 *
 * A scenario only injects faults and waits; what happened is read from the trace afterwards.
 * Waits are bounded (`waitMaxMs`): a run that does not converge moves on, and the checkers and
 * figures report it.
 */
import type { NodeId } from '@conclave/core'
import type { ElectionRun, ElectionRunInit } from './harness.js'

export interface ScenarioOptions {
  /** How many times to repeat the fault (failover samples). Default 5. */
  readonly repeats: number
  /** Longest wait for a leader after a fault, ms. Default 10_000. */
  readonly waitMaxMs: number
  /**
   * Before each crash, wait a uniform draw from [0, crashJitterMs) ms (harness random stream).
   * Default 0: the crash comes a fixed time after the previous agreement, so it falls at about
   * the same phase of the leader's heartbeat period every time (≈ 40 ms into Conclave's 120 ms,
   * ≈ 0 ms into the baselines' 50 ms); a jitter that is a multiple of both periods (600 ms)
   * makes the phase uniform, as for a crash at an arbitrary time. 0 draws nothing, so traces
   * without it are unchanged.
   */
  readonly crashJitterMs?: number
  /**
   * Paired comparisons: a crash that hits the acting global leader waits for the leader's next
   * heartbeat round (LEADER_ROUND_TYPES) and comes exactly `crashPhasesMs[k mod length]` ms after
   * that round was sent (+ at most ElectionRun's ROUND_POLL_MS), k counting this run's global
   * failover episodes. The same list gives every algorithm the same crash phases, so a
   * crash → known difference is the algorithms' and not the phase draws'. Phases should be below
   * the heartbeat period (a later one falls after the next round). Unset or empty: no waiting
   * (traces unchanged); when set, crashJitterMs is not drawn for those crashes.
   */
  readonly crashPhasesMs?: readonly number[]
}

export interface Scenario {
  readonly name: string
  readonly summary: string
  /** Overrides of the run's set-up (clock drift, ...). */
  readonly init?: (rho: number) => Partial<ElectionRunInit>
  /** How many of `nodes` form the cluster; the scenario starts the rest (growth). Default: all. */
  readonly initialNodes?: (nodes: number) => number
  run(run: ElectionRun, opts: ScenarioOptions): void
}

const none: ReadonlySet<NodeId> = new Set()

/** The current global leader, waiting for one if needed. */
function leaderNow(run: ElectionRun, opts: ScenarioOptions): { id: NodeId; term: number } | undefined {
  run.runUntilAgreed(opts.waitMaxMs)
  return run.agreedLeader() ?? run.actingLeader()
}

function pick<T>(run: ElectionRun, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[run.rng.int(items.length)]
}

/** Random sample of k distinct items (harness stream). */
function sample<T>(run: ElectionRun, items: readonly T[], k: number): T[] {
  const pool = [...items]
  const out: T[] = []
  while (out.length < k && pool.length > 0) {
    const i = run.rng.int(pool.length)
    out.push(pool[i] as T)
    pool.splice(i, 1)
  }
  return out
}

/** The shard a node leads (Conclave only), with the shard's other voters. */
function ledShard(
  run: ElectionRun,
  id: NodeId,
  shardMap: () => Map<number, NodeId[]>,
): { shard: number; term: number; members: NodeId[] } | undefined {
  const sl = run.subject(id)?.shardLeader?.()
  if (sl === undefined || sl.id !== id) return undefined
  const voters = shardMap().get(sl.shard) ?? []
  return { shard: sl.shard, term: sl.term, members: voters.filter((v) => v !== id && run.sim.isUp(v)) }
}

/** Computes the shard map at most once (it asks every node). */
function lazyShardMap(run: ElectionRun): () => Map<number, NodeId[]> {
  let map: Map<number, NodeId[]> | undefined
  return () => {
    map ??= run.shardMapNow()
    return map
  }
}

/** Crash `victims` (one of them may be the global leader) and record the failover episodes. */
function crashAndMeasure(
  run: ElectionRun,
  opts: ScenarioOptions,
  victims: readonly NodeId[],
  what: string,
): void {
  const jitterMs = opts.crashJitterMs ?? 0
  const phases = opts.crashPhasesMs ?? []
  const before = phases.length > 0 ? (run.agreedLeader() ?? run.actingLeader()) : undefined
  if (before !== undefined && victims.includes(before.id)) {
    const k = run.episodes.filter((e) => e.kind === 'global').length
    if (run.runToNextRound(before.id, opts.waitMaxMs) !== undefined)
      run.sim.runFor(phases[k % phases.length] as number)
  } else if (jitterMs > 0) run.sim.runFor(run.rng.float() * jitterMs)
  const leader = run.agreedLeader() ?? run.actingLeader()
  const leaderHit = leader !== undefined && victims.includes(leader.id)
  const map = lazyShardMap(run)
  const shards = victims.map((v) => ledShard(run, v, map)).filter((s) => s !== undefined)
  const handle = leaderHit
    ? run.beginEpisode({ kind: 'global', what, minTerm: leader.term + 1, ignore: none })
    : undefined
  for (const s of shards) {
    run.beginEpisode({
      kind: 'shard',
      what,
      minTerm: s.term + 1,
      ignore: none,
      shard: s.shard,
      members: s.members.filter((m) => !victims.includes(m)),
    })
  }
  for (const v of victims) run.crash(v)
  run.runUntilAgreed(opts.waitMaxMs, leaderHit ? leader.term + 1 : 0)
  if (handle !== undefined) run.endEpisode(handle)
}

function restartAll(run: ElectionRun, ids: readonly NodeId[]): void {
  for (const id of ids) if (!run.sim.isUp(id)) run.sim.restart(id)
}

const crashGlobalLeader: Scenario = {
  name: 'crash-global-leader',
  summary: 'crash the global leader; restart it 1 s after a new leader is known to all',
  run(run, opts) {
    for (let i = 0; i < opts.repeats; i++) {
      const l = leaderNow(run, opts)
      if (l === undefined) return
      crashAndMeasure(run, opts, [l.id], 'crash global leader')
      run.sim.runFor(1000)
      restartAll(run, [l.id])
      run.runUntilAgreed(opts.waitMaxMs)
      run.sim.runFor(1000)
    }
  },
}

const crashShardLeader: Scenario = {
  name: 'crash-shard-leader',
  summary: 'crash a shard leader that is not the global leader (baselines: a random follower)',
  run(run, opts) {
    for (let i = 0; i < opts.repeats; i++) {
      const l = leaderNow(run, opts)
      const map = lazyShardMap(run)
      const candidates = run.activeIds().filter((id) => id !== l?.id && ledShard(run, id, map) !== undefined)
      const victim = pick(
        run,
        candidates.length > 0 ? candidates : run.activeIds().filter((id) => id !== l?.id),
      )
      if (victim === undefined) return
      crashAndMeasure(run, opts, [victim], 'crash shard leader')
      run.sim.runFor(1000)
      restartAll(run, [victim])
      run.sim.runFor(1000)
    }
  },
}

/** Split off `side` (about a third) for holdMs after the majority agrees, then heal. */
function partitionOnce(run: ElectionRun, opts: ScenarioOptions, withLeader: boolean, what: string): void {
  const l = leaderNow(run, opts)
  if (l === undefined) return
  const others = run.ids.filter((id) => id !== l.id)
  const k = Math.max(1, Math.floor(run.ids.length / 3) - (withLeader ? 1 : 0))
  const side = new Set([...sample(run, others, k), ...(withLeader ? [l.id] : [])])
  const rest = run.ids.filter((id) => !side.has(id))
  const handle = withLeader
    ? run.beginEpisode({ kind: 'global', what, minTerm: l.term + 1, ignore: side })
    : undefined
  run.partition([...side], rest)
  if (withLeader) {
    run.runUntilAgreed(opts.waitMaxMs, l.term + 1, side)
    if (handle !== undefined) run.endEpisode(handle)
  }
  run.sim.runFor(2000)
  run.sim.heal()
  run.runUntilAgreed(opts.waitMaxMs)
  run.sim.runFor(1000)
}

const partitionMinority: Scenario = {
  name: 'partition-minority',
  summary: 'cut the global leader off with a third of the nodes; heal 2 s after the majority agrees',
  run(run, opts) {
    for (let i = 0; i < opts.repeats; i++) partitionOnce(run, opts, true, 'leader on minority side')
  },
}

const partitionMajority: Scenario = {
  name: 'partition-majority',
  summary: 'cut a third of the nodes (not the leader) off for 2 s, then heal: no leader change is needed',
  run(run, opts) {
    for (let i = 0; i < opts.repeats; i++) partitionOnce(run, opts, false, 'minority without leader')
  },
}

const bridge: Scenario = {
  name: 'bridge',
  summary: 'split into A (with the leader) and B, joined only through a 10% bridge, for 3 s',
  run(run, opts) {
    for (let i = 0; i < Math.min(opts.repeats, 3); i++) {
      const l = leaderNow(run, opts)
      if (l === undefined) return
      const others = run.ids.filter((id) => id !== l.id)
      const bridgeNodes = new Set(sample(run, others, Math.max(1, Math.floor(run.ids.length / 10))))
      const rest = others.filter((id) => !bridgeNodes.has(id))
      const b = new Set(sample(run, rest, Math.floor(rest.length / 2)))
      const a = run.ids.filter((id) => !b.has(id) && !bridgeNodes.has(id))
      run.partition(a, [...b])
      run.sim.runFor(3000)
      run.sim.heal()
      run.runUntilAgreed(opts.waitMaxMs)
      run.sim.runFor(1000)
    }
  },
}

const flappingLink: Scenario = {
  name: 'flapping-link',
  summary: "the global leader's links to a random 30% flap: 300 ms down, 700 ms up, 10 times per repeat",
  run(run, opts) {
    for (let i = 0; i < Math.min(opts.repeats, 3); i++) {
      const l = leaderNow(run, opts)
      if (l === undefined) return
      const far = sample(
        run,
        run.ids.filter((id) => id !== l.id),
        Math.max(1, Math.floor(run.ids.length * 0.3)),
      )
      for (let f = 0; f < 10; f++) {
        run.partition([l.id], far)
        run.sim.runFor(300)
        run.sim.heal()
        run.sim.runFor(700)
      }
      run.runUntilAgreed(opts.waitMaxMs)
      run.sim.runFor(1000)
    }
  },
}

const pauseLeader: Scenario = {
  name: 'pause-leader',
  summary: 'freeze the global leader for 3 lease periods (at least 1 s); after it resumes it must not act',
  run(run, opts) {
    const pauseMs = Math.max(1000, 3 * run.init.subject.timing.leasePeriodMs)
    for (let i = 0; i < opts.repeats; i++) {
      const l = leaderNow(run, opts)
      if (l === undefined) return
      const handle = run.beginEpisode({
        kind: 'global',
        what: 'pause leader',
        minTerm: l.term + 1,
        ignore: new Set([l.id]),
      })
      run.sim.pause(l.id, pauseMs)
      run.runUntilAgreed(Math.min(opts.waitMaxMs, pauseMs), l.term + 1, new Set([l.id]))
      run.endEpisode(handle)
      run.sim.runUntil(Math.max(run.sim.nowMs, handle.episode.startMs + pauseMs) + 1)
      run.runUntilAgreed(opts.waitMaxMs)
      run.sim.runFor(1000)
    }
  },
}

const clockDrift: Scenario = {
  name: 'clock-drift',
  summary: 'clocks drift up to 0.9ρ (±9000 ppm) with offsets up to 10 s; crash the global leader',
  init: (rho) => ({ driftPpmMax: rho * 0.9 * 1e6, offsetMsMax: 10_000 }),
  run: crashGlobalLeader.run,
}

const churn: Scenario = {
  name: 'churn',
  summary: 'every 400 ms one node leaves (graceful where supported, then stops) and a stopped one rejoins',
  run(run, opts) {
    const steps = opts.repeats * 5
    const stopped: NodeId[] = []
    for (let i = 0; i < steps; i++) {
      const l = run.agreedLeader() ?? run.actingLeader()
      // every fifth departure is the global leader: a planned handover under churn
      const victim =
        i % 5 === 4 && l !== undefined
          ? l.id
          : pick(
              run,
              run.activeIds().filter((id) => id !== l?.id),
            )
      if (victim !== undefined) {
        const m = run.subject(victim)
        const leaderHit = l !== undefined && victim === l.id
        const handle = leaderHit
          ? run.beginEpisode({
              kind: 'global',
              what: 'leader leaves',
              minTerm: l.term + 1,
              ignore: new Set([victim]),
            })
          : undefined
        m?.leave?.(run.sim.localNow(victim))
        run.sim.runFor(200)
        run.crash(victim)
        stopped.push(victim)
        if (handle !== undefined) {
          run.runUntilAgreed(opts.waitMaxMs, handle.episode.minTerm)
          run.endEpisode(handle)
        }
      }
      run.sim.runFor(200)
      if (stopped.length > 2) restartAll(run, stopped.splice(0, 1))
    }
    restartAll(run, stopped)
    run.runUntilAgreed(opts.waitMaxMs)
    run.sim.runFor(1000)
  },
}

/**
 * Growth: a small cluster (5 % of the nodes, at least 5) is formed, then the other nodes join, 20
 * every 100 ms; the global leader assigns them to shards with room and, once every shard is full,
 * splits (forms new shards from waiting joiners). The run waits (bounded by 20 × waitMaxMs) until
 * every node votes in a shard; the report's shardVotersMin/Max and nodesWithoutShard show the
 * result. No fault is injected: failover figures stay empty.
 */
const growth: Scenario = {
  name: 'growth',
  summary:
    'start with 5% of the nodes (≥ 5); the rest join, 20 per 100 ms; shards split to stay within 3–9 voters',
  initialNodes: (n) => Math.min(n, Math.max(5, Math.ceil(n / 20))),
  run(run, opts) {
    while (run.joiners.length > 0) {
      run.join(20)
      run.sim.runFor(100)
    }
    const deadline = run.sim.nowMs + 20 * opts.waitMaxMs
    while (run.sim.nowMs < deadline && run.nodesWithoutShard() > 0) run.sim.runFor(1000)
    run.sim.runFor(2000)
  },
}

const massFailure: Scenario = {
  name: 'mass-failure',
  summary: '30% of the nodes, the global leader among them, crash at once; restarted 2 s after recovery',
  run(run, opts) {
    for (let i = 0; i < Math.min(opts.repeats, 3); i++) {
      const l = leaderNow(run, opts)
      if (l === undefined) return
      const k = Math.max(1, Math.floor(run.ids.length * 0.3))
      const victims = [
        l.id,
        ...sample(
          run,
          run.ids.filter((id) => id !== l.id),
          k - 1,
        ),
      ]
      crashAndMeasure(run, opts, victims, 'mass failure')
      run.sim.runFor(2000)
      restartAll(run, victims)
      run.runUntilAgreed(opts.waitMaxMs)
      run.sim.runFor(1000)
    }
  },
}

const rollingRestart: Scenario = {
  name: 'rolling-restart',
  summary: 'restart up to 30 nodes one at a time (the global leader halfway), 300 ms down each',
  run(run, opts) {
    const count = Math.min(run.ids.length, 30)
    for (let i = 0; i < count; i++) {
      const l = leaderNow(run, opts)
      const victim =
        i === Math.floor(count / 2) && l !== undefined
          ? l.id
          : pick(
              run,
              run.activeIds().filter((id) => id !== l?.id),
            )
      if (victim === undefined) continue
      crashAndMeasure(run, opts, [victim], 'rolling restart')
      run.sim.runFor(300)
      restartAll(run, [victim])
      run.runUntilAgreed(opts.waitMaxMs)
      run.sim.runFor(300)
    }
  },
}

export const scenarios: readonly Scenario[] = [
  crashGlobalLeader,
  crashShardLeader,
  partitionMinority,
  partitionMajority,
  bridge,
  flappingLink,
  pauseLeader,
  clockDrift,
  churn,
  massFailure,
  rollingRestart,
  growth,
]

export function scenarioNamed(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name)
}
