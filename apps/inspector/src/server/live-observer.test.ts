import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { TraceModel } from '../model/trace-model.js'
import { announcementToRecords, startLiveObserver, statusToRecords, TrafficSampler } from './live-observer.js'

describe('live observer data dir', () => {
  it('a temp dir it made is removed by stop(); a given one is kept', async () => {
    const own = await startLiveObserver(new TraceModel(), { bootstrap: [] })
    expect(existsSync(own.dataDir)).toBe(true)
    await own.stop()
    expect(existsSync(own.dataDir)).toBe(false)
    const given = mkdtempSync(join(tmpdir(), 'inspector-given-'))
    try {
      const o = await startLiveObserver(new TraceModel(), { bootstrap: [], dataDir: given })
      await o.stop()
      expect(existsSync(given)).toBe(true)
    } finally {
      rmSync(given, { recursive: true, force: true })
    }
  })
})

describe('live feed → trace records', () => {
  it('turns a leader announcement into global:known (and global:leader from the leader itself)', () => {
    expect(
      announcementToRecords('b', { leader: 'a', term: 3, isSelf: false, shard: 0 }, 100).map((r) => r.kind),
    ).toEqual(['global:known'])
    expect(
      announcementToRecords('a', { leader: 'a', term: 3, isSelf: true }, 100).map((r) => r.kind),
    ).toEqual(['global:leader', 'global:known'])
    expect(announcementToRecords('a', { leader: 7, term: 'x' }, 100)).toEqual([])
  })

  it('turns a NodeStatus into role, leaders and lease records', () => {
    const records = statusToRecords(
      'a',
      {
        role: 'leader',
        shard: 2,
        shardTerm: 4,
        shardLeader: 'a',
        globalLeader: 'a',
        globalTerm: 9,
        leaseLeftMs: 300,
      },
      1000,
    )
    expect(records.map((r) => r.kind)).toEqual(['shard:role', 'shard:leader', 'global:known', 'lease:hold'])
    expect(records[3]).toMatchObject({ scope: 'global', term: 9, untilMs: 1300 })
    expect(statusToRecords('a', { role: 'emperor' }, 0)).toEqual([])
  })

  it('reads the fallback status of a machine without NodeStatus (FlatRaft): { isLeader, leader }', () => {
    expect(
      statusToRecords('a', { id: 'a', isLeader: true, leader: { id: 'a', term: 3 } }, 5).map((r) => [
        r.kind,
        'leader' in r ? r.leader : null,
      ]),
    ).toEqual([
      ['global:leader', 'a'],
      ['global:known', 'a'],
    ])
    expect(statusToRecords('b', { id: 'b', isLeader: false, leader: { id: 'a', term: 3 } }, 5)).toEqual([
      expect.objectContaining({ kind: 'global:known', node: 'b', leader: 'a', term: 3 }),
    ])
    expect(statusToRecords('b', { id: 'b', isLeader: false, leader: null }, 5)).toEqual([])
  })

  it("reads core's NodeStatus roles (global-leader, shard-leader) as shard roles", () => {
    const status = { id: 'a', shard: 1, shardTerm: 2, shardLeader: 'a', globalLeader: 'a', globalTerm: 5 }
    const leader = statusToRecords('a', { ...status, role: 'global-leader', leaseLeftMs: 0 }, 10)
    expect(leader.map((r) => r.kind)).toEqual(['shard:role', 'shard:leader', 'global:leader', 'global:known'])
    expect(leader[0]).toMatchObject({ role: 'leader', shard: 1 })
    expect(statusToRecords('a', { ...status, role: 'shard-leader' }, 10)[0]).toMatchObject({ role: 'leader' })
    const other = statusToRecords('c', { ...status, id: 'c', role: 'global-leader', shardLeader: 'b' }, 10)
    expect(other[0]).toMatchObject({ role: 'follower' })
    expect(statusToRecords('b', { ...status, role: 'follower' }, 10).map((r) => r.kind)).toEqual([
      'shard:role',
      'shard:leader',
      'global:known',
    ])
  })

  it('does not wait for the inspector itself when measuring a live failover', () => {
    const model = new TraceModel()
    const at = (t: number) => ({ atMs: t, trueMs: t })
    model.append({ kind: 'node:meta', node: 'me', trueMs: 0, observer: true, roles: ['inspector'] })
    for (const r of announcementToRecords('a', { leader: 'a', term: 1, isSelf: true }, 10)) model.append(r)
    for (const r of announcementToRecords('b', { leader: 'a', term: 1 }, 11)) model.append(r)
    model.append({
      kind: 'member:state',
      node: 'b',
      ...at(20),
      member: 'a',
      state: 'dead',
      incarnation: 0,
      via: 'b',
    })
    for (const r of announcementToRecords('b', { leader: 'b', term: 2, isSelf: true }, 50)) model.append(r)
    expect(model.journal.failovers).toEqual([
      expect.objectContaining({ durationMs: 30, newLeader: 'b', cause: 'declared dead' }),
    ])
  })

  it('a leader change seen only as a newer leader records the previous leader as the old one', () => {
    const model = new TraceModel()
    model.append({ kind: 'node:meta', node: 'me', trueMs: 0, observer: true, roles: ['inspector'] })
    for (const r of announcementToRecords('a', { leader: 'a', term: 1, isSelf: true }, 10)) model.append(r)
    for (const r of announcementToRecords('b', { leader: 'a', term: 1 }, 11)) model.append(r)
    for (const r of announcementToRecords('b', { leader: 'b', term: 2, isSelf: true }, 40)) model.append(r)
    for (const r of announcementToRecords('a', { leader: 'b', term: 2 }, 55)) model.append(r)
    expect(model.journal.failovers).toEqual([
      expect.objectContaining({ oldLeader: 'a', newLeader: 'b', durationMs: 15, cause: 'leader change' }),
    ])
  })

  it('turns successive traffic counters into net:sample records, restarting the baseline on a reset', () => {
    const sampler = new TrafficSampler()
    const traffic = (sent: number, received: number, atMs: number, boot = 1) => ({
      role: 'follower',
      traffic: {
        msgsSent: sent,
        msgsReceived: received,
        bytesSent: sent * 10,
        bytesReceived: received * 10,
        atMs,
        boot,
      },
    })
    expect(sampler.sample('a', traffic(10, 20, 5_000), 100)).toEqual([]) // first status: baseline only
    expect(sampler.sample('a', traffic(40, 50, 6_000), 1_100)).toEqual([
      { kind: 'net:sample', node: 'a', trueMs: 1_100, windowMs: 1_000, msgs: 60, bytes: 600 },
    ])
    // Per node: b's first status does not sample against a's counters.
    expect(sampler.sample('b', traffic(100, 100, 9_000), 1_150)).toEqual([])
    // The window is the node's own clock (gossip delay does not skew the rate).
    expect(sampler.sample('a', traffic(40, 70, 6_500), 2_000)).toEqual([
      expect.objectContaining({ node: 'a', windowMs: 500, msgs: 20, bytes: 200 }),
    ])
    // Restart: counters went backwards → new baseline, no (negative) sample; then rates resume.
    expect(sampler.sample('a', traffic(3, 4, 7_000), 2_500)).toEqual([])
    expect(sampler.sample('a', traffic(13, 14, 8_000), 3_500)).toEqual([
      expect.objectContaining({ windowMs: 1_000, msgs: 20, bytes: 200 }),
    ])
    // Restart detected by a new boot epoch even when the new counters are already larger.
    expect(sampler.sample('a', traffic(500, 500, 9_000, 2), 4_500)).toEqual([])
    expect(sampler.sample('a', traffic(510, 500, 10_000, 2), 5_500)).toEqual([
      expect.objectContaining({ msgs: 10 }),
    ])
  })

  it('reads older or malformed traffic fields without throwing', () => {
    const sampler = new TrafficSampler()
    expect(sampler.sample('a', { role: 'follower' }, 0)).toEqual([]) // older node: no traffic
    expect(sampler.sample('a', { traffic: null }, 0)).toEqual([])
    expect(sampler.sample('a', { traffic: 'lots' }, 0)).toEqual([])
    expect(sampler.sample('a', { traffic: { msgsSent: 'x', msgsReceived: 1 } }, 0)).toEqual([])
    expect(sampler.sample('a', { traffic: { msgsSent: -1, msgsReceived: 1 } }, 0)).toEqual([])
    // Without bytes, atMs or boot: the window is the inspector's own clock, bytes count as 0.
    expect(sampler.sample('a', { traffic: { msgsSent: 1, msgsReceived: 1 } }, 1_000)).toEqual([])
    expect(sampler.sample('a', { traffic: { msgsSent: 5, msgsReceived: 7 } }, 3_000)).toEqual([
      { kind: 'net:sample', node: 'a', trueMs: 3_000, windowMs: 2_000, msgs: 10, bytes: 0 },
    ])
    // Same instant twice: no zero-length window.
    expect(sampler.sample('a', { traffic: { msgsSent: 6, msgsReceived: 7 } }, 3_000)).toEqual([])
  })

  it('feeds the messages-per-second chart (cluster and busiest node)', () => {
    const model = new TraceModel()
    const sampler = new TrafficSampler()
    const status = (sent: number, atMs: number) => ({ traffic: { msgsSent: sent, msgsReceived: 0, atMs } })
    for (let s = 0; s <= 4; s++) {
      const now = 10_000 + s * 1_000
      for (const r of sampler.sample('a', status(s * 100, now), now)) model.append(r)
      for (const r of sampler.sample('b', status(s * 30, now), now)) model.append(r)
    }
    model.finish()
    const rates = model.journal.rates
    expect(rates.length).toBeGreaterThan(0)
    expect(rates[0]).toMatchObject({ clusterPerSec: 130, busiestPerSec: 100, busiestNode: 'a' })
  })
})
