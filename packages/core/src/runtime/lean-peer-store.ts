/**
 * Peer-store writes libp2p 3 makes on every connection and stream that nothing in a Conclave node
 * reads, skipped. libp2p's peer store keeps each peer as one protobuf record in a datastore; every
 * merge takes the peer's write lock, reads and decodes the record, merges, re-encodes and writes
 * it, and dispatches `peer:update` when it changed (the registrar then matches it against every
 * topology). Per new connection a node paid for (measured, `pnpm bench conn`):
 * - one merge per stream it opened or accepted, recording the stream's protocol in the peer's
 *   record (libp2p's Connection.newStream / onIncomingStream): six per connection with the three
 *   /conclave/* layers both ways. Only registrar topologies read a peer's protocols, and no
 *   topology watches a /conclave/* protocol (identify, which tells gossipsub's topology about a
 *   peer, writes its own merge, which passes here untouched);
 * - at the dialing end, one merge stamping `last-dial-success` (or `-failure`) metadata with the
 *   dialled address; libp2p 3.3 writes those keys and never reads them. The stamp's metadata is
 *   dropped; its address is merged only when the peer's record lacks it. A node dials members and
 *   seeds at addresses merged just before (peer-streams.ts `connect`, the service's seeds,
 *   @libp2p/bootstrap), so that costs a read and no write; but a dial by multiaddr alone (an
 *   embedder's `libp2p.dial(addr)` of a peer not in the store) has only the stamp to record the
 *   address: skipping it whole left the peer out of the store, and a later dial by peer id failed
 *   with NoValidAddressesError (lean-peer-store.test.ts).
 * Every other write (addresses, keys, identify's records, an embedder's own) goes through, with one
 * change: a merged, patched or saved address that ends in the peer's own `/p2p/<id>` loses it before
 * the store sees it. @libp2p/peer-store 12 de-duplicates a record's addresses by their string
 * *before* it strips that suffix, so a seed merged bare (identify, an earlier merge) and again with
 * its suffix (the service's seeds, @libp2p/bootstrap) was kept twice, the same bytes both times
 * (lean-peer-store.test.ts); stripped first, the store's own de-duplication holds.
 *
 * Installed on the libp2p node's own peer store instance by createConclave (never on the class:
 * another libp2p node in the same process keeps the stock behaviour).
 */
import type { PeerId, PeerStore } from '@libp2p/interface'
import { CODE_P2P, isMultiaddr, type Multiaddr } from '@multiformats/multiaddr'

/** Metadata keys libp2p 3.3's dial queue writes after each dial and never reads. */
const DIAL_STAMP_KEYS = new Set(['last-dial-success', 'last-dial-failure'])

type PeerData = Parameters<PeerStore['merge']>[1]

/** Counts of the writes skipped (for tests and the bench). */
export interface LeanPeerStoreStats {
  protocolMerges: number
  dialStamps: number
  /** Dial stamps whose address the peer's record lacked: merged (the address only). */
  dialAddrMerges: number
}

/** An address without its `/p2p/<id>` suffix, as the peer store keeps it. */
function bareAddr(ma: { toString(): string }): string {
  return ma.toString().replace(/\/p2p\/[^/]+$/, '')
}

/**
 * `ma` as the peer store would store it for peer `id`: the same rule as @libp2p/peer-store's
 * dedupeFilterAndSortAddresses (when the first `/p2p` component names the peer, drop the last
 * `/p2p/<id>` and what follows), applied before its de-duplication instead of after.
 */
function storedForm(id: PeerId, ma: Multiaddr): Multiaddr {
  if (!isMultiaddr(ma)) return ma // bytes: the store decodes and checks them itself
  const named = ma.getComponents().find((c) => c.code === CODE_P2P)?.value
  return named !== undefined && id.equals(named) ? ma.decapsulate(`/p2p/${id.toString()}`) : ma
}

/** `data` with its addresses in stored form; the same object when none changes. */
function withStoredAddrs(id: PeerId, data: PeerData): PeerData {
  let changed = false
  const form = (ma: Multiaddr): Multiaddr => {
    const stored = storedForm(id, ma)
    if (stored !== ma) changed = true
    return stored
  }
  const multiaddrs = data.multiaddrs?.map(form)
  const addresses = data.addresses?.map((a) => ({ ...a, multiaddr: form(a.multiaddr) }))
  if (!changed) return data
  return {
    ...data,
    ...(multiaddrs !== undefined ? { multiaddrs } : {}),
    ...(addresses !== undefined ? { addresses } : {}),
  }
}

/** What a merge of `data` only does, if it is one of the two skipped kinds. */
function skippable(data: PeerData, own: ReadonlySet<string>): keyof LeanPeerStoreStats | undefined {
  const keys = (Object.keys(data) as (keyof PeerData)[]).filter((k) => data[k] !== undefined)
  if (keys.length === 1 && keys[0] === 'protocols') {
    const list = data.protocols ?? []
    return list.length > 0 && list.every((p) => own.has(p)) ? 'protocolMerges' : undefined
  }
  // A dial stamp: the metadata, and the dialled address (which the dialler merged before dialling).
  if (!keys.includes('metadata') || !keys.every((k) => k === 'metadata' || k === 'multiaddrs'))
    return undefined
  const meta = data.metadata instanceof Map ? [...data.metadata.keys()] : Object.keys(data.metadata ?? {})
  return meta.length > 0 && meta.every((k) => DIAL_STAMP_KEYS.has(k)) ? 'dialStamps' : undefined
}

/**
 * Skip `peerStore.merge` calls that only record one of `ownProtocols` as a peer's protocol, or
 * only stamp a dial's outcome (a stamp's address the record lacks is still merged); returns the
 * counts of skipped writes. A skipped merge resolves to undefined (libp2p's callers of these two
 * ignore the result). Addresses that reach the store through merge, patch or save are in stored
 * form (no duplicate of one address with and without the peer's `/p2p/<id>`).
 */
export function leanPeerStore(peerStore: PeerStore, ownProtocols: Iterable<string>): LeanPeerStoreStats {
  const own = new Set(ownProtocols)
  const stats: LeanPeerStoreStats = { protocolMerges: 0, dialStamps: 0, dialAddrMerges: 0 }
  const rawMerge = peerStore.merge.bind(peerStore)
  const merge: PeerStore['merge'] = (id, data, options) => rawMerge(id, withStoredAddrs(id, data), options)
  const patch = peerStore.patch.bind(peerStore)
  const save = peerStore.save.bind(peerStore)
  peerStore.patch = (id, data, options) => patch(id, withStoredAddrs(id, data), options)
  peerStore.save = (id, data, options) => save(id, withStoredAddrs(id, data), options)
  peerStore.merge = (id: PeerId, data: PeerData, options?: Parameters<PeerStore['merge']>[2]) => {
    const kind = skippable(data, own)
    if (kind === undefined) return merge(id, data, options)
    stats[kind]++
    const addrs = kind === 'dialStamps' ? (data.multiaddrs ?? []) : []
    if (addrs.length === 0) return Promise.resolve(undefined) as unknown as ReturnType<PeerStore['merge']>
    return (async () => {
      const known = await peerStore.get(id).then(
        (peer) => new Set(peer.addresses.map((a) => bareAddr(a.multiaddr))),
        () => new Set<string>(), // not in the store at all
      )
      const missing = addrs.filter((a) => !known.has(bareAddr(a)))
      if (missing.length === 0) return undefined
      stats.dialAddrMerges++
      return merge(id, { multiaddrs: missing }, options)
    })() as unknown as ReturnType<PeerStore['merge']>
  }
  return stats
}
