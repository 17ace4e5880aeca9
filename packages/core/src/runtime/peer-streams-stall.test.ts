/**
 * A black-holed connection (a partition that drops packets: TCP only retransmits, with backoff)
 * is replaced: a connection the kernel's TCP table shows with 3 RTO expiries is aborted and its
 * peer redialled without backoff until it answers; fewer expiries keep it; a fresh connection to
 * the same peer stays. No libp2p, no kernel: fake
 * connections and streams, a fake TCP table, a manual clock.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import type { Layer } from '../sans-io.js'
import { encodeFrame } from './frame-decoder.js'
import { PeerStreams, type PeerStreamsComponents } from './peer-streams.js'
import { PROTOCOLS } from './protocols.js'

type Handler = (stream: Stream, connection: Connection) => void

interface FakeConn {
  conn: Connection
  /** Frames written on streams of this connection. */
  sent: Uint8Array[]
  aborted: boolean
}

async function setup() {
  let nowMs = 1_000
  let openedAtMs = 0
  const handlers = new Map<string, Handler>()
  const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const conns: FakeConn[] = []
  let dials = 0
  /** While true every dial fails (the partition is still in place). */
  const net = { cut: false, hang: false }
  /** The fake /proc/net/tcp: retransmission count per fake connection, and a pending SYN. */
  const retransmits = new Map<FakeConn, number>()
  const syn = { unanswered: false }
  const makeConn = (): FakeConn => {
    const fc: FakeConn = { conn: undefined as unknown as Connection, sent: [], aborted: false }
    const streams: { close?: () => void }[] = []
    const port = 40000 + ++openedAtMs
    fc.conn = {
      remotePeer: { toString: () => peer },
      remoteAddr: {
        getComponents: () => [
          { name: 'ip4', value: '10.77.0.18' },
          { name: 'tcp', value: String(port) },
        ],
      },
      port,
      timeline: { open: openedAtMs },
      get status() {
        return fc.aborted ? 'closed' : 'open'
      },
      abort: () => {
        fc.aborted = true
        for (const s of streams) s.close?.()
      },
      newStream: async () => {
        const listeners = new Map<string, () => void>()
        const entry: { close?: () => void } = {}
        let open = true
        const stream = {
          get status() {
            return open && !fc.aborted ? 'open' : 'closed'
          },
          writableNeedsDrain: false,
          send: (frame: Uint8Array) => fc.sent.push(frame),
          addEventListener: (name: string, fn: () => void) => listeners.set(name, fn),
          abort: () => {
            open = false
            listeners.get('close')?.()
          },
        }
        entry.close = () => stream.abort()
        streams.push(entry)
        return stream as unknown as Stream
      },
    } as unknown as Connection
    conns.push(fc)
    return fc
  }
  const components = {
    peerId: self,
    registrar: {
      handle: async (protocol: string, handler: Handler) => void handlers.set(protocol, handler),
      unhandle: async () => {},
    },
    connectionManager: {
      openConnection: async (_peer: unknown, opts: { signal: AbortSignal }) => {
        dials++
        if (net.cut) throw new Error('dial timed out')
        if (net.hang)
          // A SYN the partition dropped: pending until aborted.
          return new Promise<never>((_, reject) =>
            opts.signal.addEventListener('abort', () => reject(opts.signal.reason)),
          )
        const live = conns.find((c) => !c.aborted)
        return (live ?? makeConn()).conn
      },
      getConnections: () => conns.filter((c) => !c.aborted).map((c) => c.conn),
      closeConnections: async () => {},
    },
    peerStore: { merge: async () => undefined },
  } as unknown as PeerStreamsComponents
  const ps = new PeerStreams(components, {
    clock: { nowMs: () => nowMs },
    limits: { stallCheckMs: 0, stallRetransmitsMin: 3 },
    onFrame: () => {},
    addrsOf: () => ['/ip4/10.77.0.18/tcp/4001'],
    readTcpTable: async () => {
      const lines = [...retransmits]
        .filter(([fc]) => !fc.aborted)
        .map(([fc, n], i) => {
          const port = (fc.conn as unknown as { port: number }).port.toString(16).toUpperCase()
          return `${i}: 0F004D0A:0FA1 12004D0A:${port} 01 00000045:00000000 01:00000C8A ${n.toString(16).padStart(8, '0')} 0 0 1 1`
        })
      // A SYN_SENT socket to the peer's address whose SYN was retransmitted once.
      if (syn.unanswered)
        lines.push('9: 0F004D0A:E000 12004D0A:0FA1 02 00000000:00000000 01:00000100 00000001')
      return lines.join('\n')
    },
  })
  await ps.start()
  const send = (layer: Layer = 'shard') =>
    ps.send({ to: peer, layer, type: 't', bytes: new TextEncoder().encode('x') })
  /** The peer sends one frame on its stream to us over `fc` (opened on first use). */
  const inbound = new Map<string, Map<string, (ev: unknown) => void>>()
  const hear = (fc: FakeConn, layer: Layer = 'shard') => {
    const key = `${fc.conn.timeline.open}/${layer}`
    let listeners = inbound.get(key)
    if (!listeners) {
      const l = new Map<string, (ev: unknown) => void>()
      listeners = l
      inbound.set(key, l)
      const stream = {
        addEventListener: (name: string, fn: (ev: unknown) => void) => l.set(name, fn),
        abort: () => l.get('close')?.({}),
      } as unknown as Stream
      handlers.get(PROTOCOLS[layer])?.(stream, fc.conn)
    }
    const bytes = encodeFrame(new TextEncoder().encode('ack'))
    listeners.get('message')?.({ data: { subarray: () => bytes } })
  }
  return {
    ps,
    conns,
    net,
    retransmits,
    syn,
    dials: () => dials,
    send,
    hear,
    makeConn,
    advance: (ms: number) => {
      nowMs += ms
    },
  }
}

