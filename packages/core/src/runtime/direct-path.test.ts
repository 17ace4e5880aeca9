/**
 * The direct path (direct-path.ts): on @libp2p/utils' own AbstractMessageStream, a chunk goes
 * by a call only while nothing is buffered or queued, and every other case (paused, buffered,
 * another listener, a full transport, a send made from inside a send, a failing send, someone
 * waiting for `idle`) behaves as the stock stream does, in order. Over real libp2p (createConclave,
 * TCP + Noise + yamux), Conclave's frames cross every layer without a `message` or `idle` event.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { noise } from '@chainsafe/libp2p-noise'
import type { Libp2p, Logger, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { AbstractMessageStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import { type ConclaveNode, createConclave } from '../api/create-conclave.js'
import { ScriptedMachine } from '../api/scripted-machine.js'
import type { Layer, NodeId } from '../sans-io.js'
import { generatePsk, parsePsk } from './admission.js'
import { type Chunk, directReceive, directSend } from './direct-path.js'
import { loadOrCreatePrivateKey } from './identity.js'
import { libp2pBaseOptions } from './libp2p-options.js'

const log = Object.assign(() => {}, {
  enabled: false,
  trace: () => {},
  error: () => {},
  newScope: () => log,
}) as unknown as Logger

/** A message stream whose transport records what it is given and takes `room` bytes at most. */
class TestStream extends AbstractMessageStream {
  readonly wire: string[] = []
  room = Number.POSITIVE_INFINITY
  onSend: (() => void) | undefined
  fail = false

  constructor() {
    super({ log, direction: 'outbound' })
  }

  sendData(data: { subarray(): Uint8Array; byteLength: number; sublist(a: number, b: number): unknown }) {
    if (this.fail) throw new Error('transport failed')
    const n = Math.min(this.room, data.byteLength)
    this.room -= n
    this.wire.push(text(data.subarray().subarray(0, n)))
    this.onSend?.()
    return { sentBytes: n, canSendMore: this.room > 0 }
  }

  sendReset(): void {}
  sendPause(): void {}
  sendResume(): void {}
  async close(): Promise<void> {}
}

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

/** Events dispatched by type while `fn` runs (every EventTarget of the process). */
async function countEvents(fn: () => Promise<void> | void): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  const dispatch = EventTarget.prototype.dispatchEvent
  EventTarget.prototype.dispatchEvent = function (this: EventTarget, ev: Event) {
    counts.set(ev.type, (counts.get(ev.type) ?? 0) + 1)
    return dispatch.call(this, ev)
  }
  try {
    await fn()
  } finally {
    EventTarget.prototype.dispatchEvent = dispatch
  }
  return counts
}

describe('directSend', () => {
  it('hands a chunk to sendData with no idle event while nothing is queued', async () => {
    const s = new TestStream()
    directSend(s, 'test')
    const events = await countEvents(() => {
      expect(s.send(bytes('a'))).toBe(true)
      expect(s.send(bytes('bc'))).toBe(true)
    })
    expect(s.wire).toEqual(['a', 'bc'])
    expect(events.get('idle') ?? 0).toBe(0)
    expect(s.writeBufferLength).toBe(0)
  })

  it('queues what the transport could not take, waits for drain, then sends the rest in order', async () => {
    const s = new TestStream()
    directSend(s, 'test')
    s.room = 3
    expect(s.send(bytes('abcdef'))).toBe(false)
    expect(s.writableNeedsDrain).toBe(true)
    // Queued behind the remainder (stock path while a drain is awaited).
    s.send(bytes('gh'))
    expect(s.wire).toEqual(['abc'])
    s.room = Number.POSITIVE_INFINITY
    s.onMuxerDrain()
    await new Promise((r) => queueMicrotask(() => r(undefined)))
    expect(s.wire.join('')).toBe('abcdefgh')
    expect(s.writableNeedsDrain).toBe(false)
  })

  it('sends a chunk sent from inside sendData after the one being sent', () => {
    const s = new TestStream()
    directSend(s, 'test')
    let once = true
    s.onSend = () => {
      if (!once) return
      once = false
      s.send(bytes('2'))
    }
    s.send(bytes('1'))
    expect(s.wire).toEqual(['1', '2'])
    expect(s.writeBufferLength).toBe(0)
  })

  it('dispatches idle as the stock queue does while someone waits for it', async () => {
    const s = new TestStream()
    directSend(s, 'test')
    let idle = 0
    s.addEventListener('idle', () => idle++)
    s.send(bytes('x'))
    expect(idle).toBe(1)
    expect(s.wire).toEqual(['x'])
  })

  it('aborts the stream and throws when sendData throws', () => {
    const s = new TestStream()
    directSend(s, 'test')
    s.fail = true
    expect(() => s.send(bytes('x'))).toThrow('transport failed')
    expect(s.status).toBe('aborted')
  })

  it('refuses to install on something that is not a message stream', () => {
    expect(() => directSend({}, 'test')).toThrow(/@libp2p\/utils changed/)
  })
})

