/**
 * PeerStreams' maps stay bounded under many identities (no libp2p: fake components and streams,
 * a manual clock): the transport's ban list (peersMax, oldest first) and the inbound rate states
 * (rateStatesMax: refilled states first, then oldest), which outlive streams; a stream refused at
 * open by the rate limit holds no stream slot.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import type { Layer } from '../sans-io.js'
import { PeerStreams, type PeerStreamsComponents, type PeerStreamsLimits } from './peer-streams.js'
import { PROTOCOLS } from './protocols.js'

type Handler = (stream: Stream, connection: Connection) => void

async function setup(limits: Partial<PeerStreamsLimits>) {
  let nowMs = 1_000
  const handlers = new Map<string, Handler>()
  const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const components = {
    peerId: self,
    registrar: {
      handle: async (protocol: string, handler: Handler) => void handlers.set(protocol, handler),
      unhandle: async () => {},
    },
    connectionManager: {
      openConnection: async () => {
        throw new Error('no dialing in this test')
      },
      closeConnections: async () => {},
    },
    peerStore: { merge: async () => undefined },
  } as unknown as PeerStreamsComponents
  const ps = new PeerStreams(components, {
    clock: { nowMs: () => nowMs },
    limits,
    onFrame: () => {},
    addrsOf: () => [],
  })
  await ps.start()
  /** Open an inbound stream from `peer` on `layer`; returns a function that closes it. */
  const open = (peer: string, layer: Layer): (() => void) => {
    const listeners = new Map<string, (ev: unknown) => void>()
    const stream = {
      addEventListener: (name: string, fn: (ev: unknown) => void) => listeners.set(name, fn),
      abort: () => listeners.get('close')?.({}),
    } as unknown as Stream
    const handler = handlers.get(PROTOCOLS[layer])
    if (!handler) throw new Error('no handler')
    handler(stream, { remotePeer: { toString: () => peer } } as unknown as Connection)
    return () => listeners.get('close')?.({})
  }
  const peers = await Promise.all(
    Array.from({ length: 12 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()),
  )
  return {
    ps,
    open,
    peers,
    advance: (ms: number) => {
      nowMs += ms
    },
  }
}

describe('PeerStreams bounds', () => {
  it('the transport ban list holds at most peersMax peers, forgetting the oldest ban', async () => {
    const { ps, peers } = await setup({ peersMax: 3 })
    for (const p of peers) ps.cutOff(p, 'shard', 'flood', false)
    expect(ps.banCount).toBe(3)
    expect(ps.cutOffs.get('flood')).toBe(peers.length)
    // The newest bans are kept: sending to the last peer is refused, to the first is not.
    expect(ps.isBannedPeer(peers.at(-1) as string)).toBe(true)
    expect(ps.isBannedPeer(peers[0] as string)).toBe(false)
  })

  it('rate states outlive streams but stay within rateStatesMax, oldest first', async () => {
    const { ps, open, peers, advance } = await setup({ rateStatesMax: 4 })
    for (const p of peers) open(p, 'membership')()
    expect(ps.rateStateCount).toBe(4)
    // Idle long enough for every bucket to refill (20 s: 20 malformed at 1/s): swept first.
    advance(60_000)
    const close = open(peers[0] as string, 'global')
    expect(ps.rateStateCount).toBe(1)
    close()
    expect(ps.rateStateCount).toBe(1) // closing the stream keeps the state
  })

  it('streams refused at open by the rate limit do not use up the stream slots of the peer', async () => {
    const { ps, open, peers, advance } = await setup({
      inFramesBurst: 2,
      inFramesPerSecond: 1,
      streamsPerPeerMax: 4,
      excessFramesBurst: 100,
    })
    const peer = peers[0] as string
    open(peer, 'shard')()
    open(peer, 'shard')()
    // The frame bucket is empty: each open is refused (rate-limited) and aborted.
    for (let i = 0; i < 6; i++) open(peer, 'shard')
    expect(ps.rejections.get('rate-limited')).toBe(6)
    // Refilled: the peer is served again, not refused as holding too many streams.
    advance(10_000)
    open(peer, 'shard')
    expect(ps.rejections.get('too-many-streams')).toBe(0)
    expect(ps.rejections.get('rate-limited')).toBe(6)
  })
})
