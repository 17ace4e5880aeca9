import type { Machine, Ready } from '@conclave/core'
import { describe, expect, it } from 'vitest'
import { checkContextOf, deadStaysDead, falseDeaths, falseSuspicions } from './checkers/index.js'
import { lanNetwork } from './network-model.js'
import { idsFor } from './peer-ids.js'
import { type NodeContext, Simulation } from './simulation.js'
import { type HeartbeatConfig, HeartbeatMachine, heartbeatDefaults } from './testing/heartbeat-machine.js'

function cluster(n: number, seed: number, config: HeartbeatConfig = heartbeatDefaults) {
  const sim = new Simulation({ seed, network: lanNetwork() })
  const ids = idsFor(n, seed)
  const boots: NodeContext[] = []
  const factory = HeartbeatMachine.factory(ids, config)
  for (const id of ids) {
    sim.addNode(id, (ctx) => {
      boots.push(ctx)
      return factory(ctx)
    })
  }
  const hb = (id: string) => sim.machine<HeartbeatMachine>(id) as HeartbeatMachine
  return { sim, ids, boots, hb }
}

/** A scenario with every kind of fault, for the determinism tests. */
function faultyRun(seed: number): string {
  const { sim, ids } = cluster(12, seed)
  const [a, b, c, d] = ids as [string, string, string, string]
  sim.schedule(1000, () => sim.crash(a))
  sim.schedule(1500, () => sim.pause(b, 700))
  sim.schedule(2000, () => sim.setLoss(0.1))
  sim.schedule(2500, () => sim.partition([c], ids.slice(4), { oneWay: true }))
  sim.schedule(3500, () => sim.heal())
  sim.schedule(4000, () => sim.restart(a))
  sim.schedule(4200, () => sim.partition([d], ids.slice(4)))
  sim.runUntil(6000)
  return sim.traceHash()
}

