/**
 * The service publishes what the inspector reads (real libp2p, one loopback node): its NodeStatus
 * on TOPIC_STATUS on every leader change (and periodically), and each leader change it sees on
 * TOPIC_LEADER. The publish method of the node's gossipsub is wrapped to record what goes out.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { TOPIC_LEADER, TOPIC_STATUS } from '../runtime/protocols.js'
import type { NodeId } from '../sans-io.js'
import { emptyReady } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'
import { STATUS_MAX_BYTES } from './conclave-service.js'
import { type ConclaveNode, createConclave } from './create-conclave.js'
import type { LeaderMachine, MachineContext } from './leader-machine.js'

interface Sent {
  topic: string
  body: Record<string, unknown>
  bytes: number
}

/** A follower whose known leader the test sets; it reports a NodeStatus-shaped status. */
class ScriptedFollower implements LeaderMachine {
  known: { id: NodeId; term: number } | undefined
  constructor(readonly id: NodeId) {}
  tick(): void {}
  receive(): void {}
  nextTickAtMs(): number {
    return Number.POSITIVE_INFINITY
  }
  drain() {
    return emptyReady<TraceEvent>()
  }
  isLeader(): boolean {
    return false
  }
  leader() {
    return this.known
  }
  fencingToken(): undefined {
    return undefined
  }
  status(): object {
    return {
      id: this.id,
      role: 'follower',
      globalLeader: this.known?.id ?? null,
      globalTerm: this.known?.term ?? 0,
    }
  }
}

async function startRecorded(
  statusIntervalMs: number,
  machineFactory?: (ctx: MachineContext) => LeaderMachine,
  subscribed = true,
): Promise<{ node: ConclaveNode; sent: Sent[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-status-'))
  dirs.push(dir)
  const node = await createConclave({
    dataDir: dir,
    init: true,
    statusIntervalMs,
    ...(machineFactory ? { machineFactory } : {}),
  })
  nodes.push(node)
  const sent: Sent[] = []
  const pubsub = (node.libp2p.services as Record<string, unknown>).pubsub as {
    publish(topic: string, data?: Uint8Array): Promise<unknown>
    getSubscribers(topic: string): unknown[]
  }
  // A lone node has no subscriber: stand in for an inspector connected to it (or for none).
  pubsub.getSubscribers = () => (subscribed ? ['inspector'] : [])
  const real = pubsub.publish.bind(pubsub)
  pubsub.publish = (topic, data) => {
    const text = new TextDecoder().decode(data)
    sent.push({ topic, body: JSON.parse(text) as Record<string, unknown>, bytes: data?.length ?? 0 })
    return real(topic, data)
  }
  return { node, sent }
}

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const nodes: ConclaveNode[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('status and leader publishing', () => {
  it('a follower publishes its NodeStatus and an announcement as soon as it learns a new leader', async () => {
    let machine: ScriptedFollower | undefined
    const { node, sent } = await startRecorded(0, (ctx) => {
      machine = new ScriptedFollower(ctx.id)
      return machine
    }) // statusIntervalMs 0: no periodic publish, so every status seen here is a change
    expect(sent.filter((s) => s.topic === TOPIC_STATUS)).toEqual([])
    const other = 'some-other-leader'
    node.service.driver?.run(() => {
      machine!.known = { id: other, term: 7 }
    })
    const status = sent.filter((s) => s.topic === TOPIC_STATUS)
    expect(status.map((s) => s.body)).toEqual([
      {
        id: node.id,
        role: 'follower',
        globalLeader: other,
        globalTerm: 7,
        traffic: {
          msgsSent: expect.any(Number),
          msgsReceived: expect.any(Number),
          bytesSent: expect.any(Number),
          bytesReceived: expect.any(Number),
          atMs: expect.any(Number),
          boot: expect.any(Number),
        },
      },
    ])
    expect(status[0]!.bytes).toBeLessThanOrEqual(STATUS_MAX_BYTES)
    expect(sent.filter((s) => s.topic === TOPIC_LEADER).map((s) => s.body)).toEqual([
      expect.objectContaining({ leader: other, term: 7, isSelf: false }),
    ])
    node.service.driver?.run(() => {}) // no change: nothing more goes out
    expect(sent.length).toBe(2)
  }, 40_000)

  it('publishes its NodeStatus periodically', async () => {
    const { sent } = await startRecorded(50)
    await until(
      'five periodic status messages',
      () => sent.filter((s) => s.topic === TOPIC_STATUS).length >= 5,
    )
    expect(sent.filter((s) => s.topic === TOPIC_STATUS).every((s) => typeof s.body.role === 'string')).toBe(
      true,
    )
  }, 40_000)

  it('publishes nothing while nobody subscribes, not even a change (gossipsub would sign and drop it on every node during a failover)', async () => {
    let machine: ScriptedFollower | undefined
    const { node, sent } = await startRecorded(
      20,
      (ctx) => {
        machine = new ScriptedFollower(ctx.id)
        return machine
      },
      false,
    )
    await new Promise((r) => setTimeout(r, 300)) // ≥ 10 periods
    expect(sent.filter((s) => s.topic === TOPIC_STATUS)).toEqual([])
    node.service.driver?.run(() => {
      machine!.known = { id: 'some-other-leader', term: 3 }
    })
    expect(node.service.leader()).toEqual({ id: 'some-other-leader', term: 3 })
    expect(sent).toEqual([])
  }, 40_000)

  it('adds cumulative traffic counters to the published status, never decreasing', async () => {
    const { sent } = await startRecorded(50)
    await until(
      'three periodic status messages',
      () => sent.filter((s) => s.topic === TOPIC_STATUS).length >= 3,
    )
    const traffic = sent
      .filter((s) => s.topic === TOPIC_STATUS)
      .map((s) => s.body.traffic as Record<string, number>)
    for (const t of traffic) {
      for (const k of ['msgsSent', 'msgsReceived', 'bytesSent', 'bytesReceived', 'atMs']) {
        expect(Number.isFinite(t[k]) && t[k]! >= 0).toBe(true)
      }
    }
    for (let i = 1; i < traffic.length; i++) {
      expect(traffic[i]!.msgsSent).toBeGreaterThanOrEqual(traffic[i - 1]!.msgsSent!)
      expect(traffic[i]!.atMs).toBeGreaterThanOrEqual(traffic[i - 1]!.atMs!)
    }
  }, 40_000)
})