describe('directReceive', () => {
  it('delivers by a call while readable and nothing is buffered; buffered data keeps its order', async () => {
    const s = new TestStream()
    const got: string[] = []
    const viaEvent: string[] = []
    s.addEventListener('message', (ev) => {
      viaEvent.push(text(ev.data.subarray()))
      got.push(text(ev.data.subarray()))
    })
    expect(directReceive(s, (d: Chunk) => got.push(text(d.subarray())), 'test')).toBe(true)
    s.onData(bytes('1'))
    s.pause()
    s.onData(bytes('2'))
    s.onData(bytes('3'))
    expect(got).toEqual(['1'])
    s.resume()
    s.onData(bytes('4'))
    expect(got).toEqual(['1', '23', '4'])
    expect(viaEvent).toEqual(['23'])
  })

  it('falls back to the event when another listener is added, so both see the data', () => {
    const s = new TestStream()
    const direct: string[] = []
    const first: string[] = []
    const second: string[] = []
    s.addEventListener('message', (ev) => first.push(text(ev.data.subarray())))
    directReceive(s, (d: Chunk) => direct.push(text(d.subarray())), 'test')
    s.addEventListener('message', (ev) => second.push(text(ev.data.subarray())))
    s.onData(bytes('x'))
    expect(direct).toEqual([])
    expect(first).toEqual(['x'])
    expect(second).toEqual(['x'])
  })

  it('installs nothing unless exactly one message listener is there', () => {
    const s = new TestStream()
    expect(directReceive(s, () => {}, 'test')).toBe(false)
  })
})

/** A machine that records the text of what it receives. */
class RecordingMachine extends ScriptedMachine {
  readonly got: string[] = []
  override receive(_from: NodeId, _layer: Layer, b: Uint8Array): void {
    this.got.push(text(b))
  }
}

const dir = mkdtempSync(join(tmpdir(), 'conclave-dp-'))
const nodes: ConclaveNode[] = []
const plain: Libp2p[] = []
afterAll(async () => {
  for (const n of nodes) await n.stop()
  for (const n of plain) await n.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 2))
  }
}

