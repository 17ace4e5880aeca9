/**
 * `pnpm demo` (through scripts/demo.mjs) and `pnpm sim demo`: a narrated simulation. N nodes
 * form a cluster, one crashes, and the story is told from the trace: who noticed first and how,
 * how the news spread, what it cost, and a 2 s stall of another node that nobody mistakes for a
 * death. Everything printed is measured in the run.
 */
import { parseArgs } from 'node:util'
import type { NodeId } from '@conclave/core'
import { lanNetwork, MembershipCluster, short, type TraceRecord, type Traffic } from '@conclave/sim'
import { ProgressBar } from '../progress.js'
import { type Command, UsageError } from './command.js'

const usage = `pnpm demo [--nodes N] [--seed S]      (or: pnpm sim demo …)
  --nodes N   simulated nodes (default 500; 1000 takes a few minutes: the bootstrap is N²)
  --seed S    seed (default 7)`

export const demoCommand: Command = {
  name: 'demo',
  summary: 'a narrated simulation: N nodes, one crashes, who noticed when, how the news spread, what it cost',
  usage,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: { nodes: { type: 'string', default: '500' }, seed: { type: 'string', default: '7' } },
      strict: true,
    })
    const n = Number(values.nodes)
    const seed = Number(values.seed)
    if (!Number.isInteger(n) || n < 5 || n > 20_000)
      throw new UsageError('--nodes must be an integer in 5..20000')
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError('--seed must be a non-negative integer')
    const say = (s = '') => io.out(s)
    const wall0 = performance.now()
    const cluster = new MembershipCluster({ seed, network: lanNetwork(), idsTotal: n })
    const sim = cluster.sim
    const t = (ms: number) => `${(ms / 1000).toFixed(3)} s`

    say(`Conclave membership demo: ${n} simulated nodes running the real SWIM + Lifeguard state machine`)
    say(
      '(packages/core/src/membership), on a simulated LAN: one-way latency 0.2–2 ms, virtual time, seed ' +
        seed +
        '.',
    )
    say()
    say(
      `1. Bootstrap. Each node starts within the first second and joins through up to 3 nodes already running.`,
    )
    const ids = cluster.ids
    ids.forEach((id, i) => {
      sim.schedule(i === 0 ? 0 : cluster.rng.float() * 1000, () => {
        cluster.start(id, cluster.pick(cluster.live(), 3))
      })
    })
    const bar = new ProgressBar(io, 'bootstrap')
    sim.runUntil(1000)
    while (!cluster.allSeeAll() && sim.nowMs < 120_000) {
      sim.runFor(100)
      bar.update(sim.nowMs / 120_000, `t=${t(sim.nowMs)}`)
    }
    bar.done()
    if (!cluster.allSeeAll()) {
      say(`   After ${t(sim.nowMs)} not every node sees every other one yet; the demo goes on anyway.`)
    } else say(`   At ${t(sim.nowMs)} (simulated) every node sees all ${n} members alive.`)

    // Steady state: 5 s of traffic.
    const s0 = sim.accounting.snapshot()
    const steadyFrom = sim.nowMs
    sim.runFor(5000)
    const steady = perNode(s0, sim.accounting.snapshot(), (sim.nowMs - steadyFrom) / 1000)
    say()
    say(`2. Steady state (5 simulated s). Each node probes a few peers and gossips on the side:`)
    say(
      `   per node ${steady.msgs.toFixed(1)} messages/s and ${(steady.bytes / 1024).toFixed(2)} KB/s (sent + received, mean).`,
    )

    // The crash.
    const victim = cluster.pick(cluster.live(), 1)[0] as NodeId
    const crashAt = sim.nowMs
    const news: TraceRecord[] = []
    const off = sim.onEvent((r) => {
      if (r.event.kind === 'member:state' && r.event.member === victim) news.push(r)
    })
    const c0 = sim.accounting.snapshot()
    cluster.crash(victim)
    say()
    say(`3. At t = ${t(crashAt)} node ${short(victim)} crashes (no goodbye; its messages just stop).`)
    const others = cluster.live().length
    const knowsDead = new Map<NodeId, number>()
    let lastReport = 0
    const spread: string[] = []
    for (let step = 0; step < 300 && knowsDead.size < others; step++) {
      sim.runFor(50)
      for (const r of news)
        if (r.event.kind === 'member:state' && r.event.state === 'dead' && !knowsDead.has(r.event.node))
          knowsDead.set(r.event.node, r.trueMs)
      const pct = knowsDead.size / others
      if (knowsDead.size > 0 && (pct - lastReport >= 0.1 || knowsDead.size === others)) {
        lastReport = pct
        const width = 40
        spread.push(
          `   +${String(Math.round(sim.nowMs - crashAt)).padStart(5)} ms ${'█'.repeat(Math.round(pct * width)).padEnd(width)} ${knowsDead.size} nodes (${(pct * 100).toFixed(0)}%)`,
        )
      }
    }
    off()
    const firstSuspect = news.find((r) => r.event.kind === 'member:state' && r.event.state === 'suspect')
    const firstDead = news.find((r) => r.event.kind === 'member:state' && r.event.state === 'dead')
    if (firstSuspect?.event.kind === 'member:state') {
      const e = firstSuspect.event
      const how =
        e.via === e.node
          ? 'its own probe went unanswered, directly and through helpers'
          : `it heard it from ${short(e.via)}`
      say(
        `   +${(firstSuspect.trueMs - crashAt).toFixed(1)} ms: ${short(e.node)} is the first to suspect it (${how}).`,
      )
      const suspecters = new Set(
        news
          .filter(
            (r) =>
              r.event.kind === 'member:state' && r.event.state === 'suspect' && r.event.via === r.event.node,
          )
          .map((r) => r.event.node),
      )
      say(
        `   ${suspecters.size} node(s) suspected it first-hand; independent confirmations shorten the suspicion timeout (Lifeguard §4).`,
      )
    } else say('   Nobody suspected it within 15 s: a bug in the membership layer.')
    if (firstDead?.event.kind === 'member:state') {
      say(
        `   +${(firstDead.trueMs - crashAt).toFixed(1)} ms: ${short(firstDead.event.node)} declares it dead; the news spreads by gossip:`,
      )
      for (const s of spread) say(s)
    }
    const done = knowsDead.size === others
    const lastKnew = Math.max(0, ...knowsDead.values())
    say(
      done
        ? `   All ${others} live nodes knew it dead ${(lastKnew - crashAt).toFixed(1)} ms after the crash.`
        : `   After ${t(sim.nowMs - crashAt)} only ${knowsDead.size} of ${others} live nodes knew it dead.`,
    )
    const during = perNode(c0, sim.accounting.snapshot(), (sim.nowMs - crashAt) / 1000)
    say()
    say(
      `4. What it cost: during detection each node averaged ${during.msgs.toFixed(1)} messages/s and ${(during.bytes / 1024).toFixed(2)} KB/s`,
    )
    say(
      `   (steady state: ${steady.msgs.toFixed(1)} messages/s, ${(steady.bytes / 1024).toFixed(2)} KB/s). By message type over the whole run:`,
    )
    for (const [k, v] of sim.accounting.byType()) {
      say(
        `   ${k.padEnd(28)} ${v.sentMsgs.toString().padStart(10)} msgs  ${(v.sentBytes / Math.max(1, v.sentMsgs)).toFixed(0).padStart(5)} B each`,
      )
    }

    // A stall that must not be taken for a death.
    const sleeper = cluster.pick(cluster.live(), 1)[0] as NodeId
    const pauseAt = sim.nowMs
    const accused: TraceRecord[] = []
    const off2 = sim.onEvent((r) => {
      if (r.event.kind === 'member:state' && r.event.state === 'dead' && r.event.member !== victim)
        accused.push(r)
    })
    sim.pause(sleeper, 2000)
    sim.runFor(12_000)
    off2()
    say()
    say(
      `5. At t = ${t(pauseAt)} node ${short(sleeper)} freezes for 2 s (a GC stall or SIGSTOP), then resumes.`,
    )
    const sleeperDead = accused.filter((r) => r.event.kind === 'member:state' && r.event.member === sleeper)
    const healthyDead = new Set(
      accused
        .filter((r) => r.event.kind === 'member:state' && r.event.member !== sleeper)
        .map((r) => (r.event.kind === 'member:state' ? r.event.member : '')),
    )
    say(
      `   Healthy nodes declared dead because of it: ${healthyDead.size}. The sleeper itself: ${sleeperDead.length > 0 ? 'declared dead (it was silent for 2 s)' : 'suspected at most, never dead'}.`,
    )
    say(`   On resume it was told of its stall (Lifeguard local health) before its overdue timers fired.`)
    say()
    const wall = (performance.now() - wall0) / 1000
    say(
      `Simulated ${t(sim.nowMs)} in ${wall.toFixed(1)} s of wall time; ${sim.traceRecords} trace records, sha256 ${sim.traceHash().slice(0, 16)}…`,
    )
    say(`Replay exactly: pnpm demo --nodes ${n} --seed ${seed}.  Benchmarks: pnpm sim membership --help`)
    return 0
  },
}

function perNode(
  a: Map<NodeId, Traffic>,
  b: Map<NodeId, Traffic>,
  seconds: number,
): { msgs: number; bytes: number } {
  let msgs = 0
  let bytes = 0
  let count = 0
  for (const [id, t] of b) {
    const s = a.get(id)
    if (s === undefined) continue
    msgs += t.sentMsgs - s.sentMsgs + t.recvMsgs - s.recvMsgs
    bytes += t.sentBytes - s.sentBytes + t.recvBytes - s.recvBytes
    count++
  }
  return { msgs: msgs / Math.max(1, count) / seconds, bytes: bytes / Math.max(1, count) / seconds }
}
