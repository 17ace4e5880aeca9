/**
 * A hand-made, seeded trace with the shape a real simulation produces (joins, shard and global
 * elections, lease renewals, traffic samples, a leader crash with suspicion, death,
 * re-election and dissemination, a restart) — for the inspector's tests and for trying the UI
 * before the simulator's `--trace` writer exists. It is NOT protocol output: its timings are
 * drawn from simple ranges, so no figure measured on it says anything about Conclave itself.
 */
import { createRng, type Rng } from '@conclave/core'
import type { NodeId, TraceRecord } from '../model/trace-record.js'

export interface SyntheticTraceInit {
  nodes: number
  seed: number
  /** Nodes per shard (default 5). */
  shardSize?: number
  /** True time of the global leader's crash (default: 4 s after the cluster formed). */
  crashAtMs?: number
  /** Restart the crashed leader this long after the crash (default 3000; 0 = never). */
  restartAfterMs?: number
  /** How many members each node reports as joined (default all: N² member:join records). */
  joinsSeenPerNode?: number
  /** Trace length after the crash (default 8000 ms). */
  tailMs?: number
}

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** 52-char ids shaped like libp2p Ed25519 peer ids ('12D3KooW…'). */
export function syntheticIds(n: number, rng: Rng): NodeId[] {
  const ids: NodeId[] = []
  for (let i = 0; i < n; i++) {
    let id = '12D3KooW'
    while (id.length < 52) id += ALPHABET[rng.int(ALPHABET.length)]
    ids.push(id)
  }
  return ids
}

