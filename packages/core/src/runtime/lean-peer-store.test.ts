/**
 * leanPeerStore: which peer-store writes are skipped and which addresses lose the peer's `/p2p/<id>`
 * (a fake store), and, over real libp2p in one process, that a peer dialled by bootstrap address or
 * by bare multiaddr is in the store after the dial, once per address, and can be dialled again by
 * its peer id.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PeerStore } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, describe, expect, it } from 'vitest'
import { type ConclaveNode, createConclave } from '../api/create-conclave.js'
import { leanPeerStore } from './lean-peer-store.js'
import { PROTOCOLS } from './protocols.js'

const OWN = Object.values(PROTOCOLS)
const addr = multiaddr('/ip4/127.0.0.1/tcp/4001')
const PEER = '12D3KooWDaJbgRHKdydZC3T7mz5b9P3Uy8RwWag7WThngx2S4nY7'
const OTHER = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
const stamp = (key: string) => ({ [key]: new TextEncoder().encode('1764300000000') })

/**
 * A peer store whose merge, patch and save record what reached them; its one peer has `known`
 * addresses, if any.
 */
function fakeStore(known?: string[]): { store: PeerStore; merged: unknown[] } {
  const merged: unknown[] = []
  const write = async (_id: unknown, data: unknown) => {
    merged.push(data)
    return { id: _id }
  }
  const store = {
    merge: write,
    patch: write,
    save: write,
    get: async (id: unknown) => {
      if (!known) throw Object.assign(new Error('Not Found'), { name: 'NotFoundError' })
      return { id, addresses: known.map((a) => ({ multiaddr: multiaddr(a), isCertified: false })) }
    },
  } as unknown as PeerStore
  return { store, merged }
}

describe('leanPeerStore', () => {
  const peer = peerIdFromString(PEER)
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
      const { store, merged } = fakeStore([addr.toString()])
      const stats = leanPeerStore(store, OWN)
      await store.merge(peer, data)
      expect(merged.length).toBe(skipped ? 0 : 1)
      expect(stats.protocolMerges + stats.dialStamps).toBe(skipped ? 1 : 0)
    })
  }

  it('merges the address of a dial stamp (only the address) when the record lacks it', async () => {
    const withP2p = multiaddr(`${addr.toString()}/p2p/${PEER}`)
    for (const [known, expected] of [
      [undefined, 1], // not in the store at all: a dial by multiaddr
      [['/ip4/127.0.0.1/tcp/4002'], 1], // known at another address
      [[addr.toString()], 0], // merged before the dial (seeds, members): no write
    ] as const) {
      const { store, merged } = fakeStore(known ? [...known] : undefined)
      const stats = leanPeerStore(store, OWN)
      await store.merge(peer, { multiaddrs: [withP2p], metadata: stamp('last-dial-success') })
      // as strings: toEqual sees no difference between two Multiaddr objects (private fields)
      expect(merged.map((d) => (d as { multiaddrs: unknown[] }).multiaddrs.map(String))).toEqual(
        expected ? [[addr.toString()]] : [],
      )
      expect([stats.dialStamps, stats.dialAddrMerges]).toEqual([1, expected])
    }
  })

  it("strips the peer's own /p2p/<id> from merged, patched and saved addresses", async () => {
    const own = multiaddr(`${addr.toString()}/p2p/${PEER}`)
    const other = multiaddr(`${addr.toString()}/p2p/${OTHER}`)
    const circuit = multiaddr(`/ip4/10.0.0.1/tcp/4001/p2p/${OTHER}/p2p-circuit/p2p/${PEER}`)
    const { store, merged } = fakeStore([addr.toString()])
    leanPeerStore(store, OWN)
    await store.merge(peer, { multiaddrs: [own, other, circuit] })
    await store.patch(peer, { addresses: [{ multiaddr: own, isCertified: true }] })
    await store.save(peer, { multiaddrs: [addr], tags: { keep: { value: 1 } } })
    expect(JSON.parse(JSON.stringify(merged, (_k, v) => (v?.bytes ? v.toString() : v)))).toEqual([
      // another peer's id is not this peer's suffix; a relayed address keeps its target (the
      // store's own rule: only an address whose first /p2p names the peer loses it)
      { multiaddrs: [addr.toString(), other.toString(), circuit.toString()] },
      { addresses: [{ multiaddr: addr.toString(), isCertified: true }] },
      { multiaddrs: [addr.toString()], tags: { keep: { value: 1 } } },
    ])
  })

  it('patches only the instance it is given', async () => {
    const a = fakeStore()
    const b = fakeStore()
    leanPeerStore(a.store, OWN)
    await a.store.merge(peer, { protocols: [PROTOCOLS.membership] })
    await b.store.merge(peer, { protocols: [PROTOCOLS.membership] })
    expect([a.merged.length, b.merged.length]).toEqual([0, 1])
  })
})

describe('leanPeerStore over real libp2p', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-lean-'))
  const nodes: ConclaveNode[] = []
  afterAll(async () => {
    for (const n of nodes) await n.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  const start = async (name: string, bootstrap: string[] = []) => {
    const n = await createConclave({ dataDir: join(dir, name), bootstrap })
    nodes.push(n)
    return n
  }
  const until = async (cond: () => boolean) => {
    const deadline = Date.now() + 10_000
    while (!cond()) {
      if (Date.now() > deadline) throw new Error('condition not met in time')
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const addrsIn = async (n: ConclaveNode, of: ConclaveNode) =>
    (await n.libp2p.peerStore.get(of.libp2p.peerId).catch(() => undefined))?.addresses.map((a) =>
      a.multiaddr.toString(),
    ) ?? []

  it('a peer dialled by bootstrap address or by bare multiaddr can be dialled again by peer id', async () => {
    const target = await start('target')
    const addr = target.libp2p.getMultiaddrs()[0]
    if (!addr) throw new Error('no address')
    const bare = addr.toString().replace(/\/p2p\/[^/]+$/, '')
    const booted = await start('booted', [addr.toString()])
    await until(() => booted.libp2p.getConnections(target.libp2p.peerId).length > 0)
    const dialer = await start('dialer')
    await dialer.libp2p.dial(addr)
    for (const n of [booted, dialer]) {
      // The seed was merged bare and with its /p2p/<id>: the store kept it twice without the fix.
      expect(await addrsIn(n, target)).toEqual([bare])
      await n.libp2p.hangUp(target.libp2p.peerId)
      await until(() => n.libp2p.getConnections(target.libp2p.peerId).length === 0)
      // Skipping the dial stamp whole left `dialer` with no record: NoValidAddressesError here.
      const again = await n.libp2p.dial(target.libp2p.peerId, { signal: AbortSignal.timeout(10_000) })
      expect(again.remotePeer.equals(target.libp2p.peerId)).toBe(true)
    }
  })
})
