/**
 * Real libp2p on 127.0.0.1, in one process: frames arrive in order over the reused stream, and a
 * peer that sends a malformed frame is counted, cut off (its connection closed) and refused.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import { afterAll, describe, expect, it } from 'vitest'
import { type ConclaveNode, createConclave } from '../api/create-conclave.js'
import type { LeaderMachine } from '../api/leader-machine.js'
import type { Layer, NodeId, Outbound, Ready } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'
import { loadOrCreatePrivateKey } from './identity.js'
import { libp2pBaseOptions } from './libp2p-options.js'
import { PROTOCOLS } from './protocols.js'

/** A machine that records what it receives and sends what the test queues. */
class EchoMachine implements LeaderMachine {
  readonly got: { from: NodeId; layer: Layer; text: string }[] = []
  outbox: Outbound[] = []
  constructor(readonly id: NodeId) {}
  tick(): void {}
  receive(from: NodeId, layer: Layer, bytes: Uint8Array): void {
    this.got.push({ from, layer, text: new TextDecoder().decode(bytes) })
  }
  nextTickAtMs(): number {
    return Number.POSITIVE_INFINITY
  }
  drain(): Ready<TraceEvent> {
    const send = this.outbox
    this.outbox = []
    return { persist: [], send, events: [] }
  }
  isLeader(): boolean {
    return false
  }
  leader(): undefined {
    return undefined
  }
  fencingToken(): undefined {
    return undefined
  }
}

const dir = mkdtempSync(join(tmpdir(), 'conclave-ps-'))
const nodes: ConclaveNode[] = []
afterAll(async () => {
  for (const n of nodes) await n.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function start(
  name: string,
  bootstrap: string[] = [],
): Promise<{ node: ConclaveNode; machine: EchoMachine }> {
  let machine: EchoMachine | undefined
  const node = await createConclave({
    dataDir: join(dir, name),
    bootstrap,
    machineFactory: (ctx) => (machine = new EchoMachine(ctx.id)),
  })
  nodes.push(node)
  return { node, machine: machine as EchoMachine }
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('PeerStreams over real libp2p', () => {
  it('delivers frames in order on every layer', async () => {
    const a = await start('a')
    const addr = a.node.libp2p.getMultiaddrs()[0]?.toString() as string
    const b = await start('b', [addr])
    const texts = Array.from({ length: 50 }, (_, i) => `m${i}`)
    b.machine.outbox = [
      ...texts.map((t) => ({
        to: a.node.id,
        layer: 'shard' as const,
        type: 't',
        bytes: new TextEncoder().encode(t),
      })),
      { to: a.node.id, layer: 'global', type: 't', bytes: new TextEncoder().encode('g') },
    ]
    b.node.service.driver?.run(() => {})
    await until(() => a.machine.got.length === 51)
    expect(a.machine.got.filter((g) => g.layer === 'shard').map((g) => g.text)).toEqual(texts)
    expect(a.machine.got.every((g) => g.from === b.node.id)).toBe(true)
  })

  it('counts a malformed frame, cuts the peer off and refuses it afterwards', async () => {
    const a = await start('victim')
    const key = await loadOrCreatePrivateKey(join(dir, 'attacker'))
    const attacker = await createLibp2p(
      libp2pBaseOptions({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [] }),
    )
    try {
      const target = a.node.libp2p.getMultiaddrs()[0]
      if (!target) throw new Error('no address')
      const stream = await attacker.dialProtocol(target, PROTOCOLS.membership)
      stream.send(Uint8Array.of(0xff, 0xff, 0xff, 0x7f)) // a 268 MB frame length
      const transport = a.node.service.transport
      await until(() => (transport?.rejections.get('oversized') ?? 0) === 1)
      await until(() => a.node.libp2p.getConnections(attacker.peerId).length === 0)
      // Refused while banned: a new stream is aborted at once, nothing is delivered.
      const again = await attacker.dialProtocol(target, PROTOCOLS.membership).catch(() => undefined)
      try {
        again?.send(Uint8Array.of(1, 65)) // a well-formed frame: would be delivered if not refused
      } catch {
        // the stream was already reset by the victim: refused
      }
      await new Promise((r) => setTimeout(r, 300))
      expect(a.machine.got).toEqual([])
    } finally {
      await attacker.stop()
    }
  })
})
