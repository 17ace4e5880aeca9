import type { ConclaveNode, TraceEvent } from '@conclave/core'
import { describe, expect, it } from 'vitest'
import { launchMembersTarget, watchLaunchMilestones } from './launch-milestones.js'
import { jsonLogger } from './logger.js'
import { UsageError } from './options.js'

/** A node whose service has trace observers and whose membership table is `members`. */
function fakeNode(members: { id: string; state: string }[]) {
  const observers = new Set<(ev: TraceEvent) => void>()
  const service = {
    machine: { membership: { members: () => members } },
    observeTrace(fn: (ev: TraceEvent) => void) {
      observers.add(fn)
      return () => observers.delete(fn)
    },
    // A `trace` listener would make the real service build a CustomEvent per trace event.
    addEventListener: () => {
      throw new Error('listened to trace events')
    },
  }
  const emit = (ev: Partial<TraceEvent>) => {
    for (const fn of [...observers]) fn({ node: 'me', atMs: 0, ...ev } as TraceEvent)
  }
  return { node: { service } as unknown as ConclaveNode, observers, emit }
}

function capture() {
  const lines: Record<string, unknown>[] = []
  return { lines, log: jsonLogger('info', {}, (l) => lines.push(JSON.parse(l) as Record<string, unknown>)) }
}

describe('launch milestones', () => {
  it('reads CONCLAVE_LAUNCH_MEMBERS', () => {
    expect(launchMembersTarget(undefined)).toBeUndefined()
    expect(launchMembersTarget('')).toBeUndefined()
    expect(launchMembersTarget('100')).toBe(100)
    for (const bad of ['0', '-3', '2.5', 'x', '100001'])
      expect(() => launchMembersTarget(bad)).toThrow(UsageError)
  })

  it('is off without the variable', () => {
    const { node, emit } = fakeNode([])
    const { lines, log } = capture()
    watchLaunchMilestones(node, {}, log)
    emit({ kind: 'shard:role', shard: 0, term: 1, role: 'follower' })
    expect(lines).toEqual([])
  })

  it('logs each milestone once, members counting this node and alive members only', () => {
    const members = [
      { id: 'a', state: 'alive' },
      { id: 'b', state: 'suspect' },
    ]
    const { node, observers, emit } = fakeNode(members)
    const { lines, log } = capture()
    watchLaunchMilestones(node, { CONCLAVE_LAUNCH_MEMBERS: '3' }, log)
    emit({ kind: 'member:join', member: 'b', incarnation: 0 })
    expect(lines).toEqual([]) // me + a: 2 of 3
    emit({ kind: 'shard:role', shard: 2, term: 0, role: 'observer' })
    expect(lines).toEqual([]) // a learner is not in the shard yet
    members[1] = { id: 'b', state: 'alive' }
    emit({ kind: 'member:state', member: 'b', state: 'alive', incarnation: 1, via: 'b' })
    emit({ kind: 'member:state', member: 'b', state: 'alive', incarnation: 2, via: 'b' })
    emit({ kind: 'shard:role', shard: 2, term: 1, role: 'follower' })
    emit({ kind: 'shard:role', shard: 2, term: 2, role: 'candidate' })
    expect(lines.map((l) => [l.msg, l.what])).toEqual([
      ['launch:milestone', 'members'],
      ['launch:milestone', 'shard'],
    ])
    expect(lines[0]?.alive).toBe(3)
    expect(lines[1]?.shard).toBe(2)
    expect(observers.size).toBe(1)
    emit({ kind: 'shard:leader', shard: 2, term: 2, leader: 'a' })
    expect(lines.map((l) => l.what)).toEqual(['members', 'shard', 'shard-leader'])
    expect(typeof lines[2]?.wallMs).toBe('number')
    // All three logged: the observer is gone, later events log nothing.
    expect(observers.size).toBe(0)
    emit({ kind: 'shard:leader', shard: 2, term: 3, leader: 'b' })
    expect(lines).toHaveLength(3)
  })
})
