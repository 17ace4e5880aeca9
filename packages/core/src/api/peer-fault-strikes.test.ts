/**
 * Frames the machine rejects as the sender's fault are struck against the sender (past the
 * transport's `malformedBurst` it is cut off), and only those: the service reads the machine's
 * rejection totals around each frame and the fault codes only when a total moved
 * (conclave-service.ts receiveFrame). Real libp2p, two loopback nodes in this process; the
 * machines are scripted: the sender sends what the test queues, the receiver counts a rejection
 * chosen by the frame's first byte.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { NodeId } from '../sans-io.js'
import { RejectionCounter } from '../wire/errors.js'
import { type ConclaveNode, createConclave } from './create-conclave.js'
import { ScriptedMachine } from './scripted-machine.js'

/** First byte of a frame → what the receiving machine counts (undefined: accepted). */
const VERDICT: Record<number, string | undefined> = { 0: undefined, 1: 'truncated', 2: 'not-in-shard' }

class Scripted extends ScriptedMachine {
  readonly rejections = new RejectionCounter()
  readonly membership = {
    rejections: new RejectionCounter(),
    member: (id: NodeId) => (id === this.peer ? { meta: { addrs: this.peerAddrs } } : undefined),
    members: () => [],
  }
  peer: NodeId | undefined
  peerAddrs: string[] = []
  received = 0
  queue(first: number, n: number): void {
    for (let i = 0; i < n; i++)
      this.outbox.push({
        to: this.peer as NodeId,
        layer: 'shard',
        type: 'test',
        bytes: new Uint8Array([first, i]),
      })
  }
  override receive(_from: NodeId, _layer: string, bytes: Uint8Array): void {
    this.received++
    const code = VERDICT[bytes[0] as number]
    // Membership counts fault codes too: the service sums both counters.
    if (code) (bytes[1] === 1 ? this.membership.rejections : this.rejections).add(code)
  }
}

const nodes: ConclaveNode[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function start(): Promise<{ node: ConclaveNode; machine: Scripted }> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-strikes-'))
  dirs.push(dir)
  let machine: Scripted | undefined
  const node = await createConclave({
    dataDir: dir,
    init: true,
    machineFactory: (ctx) => {
      machine = new Scripted(ctx.id)
      return machine
    },
  })
  nodes.push(node)
  return { node, machine: machine as Scripted }
}

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('peer faults counted by the machine', () => {
  it('strikes the sender for fault codes only, and cuts it off past the burst', async () => {
    const a = await start()
    const b = await start()
    a.machine.peer = b.node.id
    a.machine.peerAddrs = b.node.libp2p.getMultiaddrs().map((m) => m.toString().replace(/\/p2p\/.*$/, ''))
    const send = (first: number, n: number) => a.node.service.driver?.run(() => a.machine.queue(first, n))
    const cutOffs = () => b.node.service.transport?.cutOffs.get('malformed') ?? 0

    // Accepted frames and rejections that are not the sender's fault never cut it off.
    send(0, 30)
    send(2, 30)
    await until('60 frames received', () => b.machine.received === 60)
    const notInShard = (m: Scripted) =>
      m.rejections.get('not-in-shard') + m.membership.rejections.get('not-in-shard')
    expect(notInShard(b.machine)).toBe(30)
    // Faults counted outside a frame (as a tick could) are not struck against the next sender,
    // even when that frame is itself rejected for another reason.
    for (let i = 0; i < 25; i++) b.machine.rejections.add('truncated')
    send(2, 1)
    send(0, 4)
    await until('65 frames received', () => b.machine.received === 65)
    expect(cutOffs()).toBe(0)

    // Fault codes, in either counter: struck; past the burst (20) the peer is cut off. (An extra
    // strike above, had the outside faults been struck, would cut it off at the 20th here.)
    send(1, 20)
    await until('85 frames received', () => b.machine.received === 85)
    expect(cutOffs()).toBe(0)
    send(1, 5)
    await until('the sender cut off', () => cutOffs() === 1)
    expect(b.node.service.transport?.isBannedPeer(a.node.id)).toBe(true)
  }, 40_000)
})
