import { describe, expect, it } from 'vitest'
import { TraceModel } from '../model/trace-model.js'
import { announcementToRecords, statusToRecords } from './live-observer.js'

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
})
