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
 *   dialled address; libp2p 3.3 writes those keys and never reads them, and a node dials members at
 *   addresses it merged itself just before (peer-streams.ts `connect`).
 * Every other write (addresses, keys, identify's records, an embedder's own) goes through as before.
 *
 * Installed on the libp2p node's own peer store instance by createConclave (never on the class:
 * another libp2p node in the same process keeps the stock behaviour).
 */
import type { PeerId, PeerStore } from '@libp2p/interface'

/** Metadata keys libp2p 3.3's dial queue writes after each dial and never reads. */
const DIAL_STAMP_KEYS = new Set(['last-dial-success', 'last-dial-failure'])

type PeerData = Parameters<PeerStore['merge']>[1]

/** Counts of the writes skipped (for tests and the bench). */
export interface LeanPeerStoreStats {
  protocolMerges: number
  dialStamps: number
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
 * only stamp a dial's outcome; returns the counts of skipped writes. A skipped merge resolves to
 * undefined (libp2p's callers of these two ignore the result).
 */
export function leanPeerStore(peerStore: PeerStore, ownProtocols: Iterable<string>): LeanPeerStoreStats {
  const own = new Set(ownProtocols)
  const stats: LeanPeerStoreStats = { protocolMerges: 0, dialStamps: 0 }
  const merge = peerStore.merge.bind(peerStore)
  peerStore.merge = (id: PeerId, data: PeerData, options?: Parameters<PeerStore['merge']>[2]) => {
    const kind = skippable(data, own)
    if (kind === undefined) return merge(id, data, options)
    stats[kind]++
    return Promise.resolve(undefined) as unknown as ReturnType<PeerStore['merge']>
  }
  return stats
}
