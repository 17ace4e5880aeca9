import { describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import { lanConclaveConfig, localConclaveConfig } from './conclave-config.js'
import { TestNet, testIds } from './test-net.js'

describe('shard assignment and removal', () => {
  it('a late joiner starts as an observer, learns the leader, and is assigned a shard by the global leader', () => {
    const net = new TestNet({ ids: testIds(15), config: lanConclaveConfig(), seed: 21 })
    net.runFor(2000)
    const newcomer = 'node-999'
    net.addNode(newcomer)
    net.runFor(200)
    expect(net.machine(newcomer).leader()?.id).toBe(net.globalLeaders()[0])
    net.runFor(2000)
    const s = net.machine(newcomer).status(net.nowMs)
    expect(s.shard).not.toBeNull()
    expect(s.role).toBe('follower')
    const commits = net.events('shardmap:commit').filter((e) => e.change.includes(newcomer))
    expect(commits).toHaveLength(1)
    // It really votes: every member of its shard lists it.
    const shard = s.shard as number
    const peers = net.live().filter((id) => net.machine(id).status(net.nowMs).shard === shard)
    expect(peers.length).toBe(6)
  })

  it('local preset: past 25 expected members, the 25 smallest ids found the cluster and the others are assigned to it', () => {
    const ids = testIds(32)
    const net = new TestNet({ ids, config: localConclaveConfig(), seed: 26 })
    net.runFor(4000)
    const [leader, ...others] = net.globalLeaders()
    expect(others).toEqual([])
    const founders = ids.slice(0, 25)
    const map = net.machine(leader as NodeId).shardMap()
    // The deal of 25 (5 shards of 5), not of 32 (7 shards): the bootstrap map lists founders only.
    expect(map?.shardsTotal).toBe(5)
    for (const id of ids) expect(net.machine(id).leader()?.id).toBe(leader)
    net.runFor(6000)
    const shards = new Map<number, NodeId[]>()
    for (const id of ids) {
      const s = net.machine(id).status(net.nowMs)
      expect(s.shard, id).not.toBeNull()
      shards.set(s.shard as number, [...(shards.get(s.shard as number) ?? []), id])
    }
    // Each founder stays in the shard the deal gave it; each newcomer came in by a config add.
    for (const id of founders) expect(net.machine(id).status(net.nowMs).shard).toBe(founders.indexOf(id) % 5)
    const added = net.events('shardmap:commit').filter((e) => e.change.startsWith('add '))
    for (const id of ids.slice(25))
      expect(
        added.some((e) => e.change.startsWith(`add ${id}`)),
        id,
      ).toBe(true)
    expect([...shards.values()].every((v) => v.length >= 3 && v.length <= 9)).toBe(true)
  })

  it('a founder whose view reaches N only after its shard elected a leader takes the bootstrap map then', () => {
    // Its shard mates deal the map and elect a leader, whose appends make it join its shard with
    // no map while its view is one short of N. Until a global leader announces the shard count
    // it has none; it used to keep none, and leading its shard it refused every global PreVote
    // (no-map) and started none: a 100-node launch whose founding shards were 3 of 5 led so never
    // elected a global leader (performance.md, "Session 11").
    const ids = testIds(15)
    const late = ids[0] as NodeId
    const net = new TestNet({ ids, config: lanConclaveConfig(), seed: 27, shortViews: [late] })
    net.runFor(400)
    expect(net.globalLeaders()).toEqual([])
    expect(net.machine(late).status(net.nowMs).shard).toBe(0)
    expect(net.machine(late).shardMap()).toBeUndefined()
    // Its view is complete now; the membership frame that completed it is where a real node
    // looks (this static membership has none of its own, and a follower that hears its leader
    // does not tick).
    net.world.shortViews.delete(late)
    net.machine(late).receive(ids[1] as NodeId, 'membership', new Uint8Array(), net.nowMs)
    net.flush(late)
    // The bootstrap deal itself (voters listed), not the empty one an announcement would give.
    const map = net.machine(late).shardMap()
    expect([...(map?.shards.values() ?? [])].map((v) => v.length)).toEqual([5, 5, 5])
    expect(net.machine(late).status(net.nowMs).shard).toBe(0)
    net.runFor(2000)
    const [leader, ...others] = net.globalLeaders()
    expect(others).toEqual([])
    expect(net.machine(late).leader()?.id).toBe(leader)
  })

  it('a one-node cluster elects itself global leader (its one-voter shard commits its own vote at once)', () => {
    const net = new TestNet({ ids: testIds(1), config: lanConclaveConfig(), seed: 5 })
    net.runFor(3000)
    expect(net.globalLeaders()).toEqual(['node-000'])
  })

  it('a dead voter is removed after the grace period and the shard keeps working', () => {
    const cfg = lanConclaveConfig()
    cfg.shardMap.deadGraceMs = 1000
    const net = new TestNet({ ids: testIds(5), config: cfg, seed: 22 })
    net.runFor(1500)
    const leader = net.globalLeaders()[0] as NodeId
    const victim = net.live().find((id) => id !== leader) as NodeId
    net.crash(victim)
    net.runFor(800)
    // (the global leader's whole-state report of its first commit is not a change)
    expect(net.events('shardmap:commit').filter((e) => !e.change.startsWith('global state'))).toHaveLength(0)
    net.runFor(1500)
    const removal = net.events('shardmap:commit').filter((e) => e.change.startsWith(`remove ${victim}`))
    expect(removal).toHaveLength(1)
    // 4 voters now: a further crash of a non-leader leaves 3 of 4, still a quorum.
    const second = net.live().find((id) => id !== leader) as NodeId
    net.crash(second)
    net.runFor(1000)
    expect(net.globalLeaders()).toEqual([leader])
  })

  it('members of a shard that lost its quorum still learn a new global leader (orphan announcements)', () => {
    const net = new TestNet({ ids: testIds(15), config: lanConclaveConfig(), seed: 23 })
    net.runFor(2000)
    const leader = net.globalLeaders()[0] as NodeId
    const map = net.machine(leader).shardMap()
    const leaderShard = net.machine(leader).status(net.nowMs).shard
    const [lostShard, voters] = [...(map?.shards ?? [])].find(([s]) => s !== leaderShard) ?? [0, []]
    const [a, b, c, ...survivors] = voters
    for (const v of [a, b, c]) net.crash(v as NodeId)
    net.runFor(2000)
    net.crash(leader)
    net.runFor(3000)
    const next = net.globalLeaders()
    expect(next).toHaveLength(1)
    expect(next[0]).not.toBe(leader)
    for (const s of survivors) {
      expect(net.machine(s).status(net.nowMs).shard).toBe(lostShard)
      expect(net.machine(s).shardLeader()).toBeUndefined()
      expect(net.machine(s).leader()?.id).toBe(next[0])
    }
  })

  it('newcomers cut off stay learners: the voters stay the live founders, and they are promoted once they answer', () => {
    // Swarm seed 190, then the fuzz run's --insiders gap: newcomers that never answered were added
    // as voters until they outnumbered the live ones, and the shard never had a leader again.
    const net = new TestNet({ ids: testIds(5), config: lanConclaveConfig(), seed: 24 })
    net.runFor(2000)
    const founders = net.live()
    const newcomers = ['node-997', 'node-998', 'node-999']
    for (const n of newcomers) net.addNode(n)
    // Membership sees them alive (the global leader assigns them), but nothing reaches them.
    net.partition(newcomers, founders)
    net.runFor(3000)
    const leader = net.globalLeaders()[0] as NodeId
    expect(net.machine(leader).shardVoters()).toEqual([...founders].sort())
    expect(net.machine(leader).shardLearners().length).toBeGreaterThan(0)
    // So two founders may fail: 3 of the 5 voters still elect (with the newcomers as voters,
    // 8 voters would have needed 5).
    const others = founders.filter((id) => id !== leader)
    net.crash(others[0] as NodeId)
    net.crash(others[1] as NodeId)
    net.runFor(1500)
    expect(net.globalLeaders()).toEqual([leader])
    // Once they can hear the leader and answer, they catch up and are promoted, one at a time.
    net.heal()
    net.runFor(4000)
    const after = net.machine(net.globalLeaders()[0] as NodeId).shardVoters() ?? []
    for (const n of newcomers) expect(after, n).toContain(n)
    const adds = net.events('shardmap:commit').filter((e) => e.change.startsWith('add node-99'))
    expect(adds.map((e) => e.change.split(' ')[1]).sort()).toEqual(newcomers)
  })

  it('a learner that receives the log but never answers is never promoted, and is dropped after the grace period', () => {
    const cfg = lanConclaveConfig()
    cfg.shardMap.deadGraceMs = 2000
    const net = new TestNet({ ids: testIds(5), config: cfg, seed: 25 })
    net.runFor(2000)
    const founders = net.live()
    const silent = 'node-999'
    net.addNode(silent)
    // One way: the shard leader's appends reach it (it joins the shard), its replies never arrive.
    for (const f of founders) net.cut.add(`${silent}|${f}`)
    const leader = net.globalLeaders()[0] as NodeId
    let firstLearnerMs: number | undefined
    let droppedAfterGrace = false
    for (let t = 0; t < 10_000; t += 50) {
      net.runFor(50)
      expect(net.machine(leader).shardVoters(), `at ${net.nowMs}`).not.toContain(silent)
      const learner = net.machine(leader).shardLearners().includes(silent)
      if (learner && firstLearnerMs === undefined) firstLearnerMs = net.nowMs
      if (!learner && firstLearnerMs !== undefined && net.nowMs - firstLearnerMs >= 2000)
        droppedAfterGrace = true
    }
    expect(firstLearnerMs).toBeDefined()
    // It did join the shard (it has the log) but as a learner only: traced as an observer.
    expect(net.machine(silent).status(net.nowMs).shard).not.toBeNull()
    const roles = net.events('shard:role').filter((e) => e.node === silent)
    expect(roles.map((e) => e.role)).toEqual(['observer'])
    expect(droppedAfterGrace).toBe(true)
    expect(net.events('shardmap:commit').filter((e) => e.change.includes(silent))).toHaveLength(0)
    // The shard's quorum is the 5 founders': two may crash.
    const others = founders.filter((id) => id !== leader)
    net.crash(others[0] as NodeId)
    net.crash(others[1] as NodeId)
    net.runFor(1500)
    expect(net.globalLeaders()).toEqual([leader])
    // Its replies get through again: caught up, promoted, and a voter in its log too.
    net.heal()
    net.runFor(3000)
    expect(net.machine(leader).shardVoters()).toContain(silent)
    expect(
      net
        .events('shard:role')
        .filter((e) => e.node === silent)
        .map((e) => e.role),
    ).toContain('follower')
  })

  it('a shard leader with nobody to announce to still scans for observers every global heartbeat', () => {
    // Skipping the scans while the last one found nobody (c6df9aa) left joiners waiting for their
    // first announcement: swarm seeds 835 and 1998 knew the leader only 11.8 s and 13 s after the faults.
    const config = localConclaveConfig()
    const net = new TestNet({ ids: testIds(25), config, seed: 23 })
    net.runFor(4000)
    const global = net.globalLeaders()[0] as NodeId
    expect(global).toBeDefined()
    const leader = net
      .live()
      .find((id) => id !== global && net.machine(id).status(net.nowMs).role === 'shard-leader') as NodeId
    expect(leader).toBeDefined()
    const m = net.machine(leader)
    let longestWaitMs = 0
    for (let i = 0; i < 60; i++) {
      net.runFor(17)
      longestWaitMs = Math.max(longestWaitMs, m.nextTickAtMs() - net.nowMs)
    }
    expect(config.shard.heartbeatIntervalMs).toBeGreaterThan(config.global.heartbeatIntervalMs)
    expect(longestWaitMs).toBeLessThanOrEqual(config.global.heartbeatIntervalMs)
    expect(net.machine(leader).leader()?.id).toBe(global)
  })
})