describe('Simulation', () => {
  it('replays a faulty run to the same trace hash, and another seed changes it', () => {
    const h1 = faultyRun(1)
    expect(faultyRun(1)).toBe(h1)
    expect(faultyRun(2)).not.toBe(h1)
  })

  it('counts one dial per node pair, by the type of its first message, only while tracking', () => {
    const { sim } = cluster(6, 4)
    sim.accounting.trackDials(true)
    sim.runUntil(2000)
    const dials = sim.accounting.dials()
    // Every node heartbeats every other: each of the 15 pairs is dialled once, whichever side first.
    expect([...dials.values()].reduce((a, b) => a + b, 0)).toBe(15)
    expect([...dials.keys()]).toEqual(['membership/beat'])
    sim.accounting.trackDials(false)
    sim.runUntil(3000)
    expect(sim.accounting.isTrackingDials).toBe(false)
    expect(sim.accounting.dials()).toEqual(dials) // stopped: kept, not grown
    sim.accounting.trackDials(true)
    expect(sim.accounting.dials().size).toBe(0) // a new count starts from no connection
  })

  it('detects a crash, restarts from persisted state with a new boot epoch, and checkers stay quiet', () => {
    const { sim, ids, boots, hb } = cluster(10, 3)
    const victim = ids[0] as string
    sim.runUntil(1000)
    sim.crash(victim)
    expect(sim.machine(victim)).toBeUndefined()
    sim.runUntil(2500)
    for (const id of ids.slice(1)) expect(hb(id).stateOf(victim)).toBe('dead')
    sim.restart(victim)
    const reboot = boots.at(-1) as NodeContext
    expect(reboot.id).toBe(victim)
    expect(reboot.bootEpoch).toBe(1)
    expect(reboot.stored.get('hb/boots')).toEqual(Uint8Array.of(1))
    sim.runUntil(3000)
    for (const id of ids.slice(1)) expect(hb(id).stateOf(victim)).toBe('alive')
    const ctx = checkContextOf(sim)
    expect(falseDeaths(sim.trace, ctx)).toEqual([])
    expect(deadStaysDead(sim.trace, ctx)).toEqual([])
    expect(sim.accounting.dropped.down).toBeGreaterThan(0)
  })

  it('only ticks machines when they are due (no busy ticking)', () => {
    const { sim } = cluster(10, 4)
    sim.runUntil(10_000)
    // Per node per 100 ms: one beat tick (+ at most one suspicion-timer tick) and 9 deliveries.
    const beats = 10 * (10_000 / 100)
    expect(sim.stepsDone).toBeGreaterThan(beats * 9)
    expect(sim.stepsDone).toBeLessThan(beats * 12)
  })

  it('catches a node that revives a dead peer without a new incarnation (invariant 7)', () => {
    for (const buggy of [false, true]) {
      const { sim, ids } = cluster(6, 5, { ...heartbeatDefaults, reviveWithoutIncarnation: buggy })
      sim.schedule(500, () => sim.partition(ids.slice(0, 3), ids.slice(3)))
      sim.schedule(2500, () => sim.heal())
      sim.runUntil(4000)
      const violations = deadStaysDead(sim.trace, checkContextOf(sim))
      if (buggy) expect(violations.length).toBeGreaterThan(0)
      else expect(violations).toEqual([])
      // Partitioned nodes were declared dead, but that is excused: they were unreachable.
      expect(falseDeaths(sim.trace, checkContextOf(sim))).toEqual([])
    }
  })

  it('flags deaths of healthy nodes as false deaths', () => {
    // Timeouts shorter than the beat interval: every node is "dead" between beats.
    const { sim } = cluster(4, 6, { intervalMs: 100, suspectAfterMs: 20, deadAfterMs: 40 })
    sim.runUntil(1000)
    expect(falseSuspicions(sim.trace, checkContextOf(sim)).length).toBeGreaterThan(0)
    expect(falseDeaths(sim.trace, checkContextOf(sim)).length).toBeGreaterThan(0)
  })

  it('pauses a node: no ticks, no receives, messages buffered and read on resume after notePause', () => {
    const { sim, ids, hb } = cluster(5, 7)
    const sleeper = ids[0] as string
    sim.runUntil(1000)
    const before = sim.accounting.node(sleeper).recvMsgs
    const sentBefore = sim.accounting.node(sleeper).sentMsgs
    sim.pause(sleeper, 2000)
    sim.runUntil(2990)
    expect(sim.isPaused(sleeper)).toBe(true)
    expect(sim.accounting.node(sleeper).recvMsgs).toBe(before)
    expect(sim.accounting.node(sleeper).sentMsgs).toBe(sentBefore)
    for (const id of ids.slice(1)) expect(hb(id).stateOf(sleeper)).toBe('dead')
    sim.runUntil(3010)
    expect(sim.isPaused(sleeper)).toBe(false)
    expect(hb(sleeper).pausesNoted).toBe(1)
    // About 2 s of beats from 4 peers were buffered and read on resume.
    expect(sim.accounting.node(sleeper).recvMsgs - before).toBeGreaterThan(4 * 18)
    // Timers fire before the buffered beats are read, so the sleeper accuses its healthy peers:
    // exactly what Lifeguard's local health is for. The checker sees it; the sleeper is excused.
    const accused = falseSuspicions(sim.trace, checkContextOf(sim))
    expect(accused.length).toBeGreaterThan(0)
    for (const v of accused) expect(v.node).toBe(sleeper)
  })

  it('blocks one direction only with a one-way partition', () => {
    const { sim, ids, hb } = cluster(4, 8)
    const [a, b] = ids as [string, string]
    sim.partition([a], [b], { oneWay: true })
    sim.runUntil(2000)
    expect(hb(b).stateOf(a)).toBe('dead') // a → b is blocked
    expect(hb(a).stateOf(b)).toBe('alive') // b → a still flows
    expect(sim.accounting.dropped.partition).toBeGreaterThan(0)
  })

  it('drops everything at loss 1, and accounts sent = received + dropped', () => {
    const { sim } = cluster(6, 9)
    sim.runUntil(1000)
    sim.setLoss(1)
    sim.runUntil(2000)
    let sent = 0
    let recv = 0
    for (const t of sim.accounting.perNode.values()) {
      sent += t.sentMsgs
      recv += t.recvMsgs
    }
    const d = sim.accounting.dropped
    expect(d.loss).toBeGreaterThan(0)
    expect(sent).toBe(recv + d.loss + d.down + d.partition + d.restarted + d['inbox-full'])
    const beat = sim.accounting.byType().get('membership/beat')
    expect(beat?.sentBytes).toBe(2 * (beat?.sentMsgs ?? 0))
  })

  it('runs each node on its own drifting clock and maps local times back to true time', () => {
    const sim = new Simulation({ seed: 10, network: lanNetwork() })
    const ids = idsFor(2, 10)
    const seen: number[] = []
    const probe = (id: string, everyMs: number): Machine => {
      let next = 0
      return {
        id,
        tick(nowMs) {
          seen.push(nowMs)
          next = nowMs + everyMs
        },
        receive() {},
        nextTickAtMs: () => next,
        drain: (): Ready => ({ persist: [], send: [], events: [] }),
      }
    }
    sim.addNode(ids[0] as string, (ctx) => probe(ctx.id, 100), { offsetMs: 5000, driftPpm: 10_000 })
    sim.addNode(ids[1] as string, (ctx) => probe(ctx.id, 100))
    sim.runUntil(1000)
    expect(sim.localNow(ids[0] as string)).toBeCloseTo(5000 + 1010, 6)
    expect(sim.trueTimeOf(ids[0] as string, 5000 + 1010)).toBeCloseTo(1000, 6)
    // The fast clock's 100 ms timer fires every 99.0099 true ms: 11 ticks in [0, 1000] vs 11 (0..1000).
    const fast = seen.filter((t) => t >= 5000)
    const plain = seen.filter((t) => t < 5000)
    expect(fast.length).toBe(11)
    expect(plain.length).toBe(11)
    for (let i = 1; i < fast.length; i++)
      expect((fast[i] as number) - (fast[i - 1] as number)).toBeCloseTo(100, 6)
  })
})
