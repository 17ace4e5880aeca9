/**
 * The local preset's failover on the in-test network (no processes, no scheduler): 25 nodes,
 * the global leader crashed `crashes` times (restarted before the next crash, at a random phase
 * of the heartbeat), at a fixed one-way delay plus a uniform extra. Per crash: from the crash to
 * the last live node's knowing the new leader, and how many global terms were elected (> 1 is a
 * needless leader change). Then a quiet minute: the share of time some node holds the global
 * lease (isLeader), its gaps, and any leader change. Diagnostic: the real figure is `pnpm bench
 * failover`; this isolates the protocol timing from the host. Prints one JSON line per delay
 * range (one-way 1 ms + uniform [0, jitterMs)); asserts nothing. FO_SLACK, FO_STEP, FO_TG, FO_HB,
 * FO_MARGIN override the preset's global rankSlackMs, rankStepMs, electionTimeoutMinMs,
 * heartbeatIntervalMs, leaseMarginMs; FO_SHB, FO_STMIN, FO_STMAX the shard group's
 * heartbeatIntervalMs, electionTimeoutMinMs, electionTimeoutMaxMs; FO_TGMAX the global
 * electionTimeoutMaxMs; FO_PROBE the membership probeIntervalMs. Run:
 *   node --conditions=conclave-source --import tsx packages/core/src/node/failover-net.bench.ts [jitterMs...]
 */
import { localConclaveConfig } from './conclave-config.js'
import { TestNet, testIds } from './test-net.js'

function configured() {
  const c = localConclaveConfig()
  const env = (k: string) => (process.env[k] === undefined ? undefined : Number(process.env[k]))
  c.global.rankSlackMs = env('FO_SLACK') ?? c.global.rankSlackMs
  c.global.rankStepMs = env('FO_STEP') ?? c.global.rankStepMs
  c.global.electionTimeoutMinMs = env('FO_TG') ?? c.global.electionTimeoutMinMs
  c.global.heartbeatIntervalMs = env('FO_HB') ?? c.global.heartbeatIntervalMs
  c.global.leaseMarginMs = env('FO_MARGIN') ?? c.global.leaseMarginMs
  c.global.electionTimeoutMaxMs = env('FO_TGMAX') ?? c.global.electionTimeoutMaxMs
  c.shard.heartbeatIntervalMs = env('FO_SHB') ?? c.shard.heartbeatIntervalMs
  c.shard.electionTimeoutMinMs = env('FO_STMIN') ?? c.shard.electionTimeoutMinMs
  c.shard.electionTimeoutMaxMs = env('FO_STMAX') ?? c.shard.electionTimeoutMaxMs
  c.membership.probeIntervalMs = env('FO_PROBE') ?? c.membership.probeIntervalMs
  return c
}

function run(latencyMs: number, jitterMs: number, seeds: number, crashesPerSeed: number) {
  const failovers: number[] = []
  let extraTerms = 0
  let heldMs = 0
  let quietMs = 0
  let gaps = 0
  let quietChanges = 0
  for (let seed = 1; seed <= seeds; seed++) {
    const net = new TestNet({
      ids: testIds(25),
      config: configured(),
      seed,
      latencyMs,
      latencyJitterMs: jitterMs,
    })
    net.runFor(5000)
    let x = seed * 7919
    const rand = () => {
      x = (x * 48271) % 2147483647
      return x / 2147483647
    }
    for (let c = 0; c < crashesPerSeed; c++) {
      const leader = net.globalLeaders()[0]
      if (leader === undefined) {
        net.runFor(500)
        continue
      }
      const oldTerm = net.machine(leader).leader()?.term ?? 0
      const crashMs = net.nowMs
      const mark = net.trace.length
      net.crash(leader)
      net.runFor(2500)
      const live = net.live()
      const known = new Map<string, number>()
      const terms = new Set<number>()
      for (const e of net.trace.slice(mark)) {
        if (e.kind === 'global:leader' && e.term > oldTerm) terms.add(e.term)
        if (e.kind === 'global:known' && e.term > oldTerm && e.leader !== leader && !known.has(e.node))
          known.set(e.node, e.trueMs - crashMs)
      }
      if (live.every((id) => known.has(id))) failovers.push(Math.max(...live.map((id) => known.get(id) ?? 0)))
      else failovers.push(Number.POSITIVE_INFINITY)
      extraTerms += Math.max(0, terms.size - 1)
      net.restart(leader)
      net.runFor(1000 + Math.floor(rand() * 1000))
    }
    // A quiet minute: is the lease held continuously, and does leadership stay put?
    const mark = net.trace.length
    let was = true
    for (let t = 0; t < 60_000; t++) {
      net.runFor(1)
      const held = net.globalLeaders().length > 0
      quietMs++
      if (held) heldMs++
      else if (was) gaps++
      was = held
    }
    quietChanges += net.trace.slice(mark).filter((e) => e.kind === 'global:leader').length
  }
  const s = [...failovers].sort((a, b) => a - b)
  const q = (p: number) => s[Math.max(0, Math.ceil(p * s.length) - 1)]
  const mean = s.reduce((a, b) => a + b, 0) / s.length
  return {
    latencyMs: `${latencyMs}-${latencyMs + jitterMs}`,
    crashes: s.length,
    p50: q(0.5),
    mean: Math.round(mean),
    p99: q(0.99),
    max: s.at(-1),
    extraTerms,
    leaseHeldPct: Math.round((10000 * heldMs) / quietMs) / 100,
    leaseGaps: gaps,
    quietLeaderChanges: quietChanges,
  }
}

const jitters = process.argv.slice(2).map(Number)
for (const j of jitters.length ? jitters : [0, 20]) console.log(JSON.stringify(run(1, j, 8, 9)))
