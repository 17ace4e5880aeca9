/**
 * `identifyOnConnect: false` (what a Conclave node runs with, create-conclave.ts): two nodes that
 * connect open no identify and no gossipsub streams to each other, while an observer that does
 * identify (the inspector) still gets a node's gossipsub publishes: its gossipsub opens a stream
 * to the node and the node's opens one back.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import { createLibp2p } from 'libp2p'
import { afterAll, describe, expect, it } from 'vitest'
import { loadOrCreatePrivateKey } from './identity.js'
import { libp2pBaseOptions } from './libp2p-options.js'

const dir = mkdtempSync(join(tmpdir(), 'conclave-identify-'))
const nodes: Libp2p[] = []
const TOPIC = 'conclave-test/identify/1'

interface PubSub {
  subscribe(topic: string): void
  publish(topic: string, data: Uint8Array): Promise<unknown>
  getSubscribers(topic: string): unknown[]
  addEventListener(type: 'message', cb: (e: CustomEvent<{ topic: string; data: Uint8Array }>) => void): void
}

async function node(name: string, identifyOnConnect: boolean): Promise<Libp2p> {
  const privateKey = await loadOrCreatePrivateKey(join(dir, name))
  const n = await createLibp2p(
    libp2pBaseOptions({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], identifyOnConnect }),
  )
  nodes.push(n)
  return n
}

const pubsubOf = (n: Libp2p) => (n.services as Record<string, unknown>).pubsub as PubSub

function protocolsTo(n: Libp2p, peer: Libp2p): string[] {
  return n.getConnections(peer.peerId).flatMap((c) => c.streams.map((s) => s.protocol ?? ''))
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()))
  rmSync(dir, { recursive: true, force: true })
})

describe('identifyOnConnect', () => {
  it('false: nodes open neither identify nor gossipsub streams to each other', async () => {
    const a = await node('a', false)
    const b = await node('b', false)
    let identified = 0
    a.addEventListener('peer:identify', () => identified++)
    b.addEventListener('peer:identify', () => identified++)
    await a.dial(b.getMultiaddrs())
    await until(() => b.getConnections(a.peerId).length > 0)
    await new Promise((r) => setTimeout(r, 500))
    expect(identified).toBe(0)
    expect([...protocolsTo(a, b), ...protocolsTo(b, a)]).toEqual([])
  })

  it('an identifying observer still gets a non-identifying node’s publishes', async () => {
    const n = await node('n', false)
    const observer = await node('observer', true)
    const got: string[] = []
    let identified = 0
    observer.addEventListener('peer:identify', () => identified++)
    pubsubOf(observer).subscribe(TOPIC)
    pubsubOf(observer).addEventListener('message', (e) => {
      if (e.detail.topic === TOPIC) got.push(new TextDecoder().decode(e.detail.data))
    })
    await observer.dial(n.getMultiaddrs())
    await until(() => pubsubOf(n).getSubscribers(TOPIC).length === 1)
    await pubsubOf(n).publish(TOPIC, new TextEncoder().encode('status'))
    await until(() => got.length === 1)
    expect(got).toEqual(['status'])
    expect(identified).toBe(1) // the observer identified the node (that is what starts gossipsub)
  })
})
