/**
 * Scripted election scenarios on the in-test network (no sleeps, virtual time). Each scenario
 * also runs the lease-overlap check, and the break-switch tests show the checks can fail.
 */
import { describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import { readHardState, readLog } from '../shard/shard-store.js'
import type { TraceEvent } from '../trace/events.js'
import {
  type ConclaveConfig,
  lanConclaveConfig,
  localConclaveConfig,
  type UnsafeBreak,
} from './conclave-config.js'
import { safetyViolations } from './safety-check.js'
import { TestNet, testIds } from './test-net.js'

/** A global leader sends a heartbeat round every heartbeatIntervalMs (120 ms at LAN): far inside this. */
const HEARTBEAT_WAIT_MS_MAX = 2000

/**
 * Run 1 ms at a time until `leader` sends its next global heartbeat (the log scanned from where it
 * stood, each entry once); fails the test after HEARTBEAT_WAIT_MS_MAX simulated ms.
 */
function runUntilHeartbeatSent(net: TestNet, leader: NodeId): void {
  const startMs = net.nowMs
  let next = net.log.length
  for (;;) {
    for (; next < net.log.length; next++) {
      const e = net.log[next]
      if (e?.node === leader && e.type === 'gheartbeat') return
    }
    if (net.nowMs - startMs >= HEARTBEAT_WAIT_MS_MAX)
      throw new Error(
        `${leader} sent no global heartbeat within ${HEARTBEAT_WAIT_MS_MAX} ms (from ${startMs} ms)`,
      )
    net.runFor(1)
  }
}

type Traced = TraceEvent & { trueMs: number }

/** Invariant 2 only (lease overlaps per shard and global), from the fuzz tests' shared checker. */
function leaseOverlaps(trace: readonly Traced[]): string[] {
  return safetyViolations(trace).filter((v) => v.startsWith('inv2:'))
}

function config(brk?: UnsafeBreak): ConclaveConfig {
  const c = lanConclaveConfig()
  if (brk) c.unsafe = { break: brk }
  return c
}

function shardLeaderOf(net: TestNet, shard: number): NodeId | undefined {
  return net.live().find((id) => {
    const s = net.machine(id).status(net.nowMs)
    return s.shard === shard && (s.role === 'shard-leader' || s.role === 'global-leader')
  })
}

describe('shard group', () => {
  it('PreVote: a partitioned follower that rejoins does not disrupt the leader', () => {
    const net = new TestNet({ ids: testIds(5), config: config() })
    net.runFor(1500)
    const leader = shardLeaderOf(net, 0) as NodeId
    const term = net.machine(leader).status(net.nowMs).shardTerm
    const loner = net.live().find((id) => id !== leader) as NodeId
    net.partition(
      [loner],
      net.live().filter((id) => id !== loner),
    )
    net.runFor(3000)
    // The loner kept pre-voting but never raised its term (no majority of pre-votes).
    expect(net.machine(loner).status(net.nowMs).shardTerm).toBe(term)
    net.heal()
    net.runFor(1000)
    expect(shardLeaderOf(net, 0)).toBe(leader)
    expect(net.machine(leader).status(net.nowMs).shardTerm).toBe(term)
    expect(leaseOverlaps(net.trace)).toEqual([])
  })

  it('CheckQuorum: an isolated leader steps down and its lease ends; the majority elects anew', () => {
    const net = new TestNet({ ids: testIds(5), config: config() })
    net.runFor(1500)
    const leader = shardLeaderOf(net, 0) as NodeId
    expect(net.machine(leader).isLeader(net.nowMs)).toBe(true)
    const cutAt = net.nowMs
    net.partition(
      [leader],
      net.live().filter((id) => id !== leader),
    )
    net.runFor(1000)
    expect(net.machine(leader).isLeader(net.nowMs)).toBe(false)
    expect(['follower', 'precandidate']).toContain(net.machine(leader).status(net.nowMs).role)
    // Its last lease ended within one lease period of the partition.
    const holds = net.events('lease:hold').filter((e) => e.node === leader && e.scope === 'shard')
    const lastUntil = Math.max(...holds.map((e) => e.untilMs))
    expect(lastUntil).toBeLessThanOrEqual(cutAt + config().shard.electionTimeoutMinMs)
    const next = shardLeaderOf(net, 0)
    expect(next).toBeDefined()
    expect(next).not.toBe(leader)
    expect(net.globalLeaders()).toEqual([next])
    expect(leaseOverlaps(net.trace)).toEqual([])
  })

  it('persist-before-send: every granted vote is in the same Ready as its durable (term, votedFor)', () => {
    const violations = votePersistViolations(config())
    expect(violations.checked).toBeGreaterThan(0)
    expect(violations.bad).toEqual([])
  })

  it("the persist check fails under the 'persist' break", () => {
    expect(votePersistViolations(config('persist')).bad.length).toBeGreaterThan(0)
  })

  it('a restarted voter keeps its vote (term, votedFor) from the store', () => {
    const net = new TestNet({ ids: testIds(3), config: config() })
    net.runFor(1000)
    const voter = net.live().find((id) => net.machine(id).status(net.nowMs).role === 'follower') as NodeId
    const before = readHardState(net.stores.get(voter)?.get('shard/hard'))
    expect(before?.votedFor).toBeDefined()
    net.crash(voter)
    net.restart(voter)
    expect(net.machine(voter).status(net.nowMs).shardTerm).toBe(before?.term)
    expect(readHardState(net.stores.get(voter)?.get('shard/hard'))).toEqual(before)
    net.runFor(500)
    expect(net.machine(voter).shardLeader()?.term).toBe(before?.term)
  })
})

describe('re-admission of a removed voter', () => {
  // A voter that left (or was cut off) longer than deadGraceMs is removed from its shard; when it
  // comes back it still claims the shard (its stored map) and waits for the shard leader to add
  // it again before it hears appends, and with them who leads. Found by the chaos harness: a node
  // restarted after a graceful leave during a partition knew the leader 1.5 s after the heal.
  it('a removed voter that comes back is re-admitted within a heartbeat or two, not up to a second', () => {
    const delays: number[] = []
    for (const offsetMs of [0, 150, 300, 450, 600, 750, 900]) {
      const c = localConclaveConfig()
      const net = new TestNet({ ids: testIds(5), config: c, seed: 11 })
      net.runFor(3000)
      const leader = shardLeaderOf(net, 0) as NodeId
      const x = net.live().find((id) => id !== leader) as NodeId
      net.crash(x)
      net.runFor(c.shardMap.deadGraceMs + 1500 + offsetMs)
      expect(net.machine(leader).shardVoters()).not.toContain(x)
      const back = net.nowMs
      net.restart(x)
      while (!net.machine(leader).shardVoters()?.includes(x) && net.nowMs < back + 5000) net.runFor(5)
      delays.push(net.nowMs - back)
      net.runFor(500)
      expect(net.machine(x).leader()?.id).toBe(net.machine(leader).leader()?.id)
    }
    // A shard leader ticks at least every heartbeat (120 ms in the local preset).
    expect(Math.max(...delays)).toBeLessThan(250)
  })
})

function votePersistViolations(c: ConclaveConfig): { checked: number; bad: string[] } {
  const net = new TestNet({ ids: testIds(5), config: c, seed: 7 })
  const bad: string[] = []
  let checked = 0
  net.onDrain = (node, events) => {
    for (const e of events) {
      if (e.kind !== 'vote:cast' || e.scope !== 'shard') continue
      checked++
      const d = net.drains[net.drains.length - 1]
      const hard = readHardState(net.stores.get(node)?.get('shard/hard'))
      if (!d?.persistKeys.includes('shard/hard') || hard?.votedFor !== e.candidate || hard.term !== e.term) {
        bad.push(`${node} voted ${e.candidate} in term ${e.term} without persisting it`)
      }
    }
  }
  net.runFor(1000)
  for (let i = 0; i < 3; i++) {
    const leader = shardLeaderOf(net, 0)
    if (leader) net.crash(leader)
    net.runFor(1500)
    if (leader) net.restart(leader)
    net.runFor(500)
  }
  return { checked, bad }
}

describe('global group', () => {
  it('15 nodes / 3 shards: failover of the global leader, fencing tokens strictly increase', () => {
    const net = new TestNet({ ids: testIds(15), config: config(), seed: 3 })
    net.runFor(2000)
    const tokens: number[] = []
    for (let round = 0; round < 4; round++) {
      const leaders = net.globalLeaders()
      expect(leaders).toHaveLength(1)
      const leader = leaders[0] as NodeId
      tokens.push(net.machine(leader).fencingToken(net.nowMs) as number)
      net.crash(leader)
      net.runFor(2500)
      for (const id of net.live()) expect(net.machine(id).leader()?.id).not.toBe(leader)
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1] as number)
    const terms = net.events('global:leader').map((e) => e.term)
    for (let i = 1; i < terms.length; i++) expect(terms[i]).toBeGreaterThan(terms[i - 1] as number)
    expect(leaseOverlaps(net.trace)).toEqual([])
  })

  it('LAN preset: after the last heartbeat round, every node knows the new leader within T_g + the rank jitter + the election hops', () => {
    // The first-ranked shard leader waits no slack past T_g (rankSlackMs 0): a shard leader whose
    // stickiness window is still open when its PreVote arrives holds it until the window closes.
    // Crash just after a round is delivered (the worst phase). 1 ms per hop: heartbeat, PreVote and answer,
    // vote, shard append and ack, vote answer, the new leader's round, the shard leaders' relay to
    // their members: 9 ms. With the old 15 ms slack every failover took ≥ T_g + 15 + 9.
    const c = config()
    const boundMs = c.global.electionTimeoutMinMs + c.global.rankJitterMs + 9 + 2
    const slow: string[] = []
    const overlaps: string[] = []
    let crashes = 0
    for (let seed = 1; seed <= 4; seed++) {
      const net = new TestNet({ ids: testIds(25), config: c, seed, latencyMs: 1 })
      net.runFor(3000)
      for (let round = 0; round < 3; round++) {
        const leader = net.globalLeaders()[0]
        if (leader === undefined) break
        const term = net.machine(leader).leader()?.term ?? 0
        runUntilHeartbeatSent(net, leader)
        const roundMs = net.nowMs
        net.runFor(1) // delivered (a crashed node's frames in flight are dropped)
        net.crash(leader)
        const knows = (id: NodeId) => (net.machine(id).leader()?.term ?? 0) > term
        while (!net.live().every(knows) && net.nowMs < roundMs + 2000) net.runFor(1)
        crashes++
        const terms = new Set(
          net
            .events('global:leader')
            .filter((e) => e.trueMs >= roundMs)
            .map((e) => e.term),
        )
        const tookMs = net.nowMs - roundMs
        if (tookMs > boundMs || terms.size !== 1)
          slow.push(`seed ${seed} round ${round}: ${tookMs} ms, terms ${[...terms].join(',')}`)
        net.runFor(1000)
      }
      overlaps.push(...leaseOverlaps(net.trace))
    }
    expect(crashes).toBe(12)
    expect(slow).toEqual([])
    expect(overlaps).toEqual([])
  })

  it("the crashed leader's shard learns the new global leader at its first heartbeat, not a round later", () => {
    // Voters of the crashed leader's own shard may get their new shard leader after the global
    // election; the new global leader's first heartbeat goes to every voter of that shard (its
    // leader unknown), so each learns it then. Bound: one heartbeat round after the later of the
    // global election and the voter's shard election, minus slack (a round later would fail).
    const roundMs = config().global.heartbeatIntervalMs
    let lateCases = 0
    for (let seed = 1; seed <= 30; seed++) {
      const net = new TestNet({ ids: testIds(15), config: config(), seed })
      net.runFor(2000)
      for (let round = 0; round < 3; round++) {
        const leader = net.globalLeaders()[0]
        if (leader === undefined) break
        const term = net.machine(leader).leader()?.term ?? 0
        const shard = net.machine(leader).status(net.nowMs).shard
        const voters = net
          .live()
          .filter((id) => id !== leader && net.machine(id).status(net.nowMs).shard === shard)
        const crashMs = net.nowMs
        net.crash(leader)
        net.runFor(2500)
        const elected = net.events('global:leader').find((e) => e.trueMs >= crashMs && e.term > term)
        expect(elected).toBeDefined()
        for (const v of voters) {
          const known = net
            .events('global:known')
            .find((e) => e.node === v && e.trueMs >= crashMs && e.term > term)
          const shardLed = net.events('shard:leader').find((e) => e.node === v && e.trueMs >= crashMs)
          expect(known).toBeDefined()
          const readyMs = Math.max(elected?.trueMs ?? 0, shardLed?.trueMs ?? 0)
          if ((shardLed?.trueMs ?? 0) > (elected?.trueMs ?? 0)) lateCases++
          expect(
            (known?.trueMs ?? Number.POSITIVE_INFINITY) - readyMs,
            `seed ${seed} round ${round} crash ${crashMs} elected ${elected?.trueMs} shardLed ${shardLed?.trueMs} known ${known?.trueMs} v ${v}`,
          ).toBeLessThan(roundMs / 2)
        }
      }
    }
    // The sample must contain the case the fix is for (a shard re-elected after the global election).
    expect(lateCases).toBeGreaterThan(0)
  })

  it('a voter cut off from every leader learns the new global leader from a shard peer that refuses its PreVote', () => {
    // After a partition heals, TCP's backoff can hold a voter's links to its shard leader (and to
    // the other shard leaders) for seconds while its links to shard peers already carry. Modelled
    // here as cuts: the voter reaches only the followers of its own shard. A peer that refuses its
    // PreVote tells it the leader; without that it never learns (every announcer is cut off).
    for (const cfg of [config(), localConclaveConfig()]) {
      for (let seed = 1; seed <= 5; seed++) {
        const net = new TestNet({ ids: testIds(15), config: cfg, seed })
        net.runFor(3000)
        const old = net.globalLeaders()[0] as NodeId
        expect(old).toBeDefined()
        const oldShard = net.machine(old).status(net.nowMs).shard
        const st = (id: NodeId) => net.machine(id).status(net.nowMs)
        const lone = net
          .live()
          .find((id) => st(id).role === 'follower' && st(id).shard !== oldShard) as NodeId
        expect(lone).toBeDefined()
        const peers = net
          .live()
          .filter((id) => id !== lone && st(id).shard === st(lone).shard && st(id).role === 'follower')
        expect(peers.length).toBeGreaterThan(0)
        for (const id of net.live())
          if (id !== lone && !peers.includes(id)) net.cut.add(`${id}|${lone}`).add(`${lone}|${id}`)
        const crashMs = net.nowMs
        net.crash(old)
        net.runFor(3000)
        const elected = net.events('global:leader').find((e) => e.trueMs >= crashMs)
        expect(elected, `seed ${seed}`).toBeDefined()
        const now = net.globalLeaders()
        expect(now).toHaveLength(1)
        // Learned within two of its election timeouts of the election (one PreVote round each).
        const known = net
          .events('global:known')
          .find((e) => e.node === lone && e.trueMs >= crashMs && e.leader === now[0])
        expect(known, `seed ${seed}: ${lone} never learned ${now[0]}`).toBeDefined()
        expect((known?.trueMs ?? 0) - (elected?.trueMs ?? 0)).toBeLessThanOrEqual(
          2 * cfg.shard.electionTimeoutMaxMs,
        )
        expect(net.machine(lone).leader()?.id).toBe(now[0])
        expect(leaseOverlaps(net.trace)).toEqual([])
      }
    }
  })

  it('one election per crash: the next-ranked shard leader does not start its own while voting', () => {
    // An election slower than one rank step (8 ms one-way here, 40 ms steps): the next-ranked
    // shard leader's timer fired while the candidate it had just voted for was still collecting
    // votes, and its election for term+1 made the new leader step down and run again (as on 25
    // real processes, +500 ms). Raft §5.2: granting a vote restarts the election timer.
    // Without that rule 13 of these 30 crashes ran two or three elections.
    let crashes = 0
    const repeated: string[] = []
    for (let seed = 1; seed <= 10; seed++) {
      const net = new TestNet({ ids: testIds(25), config: localConclaveConfig(), seed, latencyMs: 8 })
      net.runFor(4000)
      for (let round = 0; round < 3; round++) {
        const leader = net.globalLeaders()[0]
        expect(leader, `seed ${seed} round ${round}`).toBeDefined()
        const crashMs = net.nowMs
        net.crash(leader as NodeId)
        net.runFor(3000)
        crashes++
        const terms = net
          .events('global:leader')
          .filter((e) => e.trueMs >= crashMs)
          .map((e) => e.term)
        if (terms.length !== 1) repeated.push(`seed ${seed} round ${round}: terms ${terms.join(',')}`)
      }
    }
    expect(crashes).toBe(30)
    expect(repeated).toEqual([])
  })

  it('one term per crash under scheduling jitter: a shard leader that granted a PreVote puts its own election off', () => {
    // One-way delays of 1–51 ms (a busy host): the next-ranked shard leader's timer may fire
    // before the first-ranked one's election reaches it; both ran in the same term and split the
    // 4 live shards 2–2 until a retry (before deferTo: seeds 2, 6 and 8 here, 1.0–1.5 s).
    const split: string[] = []
    let crashes = 0
    for (let seed = 1; seed <= 8; seed++) {
      const net = new TestNet({
        ids: testIds(25),
        config: localConclaveConfig(),
        seed,
        latencyMs: 1,
        latencyJitterMs: 50,
      })
      net.runFor(5000)
      for (let round = 0; round < 3; round++) {
        const leader = net.live().find((id) => net.machine(id).status(net.nowMs).role === 'global-leader')
        if (leader === undefined) {
          net.runFor(1000)
          continue
        }
        const crashMs = net.nowMs
        net.crash(leader)
        net.runFor(4000)
        crashes++
        const terms = new Set(
          net
            .events('global:vote')
            .filter((e) => e.trueMs >= crashMs)
            .map((e) => e.term),
        )
        if (terms.size !== 1) split.push(`seed ${seed} round ${round}: vote terms ${[...terms].join(',')}`)
      }
    }
    expect(crashes).toBeGreaterThan(20)
    expect(split).toEqual([])
  }, 30_000)

  it('a shard leader whose stickiness window closes just after a PreVote arrives answers it then, not with a refusal', () => {
    // The first-ranked candidate's timer and the other shard leaders' windows count from the same
    // last heartbeat; on a busy host two of them heard it 30 ms after the candidate did (here: paused
    // for 30 ms as it left). Their windows were still open for 16–29 ms when its PreVote came, and
    // refusing left it without a quorum: the next-ranked shard leader won a rank step later (25
    // real processes at load 29: 1192 ms). Held until the window closes, the PreVote wins.
    const c = localConclaveConfig()
    c.global.rankSlackMs = 0
    const net = new TestNet({ ids: testIds(25), config: c, seed: 4, latencyMs: 1 })
    net.runFor(5000)
    const leader = net.globalLeaders()[0] as NodeId
    const shards = [...(net.machine(leader).shardMap()?.shards.keys() ?? [])].sort((a, b) => a - b)
    expect(shards).toHaveLength(5)
    const leaderShard = net.machine(leader).status(net.nowMs).shard as number
    const first = shards[(shards.indexOf(leaderShard) + 1) % shards.length] as number
    const late = shards
      .filter((s) => s !== leaderShard && s !== first)
      .slice(0, 2)
      .map((s) => shardLeaderOf(net, s) as NodeId)
    runUntilHeartbeatSent(net, leader)
    for (const v of late) net.pause(v, 30)
    net.runFor(35) // the paused two get it now; the leader dies before its next round
    const crashMs = net.nowMs
    net.crash(leader)
    net.runFor(2000)
    const elected = net.events('global:leader').filter((e) => e.trueMs >= crashMs)
    expect(elected.map((e) => net.machine(e.node).status(net.nowMs).shard)).toEqual([first])
    for (const id of net.live()) expect(net.machine(id).leader()?.id).toBe(elected[0]?.node)
    expect(leaseOverlaps(net.trace)).toEqual([])
  })

  it('each global vote is committed in a majority of its shard before it leaves', () => {
    const r = globalVoteCommitCheck(config())
    expect(r.checked).toBeGreaterThan(0)
    expect(r.bad).toEqual([])
  })

  it("the vote-commit check fails under the 'vote-commit' break", () => {
    expect(globalVoteCommitCheck(config('vote-commit')).bad.length).toBeGreaterThan(0)
  })

  it('observers learn the global leader from their attached shard leader', () => {
    const ids = testIds(17)
    const observers = ids.slice(15)
    const net = new TestNet({ ids, config: config(), observers, seed: 5 })
    net.runFor(2500)
    const leaders = net.globalLeaders()
    expect(leaders).toHaveLength(1)
    for (const o of observers) {
      expect(net.machine(o).status(net.nowMs).role).toBe('observer')
      expect(net.machine(o).leader()?.id).toBe(leaders[0])
      expect(net.machine(o).shardLeader()).toBeDefined()
    }
  })

  it('a minority side holds no global lease after one lease period; the majority side elects', () => {
    const net = new TestNet({ ids: testIds(15), config: config(), seed: 11 })
    net.runFor(2000)
    const leader = net.globalLeaders()[0] as NodeId
    const map = net.machine(leader).shardMap()
    const leaderShard = net.machine(leader).status(net.nowMs).shard as number
    const minority = [...(map?.shards.get(leaderShard) ?? [])]
    net.partition(
      minority,
      net.live().filter((id) => !minority.includes(id)),
    )
    net.runFor(config().global.electionTimeoutMinMs)
    for (const id of minority) expect(net.machine(id).isLeader(net.nowMs)).toBe(false)
    net.runFor(2000)
    const after = net.globalLeaders()
    expect(after).toHaveLength(1)
    expect(minority).not.toContain(after[0])
    expect(leaseOverlaps(net.trace)).toEqual([])
  })

  it("the lease check fails under the 'lease' break", () => {
    const net = new TestNet({ ids: testIds(15), config: config('lease'), seed: 11 })
    net.runFor(2000)
    const leader = net.globalLeaders()[0] as NodeId
    const leaderShard = net.machine(leader).status(net.nowMs).shard as number
    const minority = [...(net.machine(leader).shardMap()?.shards.get(leaderShard) ?? [])]
    net.partition(
      minority,
      net.live().filter((id) => !minority.includes(id)),
    )
    net.runFor(2500)
    expect(leaseOverlaps(net.trace).length).toBeGreaterThan(0)
  })
})