export function syntheticTrace(init: SyntheticTraceInit): TraceRecord[] {
  const rng = createRng(init.seed)
  const n = init.nodes
  const shardSize = init.shardSize ?? 5
  const ids = syntheticIds(n, rng)
  const offsets = ids.map(() => rng.range(-500, 500))
  const out: TraceRecord[] = []
  const at = (i: number, trueMs: number) => ({ node: ids[i]!, atMs: trueMs + offsets[i]!, trueMs })
  const lat = () => rng.range(1, 8)
  const shardOf = (i: number) => Math.floor(i / shardSize)
  const shards = Math.ceil(n / shardSize)
  const membersOf = (k: number) => ids.map((_, i) => i).filter((i) => shardOf(i) === k)
  const dead = new Set<number>()

  // Joins: node i joins through node 0 at i*3 ms; every node then learns (a sample of) the others.
  const joinsSeen = Math.min(init.joinsSeenPerNode ?? n - 1, n - 1)
  for (let i = 0; i < n; i++) {
    const joinMs = i * 3
    for (let k = 1; k <= joinsSeen; k++) {
      const j = (i + k) % n
      out.push({
        ...at(j, Math.max(joinMs, j * 3) + lat() * 4),
        kind: 'member:join',
        member: ids[i]!,
        incarnation: 0,
      })
    }
  }
  const formedMs = n * 3 + 400

  // Shard elections, term 1: the first member runs, the others vote, everyone learns.
  const shardLeader: number[] = []
  const shardTerm: number[] = []
  for (let k = 0; k < shards; k++) {
    const members = membersOf(k)
    const cand = members[0]!
    const t0 = formedMs + rng.range(0, 150)
    for (const i of members)
      out.push({ ...at(i, t0), kind: 'shard:role', shard: k, term: 1, role: 'follower' })
    out.push({ ...at(cand, t0 + 150), kind: 'shard:role', shard: k, term: 1, role: 'candidate' })
    for (const i of members.slice(1)) {
      out.push({
        ...at(i, t0 + 152),
        kind: 'vote:cast',
        scope: 'shard',
        shard: k,
        term: 1,
        candidate: ids[cand]!,
      })
    }
    out.push({ ...at(cand, t0 + 160), kind: 'shard:role', shard: k, term: 1, role: 'leader' })
    for (const i of members) {
      out.push({
        ...at(i, t0 + 160 + (i === cand ? 0 : lat())),
        kind: 'shard:leader',
        shard: k,
        term: 1,
        leader: ids[cand]!,
      })
    }
    shardLeader[k] = cand
    shardTerm[k] = 1
  }

  // Global election, term 1: shard 0's leader runs; every shard leader's vote is committed and sent.
  const globalElection = (term: number, cand: number, startMs: number): number => {
    for (let k = 0; k < shards; k++) {
      const l = shardLeader[k]!
      if (dead.has(l)) continue
      out.push({ ...at(l, startMs + lat()), kind: 'global:vote', shard: k, term, candidate: ids[cand]! })
    }
    const wonMs = startMs + 20
    out.push({ ...at(cand, wonMs), kind: 'global:leader', term, leader: ids[cand]! })
    for (let i = 0; i < n; i++) {
      if (dead.has(i)) continue
      out.push({
        ...at(i, wonMs + (i === cand ? 0 : rng.range(10, 160))),
        kind: 'global:known',
        term,
        leader: ids[cand]!,
      })
    }
    return wonMs
  }
  let globalLeader = shardLeader[0]!
  let globalTerm = 1
  const electedMs = globalElection(1, globalLeader, formedMs + 400)

  const crashAtMs = init.crashAtMs ?? electedMs + 4000
  const endMs = crashAtMs + (init.tailMs ?? 8000)
  const restartAfterMs = init.restartAfterMs ?? 3000

  // Lease renewals every 500 ms while leading, and traffic samples once a second per node.
  const leaseRenewals = (
    fromMs: number,
    toMs: number,
    i: number,
    scope: 'shard' | 'global',
    k: number,
    term: number,
  ) => {
    for (let t = fromMs; t < toMs; t += 500) {
      const local = t + offsets[i]!
      out.push({
        ...at(i, t),
        kind: 'lease:hold',
        scope,
        shard: k,
        term,
        fromMs: local,
        untilMs: local + 900,
      })
    }
  }
  for (let t = 1000; t <= endMs; t += 1000) {
    for (let i = 0; i < n; i++) {
      if (dead.has(i) && t > crashAtMs) continue
      const leads = shardLeader[shardOf(i)] === i
      const msgs = rng.range(8, 16) + (leads ? 40 : 0) + (i === globalLeader ? 2 * shards : 0)
      out.push({
        kind: 'net:sample',
        trueMs: t,
        node: ids[i]!,
        windowMs: 1000,
        msgs,
        bytes: msgs * rng.range(120, 260),
      })
    }
  }

  // A false suspicion, refuted (Lifeguard's happy path).
  const victim = n > 3 ? n - 1 : 0
  const sTime = electedMs + 1500
  out.push({
    ...at(1 % n, sTime),
    kind: 'member:state',
    member: ids[victim]!,
    state: 'suspect',
    incarnation: 0,
    via: ids[1 % n]!,
  })
  out.push({ ...at(victim, sTime + 60), kind: 'member:refute', incarnation: 1 })
  out.push({
    ...at(2 % n, sTime + 70),
    kind: 'member:state',
    member: ids[victim]!,
    state: 'alive',
    incarnation: 1,
    via: ids[victim]!,
  })

  // The global leader (also shard 0's leader) crashes.
  const crashed = globalLeader
  out.push({ kind: 'sim:fault', trueMs: crashAtMs, fault: 'crash', node: ids[crashed]! })
  dead.add(crashed)
  for (let k = 0; k < shards; k++) {
    const l = shardLeader[k]!
    leaseRenewals(formedMs + 400, l === crashed ? crashAtMs : endMs, l, 'shard', k, 1)
  }
  leaseRenewals(electedMs, crashAtMs, crashed, 'global', 0, 1)

  // Detection: a few monitors suspect it, one declares it dead, the news spreads.
  const suspectMs = crashAtMs + rng.range(200, 400)
  const monitors = [1, 2, 3].map((d) => (crashed + d) % n).filter((i) => i !== crashed)
  for (const [idx, i] of monitors.entries()) {
    out.push({
      ...at(i, suspectMs + idx * 15),
      kind: 'member:state',
      member: ids[crashed]!,
      state: 'suspect',
      incarnation: 0,
      via: ids[i]!,
    })
  }
  const deadMs = suspectMs + rng.range(500, 900)
  for (let i = 0; i < n; i++) {
    if (i === crashed) continue
    const t = deadMs + (i === monitors[0] ? 0 : rng.range(5, 400))
    out.push({
      ...at(i, t),
      kind: 'member:state',
      member: ids[crashed]!,
      state: 'dead',
      incarnation: 0,
      via: ids[monitors[0] ?? i]!,
    })
  }

  // Shard 0 elects a new leader (term 2) once CheckQuorum/election timeouts fire.
  const k0 = shardOf(crashed)
  const survivors = membersOf(k0).filter((i) => i !== crashed)
  if (survivors.length > 0) {
    const newShardLeader = survivors[0]!
    const t2 = crashAtMs + rng.range(250, 400)
    out.push({ ...at(newShardLeader, t2), kind: 'shard:role', shard: k0, term: 2, role: 'candidate' })
    for (const i of survivors.slice(1)) {
      out.push({
        ...at(i, t2 + 3),
        kind: 'vote:cast',
        scope: 'shard',
        shard: k0,
        term: 2,
        candidate: ids[newShardLeader]!,
      })
    }
    out.push({ ...at(newShardLeader, t2 + 10), kind: 'shard:role', shard: k0, term: 2, role: 'leader' })
    for (const i of survivors) {
      out.push({
        ...at(i, t2 + 10 + (i === newShardLeader ? 0 : lat())),
        kind: 'shard:leader',
        shard: k0,
        term: 2,
        leader: ids[newShardLeader]!,
      })
    }
    shardLeader[k0] = newShardLeader
    shardTerm[k0] = 2
    leaseRenewals(t2 + 10, endMs, newShardLeader, 'shard', k0, 2)
  }

  // The global leader's lease runs out; the next-ranked shard leader wins term 2.
  const nextShard = shards > 1 ? 1 : 0
  globalLeader = shardLeader[nextShard]!
  globalTerm = 2
  const elected2Ms = globalElection(globalTerm, globalLeader, crashAtMs + rng.range(700, 1000))
  leaseRenewals(elected2Ms, endMs, globalLeader, 'global', nextShard, globalTerm)
  out.push({
    ...at(globalLeader, deadMs + 1500),
    kind: 'shardmap:commit',
    index: 1,
    change: `remove ${ids[crashed]!.slice(-6)} from shard ${k0}`,
  })

  // The crashed node restarts with a new boot epoch and rejoins (as an observer until assigned).
  if (restartAfterMs > 0 && crashAtMs + restartAfterMs < endMs) {
    const r = crashAtMs + restartAfterMs
    out.push({ kind: 'sim:fault', trueMs: r, fault: 'restart', node: ids[crashed]! })
    dead.delete(crashed)
    for (let i = 0; i < n; i++) {
      if (i === crashed) continue
      out.push({
        ...at(i, r + rng.range(20, 300)),
        kind: 'member:join',
        member: ids[crashed]!,
        incarnation: 0,
      })
    }
    out.push({ ...at(crashed, r + 50), kind: 'shard:role', shard: -1, term: 0, role: 'observer' })
    out.push({ ...at(crashed, r + 120), kind: 'global:known', term: globalTerm, leader: ids[globalLeader]! })
  }

  out.push({ kind: 'node:meta', trueMs: 0, node: ids[0]!, priority: 10, addrs: ['/ip4/127.0.0.1/tcp/4001'] })
  // Stable sort by true time: that is the order the simulator writes them in.
  return out
    .map((r, i) => [r, i] as const)
    .sort((a, b) => a[0].trueMs - b[0].trueMs || a[1] - b[1])
    .map(([r]) => r)
}

export function toJsonLines(records: readonly TraceRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n'
}
