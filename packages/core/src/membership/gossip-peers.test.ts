import { describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import { lanConfig, type MembershipConfig, validateConfig } from './config.js'
import { idHash, pairScore, Ring } from './ring.js'
import { cluster, testIds } from './test-net.js'

const P = 4
const withPeers = (): MembershipConfig => ({ ...lanConfig(), gossipPeers: P })

describe('ring: lowest pair scores', () => {
  it('picks the k members with the lowest symmetric score, stable as the ring grows', () => {
    const ids = testIds(200)
    const ring = new Ring()
    const me = ids[0] as NodeId
    const sets: string[] = []
    for (const id of ids) {
      ring.add(id, idHash(id))
      sets.push(ring.lowestPairScores(me, idHash(me), 6).join(','))
    }
    const final = ring.lowestPairScores(me, idHash(me), 6)
    expect(final).toHaveLength(6)
    expect(final).not.toContain(me)
    // Against a brute-force ranking by the same score.
    const brute = [...ids]
      .filter((id) => id !== me)
      .map((id) => ({ id, s: pairScore(idHash(me), idHash(id)) }))
      .sort((a, b) => a.s - b.s)
      .slice(0, 6)
      .map((x) => x.id)
    expect(final).toEqual(brute)
    // Growing from 7 to 200 members changed the set only when a newcomer ranked among the 6.
    let changes = 0
    for (let i = 7; i < sets.length; i++) if (sets[i] !== sets[i - 1]) changes++
    expect(changes).toBeLessThan(6 * Math.log(200 / 6) + 10)
  })
})

describe('membership: bounded gossip peers (gossipPeers > 0)', () => {
  it('validates the bound', () => {
    expect(() => validateConfig({ ...lanConfig(), gossipPeers: -1 })).toThrow()
    expect(() => validateConfig({ ...lanConfig(), gossipPeers: 1.5 })).toThrow()
    validateConfig(withPeers())
  })

  it('60 nodes converge; gossip, anti-entropy and ping-req frames go only to the sender’s gossip peers', () => {
    const net = cluster(60, 8000, withPeers)
    for (const m of net.nodes.values()) expect(m.aliveCount()).toBe(60)
    const from = net.sent.length
    net.run(net.nowMs + 10_000)
    const picked = net.sent.slice(from).filter((s) => ['gossip', 'digest', 'ping-req'].includes(s.type))
    expect(picked.length).toBeGreaterThan(0)
    for (const s of picked) expect(net.node(s.from).gossipPeerIds()).toContain(s.to)
    // Every node talks to at most its gossip peers, its probe subjects and those that talk to it.
    const talked = new Map<NodeId, Set<NodeId>>()
    for (const s of net.sent.slice(from)) {
      for (const [a, b] of [[s.from, s.to] as const, [s.to, s.from] as const]) {
        const set = talked.get(a) ?? new Set<NodeId>()
        set.add(b)
        talked.set(a, set)
      }
    }
    const sizes = [...talked.values()].map((s) => s.size)
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length
    expect(Math.max(...[...net.nodes.values()].map((m) => m.gossipPeerIds().length))).toBeLessThanOrEqual(
      P + 6,
    )
    expect(mean).toBeLessThan(20) // of 59 others
  })

  it('a crash among 60 is declared dead by every survivor; a join reaches everyone', () => {
    const net = cluster(60, 8000, withPeers)
    const victim = testIds(60)[17] as NodeId
    const crashAt = net.nowMs
    net.crash(victim)
    net.run(crashAt + 5000)
    for (const [id, m] of net.nodes) if (id !== victim) expect(m.member(victim)?.state).toBe('dead')
    const late = '12D3KooWlatecomer'
    net.add(late).join([testIds(60)[5] as NodeId], net.nowMs)
    net.run(net.nowMs + 5000)
    for (const [id, m] of net.nodes) if (id !== victim) expect(m.member(late)?.state, id).toBe('alive')
  })
})