const settle = () => new Promise((r) => setImmediate(r))

describe('PeerStreams reads the TCP table only after an RTO expiry', () => {
  it('a standing retransmission count means no look; a moved or unknown one means a look', async () => {
    const t = await setup()
    const counts: (number | undefined)[] = [100, 100, 100, 103, 103, undefined, 103]
    let i = 0
    const ps = new PeerStreams({} as PeerStreamsComponents, {
      clock: { nowMs: () => 0 },
      onFrame: () => {},
      addrsOf: () => [],
      readRtoExpiries: () => counts[i++],
    })
    expect(counts.map(() => ps.stallPossible())).toEqual([
      true, // no baseline yet (start() takes one in real use)
      false, // 100 → 100: no RTO expired anywhere, no look
      false,
      true, // 100 → 103: RTOs expired
      false,
      true, // unreadable: look
      true, // unknown → 103
    ])
    expect(t.ps.stats.tcpTableReads).toBe(0)
    await t.ps.checkStalls()
    expect(t.ps.stats.tcpTableReads).toBe(1)
  })
})

describe('PeerStreams stalled peers', () => {
  it('aborts a connection the kernel retransmits on 3 times and redials at once', async () => {
    const t = await setup()
    t.send()
    await settle()
    const first = t.conns[0] as FakeConn
    expect(first.sent.length).toBe(1)
    t.retransmits.set(first, 2) // two RTO expiries: could be loss, keep it
    await t.ps.checkStalls()
    expect(t.ps.stats.stalls).toBe(0)
    expect(first.aborted).toBe(false)
    t.retransmits.set(first, 3)
    await t.ps.checkStalls()
    expect(t.ps.stats.stalls).toBe(1)
    expect(first.aborted).toBe(true)
    t.send()
    await settle()
    // The next frame went out on a fresh connection.
    expect(t.conns.length).toBe(2)
    expect(t.conns[1]?.sent.length).toBe(1)
    await t.ps.checkStalls() // the aborted socket is gone from the table
    expect(t.ps.stats.stalls).toBe(1)
  })

  it('a dial whose SYN the kernel retransmitted is aborted and the next send dials again at once', async () => {
    const t = await setup()
    t.send()
    await settle()
    t.retransmits.set(t.conns[0] as FakeConn, 4)
    await t.ps.checkStalls()
    expect(t.ps.stats.stalls).toBe(1)
    t.net.hang = true // still cut off: the redial's SYN gets no answer
    t.send()
    await settle()
    expect(t.dials()).toBe(2)
    t.advance(10)
    t.send()
    await settle()
    expect(t.dials()).toBe(2) // one dial per peer at a time
    t.syn.unanswered = true
    await t.ps.checkStalls()
    await settle()
    expect(t.ps.stats.synAborts).toBe(1)
    // Healed: the next send dials at once (no backoff) and its frame goes out.
    t.syn.unanswered = false
    t.net.hang = false
    t.advance(10)
    t.send()
    await settle()
    expect(t.dials()).toBe(3)
    const fresh = t.conns.at(-1) as FakeConn
    expect(fresh.aborted).toBe(false)
    expect(fresh.sent.length).toBe(1)
  })

  it('aborts only the black-holed connection, not a fresh one to the same peer', async () => {
    const t = await setup()
    t.send()
    await settle()
    const old = t.conns[0] as FakeConn
    const fresh = t.makeConn()
    t.hear(fresh) // the peer redialled after the heal (our channel still on the old one)
    await settle()
    t.retransmits.set(old, 6) // our side of the old one is still in backoff
    await t.ps.checkStalls()
    expect(old.aborted).toBe(true)
    expect(fresh.aborted).toBe(false)
    t.send()
    await settle()
    expect(fresh.sent.length).toBe(1) // the redial found the fresh connection
  })

  it('a peer that is not stalled backs off after a failed dial', async () => {
    const t = await setup()
    t.net.cut = true
    t.send()
    await settle()
    expect(t.dials()).toBe(1)
    for (let i = 0; i < 5; i++) {
      t.advance(10)
      t.send()
      await settle()
    }
    expect(t.dials()).toBe(1) // within the 250 ms redial backoff
  })

  it('a channel with an open stream stays on its connection when the peer opens another', async () => {
    const t = await setup()
    t.send()
    await settle()
    const first = t.conns[0] as FakeConn
    const second = t.makeConn()
    t.hear(second) // both sides dialled at once: two connections between the pair
    await settle()
    t.send()
    expect(first.sent.length).toBe(2)
    expect(second.sent.length).toBe(0)
  })
})