describe('over real libp2p', () => {
  it.each([
    ['an open mesh', undefined],
    ['a private network (pnet under Noise)', parsePsk(generatePsk())],
  ])(
    'a frame crosses TCP, Noise and yamux at both ends without a message or idle event: %s',
    async (name, psk) => {
      // Reads that go through a socket's Readable.push (the direct socket read takes the push it
      // finds when the connection is made as its fallback: this counter, while the test runs).
      const stockPush = Readable.prototype.push
      let socketPushes = 0
      let counting = false
      Readable.prototype.push = function (this: Readable, chunk: unknown, encoding?: BufferEncoding) {
        if (counting && chunk !== null && this instanceof Socket) socketPushes++
        return stockPush.call(this, chunk, encoding)
      }
      onTestFinished(() => {
        Readable.prototype.push = stockPush
      })
      const addrs = new Map<NodeId, string[]>()
      const machines: RecordingMachine[] = []
      const pair: ConclaveNode[] = []
      for (const end of ['a', 'b']) {
        const node = await createConclave({
          dataDir: join(dir, `${name}-${end}`),
          psk,
          init: true,
          statusIntervalMs: 0,
          machineFactory: (ctx) => {
            const m = new RecordingMachine(ctx.id)
            Object.assign(m, {
              membership: {
                member: (peer: NodeId) => {
                  const a = addrs.get(peer)
                  return a ? { meta: { addrs: a } } : undefined
                },
                members: () => [],
              },
            })
            machines.push(m)
            return m
          },
        })
        nodes.push(node)
        pair.push(node)
        addrs.set(
          node.id,
          node.libp2p.getMultiaddrs().map((x) => x.toString()),
        )
      }
      const [a, b] = pair as [ConclaveNode, ConclaveNode]
      const [ma, mb] = machines as [RecordingMachine, RecordingMachine]
      const send = (from: ConclaveNode, to: ConclaveNode, t: string) =>
        from.service.transport?.send({ to: to.id, layer: 'shard', type: 't', bytes: bytes(t) })
      // Open both channels (a connection, Noise, yamux, multistream-select: events there are stock).
      send(a, b, 'open')
      send(b, a, 'open')
      await until(() => ma.got.length === 1 && mb.got.length === 1)
      await new Promise((r) => setTimeout(r, 100))
      const frames = 50
      counting = true
      const events = await countEvents(async () => {
        for (let i = 0; i < frames; i++) {
          send(a, b, `ping ${i}`)
          await until(() => mb.got.length === i + 2)
          send(b, a, `pong ${i}`)
          await until(() => ma.got.length === i + 2)
        }
      })
      counting = false
      expect(mb.got.slice(1)).toEqual(Array.from({ length: frames }, (_, i) => `ping ${i}`))
      expect(ma.got.slice(1)).toEqual(Array.from({ length: frames }, (_, i) => `pong ${i}`))
      // Stock: 3 message events per frame received and 3 idle events per frame sent (600 each here).
      expect(events.get('message') ?? 0).toBeLessThan(5)
      expect(events.get('idle') ?? 0).toBeLessThan(5)
      // Stock: one socket push per frame received (100 here); direct-socket-read.ts: none.
      expect(socketPushes).toBeLessThan(5)
    },
  )
})

describe('against stock libp2p', () => {
  it('a node with the direct path and one with stock TCP, Noise and yamux read each other byte for byte', async () => {
    const ours = await createLibp2p(
      libp2pBaseOptions({
        privateKey: await loadOrCreatePrivateKey(join(dir, 'ours')),
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap: [],
      }),
    )
    const stock = await createLibp2p({
      privateKey: await loadOrCreatePrivateKey(join(dir, 'stock')),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionMonitor: { enabled: false },
    })
    plain.push(ours, stock)
    const PROTOCOL = '/conclave-test/direct-path/1'
    // Each end echoes what it reads on its inbound stream, chunk by chunk.
    for (const n of [ours, stock])
      await n.handle(PROTOCOL, (s: Stream) => {
        s.addEventListener('message', (ev) => {
          s.send(ev.data.subarray().slice())
        })
      })
    // Message sizes around yamux's and Noise's boundaries (window 256 KiB, Noise message 64 KiB).
    const sizes = [1, 11, 12, 13, 150, 1199, 1200, 4096, 65_519, 65_520, 100_000, 300_000]
    for (const [from, to] of [
      [ours, stock],
      [stock, ours],
    ] as [Libp2p, Libp2p][]) {
      const addr = to.getMultiaddrs()[0]
      if (!addr) throw new Error('no address')
      const stream = await from.dialProtocol(addr, PROTOCOL)
      const back: Uint8Array[] = []
      let backBytes = 0
      stream.addEventListener('message', (ev) => {
        back.push(ev.data.subarray().slice())
        backBytes += ev.data.byteLength
      })
      const sent: Uint8Array[] = []
      for (const n of sizes) {
        const msg = new Uint8Array(n)
        for (let i = 0; i < n; i++) msg[i] = (i * 31 + n) & 0xff
        sent.push(msg)
        if (!stream.send(msg)) await stream.onDrain()
      }
      const total = sizes.reduce((a, b) => a + b, 0)
      await until(() => backBytes === total, 20_000)
      expect(Buffer.concat(back).equals(Buffer.concat(sent))).toBe(true)
      await stream.close()
    }
  })
})