function globalVoteCommitCheck(c: ConclaveConfig): { checked: number; bad: string[] } {
  const net = new TestNet({ ids: testIds(15), config: c, seed: 9 })
  const bad: string[] = []
  let checked = 0
  net.onDrain = (node, events) => {
    for (const e of events) {
      if (e.kind !== 'global:vote') continue
      checked++
      const voters = net.machine(node).shardMap()?.shards.get(e.shard) ?? []
      const holding = voters.filter(
        (v) =>
          readLog(net.stores.get(v)?.get('shard/log'))
            ?.allEntries()
            .some(
              (x) => x.kind === 'global-vote' && x.globalTerm === e.term && x.candidate === e.candidate,
            ) || (readLog(net.stores.get(v)?.get('shard/log'))?.snapshot.globalVoteTerm ?? 0) >= e.term,
      )
      if (holding.length < Math.floor(voters.length / 2) + 1) {
        bad.push(
          `shard ${e.shard} vote for ${e.candidate} in ${e.term} left with ${holding.length}/${voters.length} copies`,
        )
      }
    }
  }
  net.runFor(2000)
  for (let i = 0; i < 3; i++) {
    const leader = net.globalLeaders()[0]
    if (leader) net.crash(leader)
    net.runFor(2000)
  }
  return { checked, bad }
}
