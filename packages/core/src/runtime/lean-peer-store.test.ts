import type { PeerStore } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { leanPeerStore } from './lean-peer-store.js'
import { PROTOCOLS } from './protocols.js'

const OWN = Object.values(PROTOCOLS)
const addr = multiaddr('/ip4/127.0.0.1/tcp/4001')
const stamp = (key: string) => ({ [key]: new TextEncoder().encode('1764300000000') })

/** A peer store whose merge records what reached it. */
function fakeStore(): { store: PeerStore; merged: unknown[] } {
  const merged: unknown[] = []
  const store = {
    merge: async (_id: unknown, data: unknown) => {
      merged.push(data)
      return { id: _id }
    },
  } as unknown as PeerStore
  return { store, merged }
}

describe('leanPeerStore', () => {
  const peer = {} as Parameters<PeerStore['merge']>[0]
  const cases: [string, Parameters<PeerStore['merge']>[1], boolean][] = [
    ['a /conclave/* stream protocol', { protocols: [PROTOCOLS.membership] }, true],
    ['all three layers at once', { protocols: OWN }, true],
    [
      'a dial success stamp with the dialled address',
      { multiaddrs: [addr], metadata: stamp('last-dial-success') },
      true,
    ],
    ['a dial failure stamp', { metadata: stamp('last-dial-failure') }, true],
    ['a stamp as a Map', { metadata: new Map(Object.entries(stamp('last-dial-success'))) }, true],
    ['another protocol (gossipsub, identify, ping)', { protocols: ['/meshsub/1.1.0'] }, false],
    ['ours beside another protocol', { protocols: [PROTOCOLS.shard, '/ipfs/ping/1.0.0'] }, false],
    ['no protocol', { protocols: [] }, false],
    ['addresses (peer-streams before a dial, identify)', { multiaddrs: [addr] }, false],
    ['a protocol with addresses (identify)', { protocols: [PROTOCOLS.global], multiaddrs: [addr] }, false],
    ['other metadata', { metadata: stamp('agent') }, false],
    ['a stamp beside other metadata', { metadata: { ...stamp('last-dial-success'), ...stamp('x') } }, false],
    [
      'a stamp with a protocol',
      { protocols: [PROTOCOLS.shard], metadata: stamp('last-dial-success') },
      false,
    ],
    ['tags', { tags: { keep: { value: 1 } } }, false],
  ]
  for (const [name, data, skipped] of cases) {
    it(`${skipped ? 'skips' : 'passes'} ${name}`, async () => {
      const { store, merged } = fakeStore()
      const stats = leanPeerStore(store, OWN)
      await store.merge(peer, data)
      expect(merged.length).toBe(skipped ? 0 : 1)
      expect(stats.protocolMerges + stats.dialStamps).toBe(skipped ? 1 : 0)
    })
  }

  it('patches only the instance it is given', async () => {
    const a = fakeStore()
    const b = fakeStore()
    leanPeerStore(a.store, OWN)
    await a.store.merge(peer, { protocols: [PROTOCOLS.membership] })
    await b.store.merge(peer, { protocols: [PROTOCOLS.membership] })
    expect([a.merged.length, b.merged.length]).toEqual([0, 1])
  })
})
