/**
 * The cost of one small frame on the wire, over real libp2p on 127.0.0.1 (libp2pBaseOptions):
 * one socket write per message at the sender and none at the receiver (coalescing-tcp.ts: Noise's
 * length and ciphertext in one write; lazy-window-yamux.ts: no window update per data frame),
 * while a transfer far larger than the yamux window still completes (flow control intact).
 * With stock @libp2p/tcp + @libp2p/yamux the same messages took four writes each. And no error
 * is made per read (quiet-noise.ts: the stock Noise decoder threw a RangeError on every read).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Libp2p, Stream } from '@libp2p/interface'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadOrCreatePrivateKey } from './identity.js'
import { libp2pBaseOptions } from './libp2p-options.js'

const PROTOCOL = '/conclave-test/write-path/1'
const dir = mkdtempSync(join(tmpdir(), 'conclave-wp-'))
const nodes: Libp2p[] = []
let received = 0
let stream: Stream

async function node(name: string): Promise<Libp2p> {
  const privateKey = await loadOrCreatePrivateKey(join(dir, name))
  const n = await createLibp2p(
    libp2pBaseOptions({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [] }),
  )
  nodes.push(n)
  return n
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Socket writes (both nodes: they share this process) while `fn` runs. */
async function countWrites(fn: () => Promise<void>): Promise<number> {
  const write = Socket.prototype.write
  let writes = 0
  Socket.prototype.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    writes++
    return write.apply(this, args)
  } as Socket['write']
  try {
    await fn()
  } finally {
    Socket.prototype.write = write
  }
  return writes
}

beforeAll(async () => {
  const a = await node('a')
  const b = await node('b')
  await b.handle(PROTOCOL, (s) => {
    s.addEventListener('message', (e) => {
      received += e.data.byteLength
    })
  })
  const addr = b.getMultiaddrs()[0]
  if (!addr) throw new Error('no address')
  stream = await a.dialProtocol(addr, PROTOCOL)
  // Settle the stream's opening (SYN/ACK) and the connection's first keep-alive ping.
  stream.send(new Uint8Array(100))
  await until(() => received === 100)
  await new Promise((r) => setTimeout(r, 200))
})

afterAll(async () => {
  for (const n of nodes) await n.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('the write path of a small frame', () => {
  it('takes one socket write per message, and none at the receiver', async () => {
    const messages = 200
    const writes = await countWrites(async () => {
      for (let i = 0; i < messages; i++) {
        const want = received + 120
        stream.send(new Uint8Array(120))
        await until(() => received === want)
      }
    })
    // Stock tcp + yamux: 2 writes per message (Noise length, ciphertext) + 2 per window update.
    expect(writes).toBeGreaterThanOrEqual(messages)
    expect(writes).toBeLessThanOrEqual(messages * 1.05 + 4)
  })

  it('makes no RangeError per read (the stock Noise decoder threw one at the end of every read)', async () => {
    const Stock = globalThis.RangeError
    let made = 0
    const counting = new Proxy(Stock, {
      apply: (target, self, args) => {
        made++
        return Reflect.apply(target, self, args)
      },
      construct: (target, args, newTarget) => {
        made++
        return Reflect.construct(target, args, newTarget)
      },
    })
    globalThis.RangeError = counting
    try {
      for (let i = 0; i < 100; i++) {
        const want = received + 120
        stream.send(new Uint8Array(120))
        await until(() => received === want)
      }
    } finally {
      globalThis.RangeError = Stock
    }
    // Stock decoder: at least one per message read (≥ 100).
    expect(made).toBeLessThan(10)
  })

  it('still moves data far beyond the 256 KiB yamux window (window updates when half is used)', async () => {
    const chunk = new Uint8Array(16 * 1024)
    const total = 4 * 1024 * 1024
    const want = received + total
    for (let sent = 0; sent < total; sent += chunk.byteLength) {
      if (!stream.send(chunk)) await stream.onDrain()
    }
    await until(() => received === want)
    expect(received).toBe(want)
  })
})
