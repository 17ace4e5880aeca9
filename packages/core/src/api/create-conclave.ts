/**
 * `createConclave()`: a standalone Conclave node — its own libp2p (runtime/libp2p-options.ts)
 * with the `conclave()` service, the peer key and state kept in `dataDir`.
 *
 *   const node = await createConclave({ listen: ['/ip4/127.0.0.1/tcp/4001'], dataDir: './n1', init: true })
 *   node.addEventListener('leader:change', (e) => console.log(e.detail))
 *   await node.whenLeader()
 *   const token = node.fencingToken()   // pass to whatever the leader writes to
 *   await node.stop()
 */
import '../runtime/polyfill.js'
import type { Libp2p } from '@libp2p/interface'
import { createLibp2p } from 'libp2p'
import { Admission } from '../runtime/admission.js'
import { monotonicClock } from '../runtime/clock.js'
import { loadOrCreatePrivateKey } from '../runtime/identity.js'
import { leanPeerStore } from '../runtime/lean-peer-store.js'
import { libp2pBaseOptions } from '../runtime/libp2p-options.js'
import { PROTOCOLS } from '../runtime/protocols.js'
import {
  type ConclaveService,
  type ConclaveServiceInit,
  conclave,
  type PubSubLike,
} from './conclave-service.js'

export interface CreateConclaveOptions extends Omit<ConclaveServiceInit, 'bootstrap' | 'admission'> {
  /** Listen multiaddrs. Default `/ip4/127.0.0.1/tcp/0` (a free loopback port). */
  listen?: string[]
  /** Multiaddrs with /p2p/<peer id> of running nodes. Default none (then pass init: true). */
  bootstrap?: string[]
  /**
   * The cluster's pre-shared key (swarm-key bytes from `readPskFile`/`parsePsk`): only nodes with
   * the same key can connect. Default unset (open mesh). See docs/security.md.
   */
  psk?: Uint8Array
  /** Only these peer ids may connect (inbound and outbound). Default unset (anyone with the key). */
  allowPeers?: Iterable<string>
  /**
   * Cap on each connection's TCP retransmission backoff, ms (runtime/tcp-rto-cap.ts; Linux ≥
   * 6.15). Default 1000; 0 = the kernel's own backoff. See Libp2pBaseInit.tcpRtoMaxMs.
   */
  tcpRtoMaxMs?: number
  /**
   * Run libp2p identify on every new connection. Default: only for an observer (the inspector,
   * whose gossipsub must find the nodes' status topic). A node does not need it: it dials
   * members at the addresses membership carries, and skipping it saves two identify and two
   * gossipsub streams per connection (see libp2p-options.ts `identifyOnConnect`). Set true when
   * your own libp2p protocols on `node.libp2p` wait for `peer:identify` (registrar topologies).
   */
  identifyPeers?: boolean
}

/** A running standalone node: the service's API plus the libp2p node under it. */
export interface ConclaveNode
  extends Pick<
    ConclaveService,
    | 'id'
    | 'addEventListener'
    | 'removeEventListener'
    | 'isLeader'
    | 'leader'
    | 'shardLeader'
    | 'fencingToken'
    | 'whenLeader'
    | 'transferLeadership'
    | 'leave'
    | 'status'
  > {
  /** The underlying libp2p node (its peer id is the Conclave NodeId). */
  readonly libp2p: Libp2p
  readonly service: ConclaveService
  /** Stop libp2p and the service (no leave: call `leave()` first for a graceful exit). */
  stop(): Promise<void>
}

export async function createConclave(options: CreateConclaveOptions): Promise<ConclaveNode> {
  const privateKey = await loadOrCreatePrivateKey(options.dataDir)
  const clock = options.clock ?? monotonicClock()
  const admission = new Admission({
    clock,
    allowPeers: options.allowPeers ? new Set(options.allowPeers) : undefined,
  })
  const { psk, allowPeers: _allowPeers, tcpRtoMaxMs, identifyPeers, ...serviceOptions } = options
  const base = libp2pBaseOptions({
    privateKey,
    listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: options.bootstrap ?? [],
    psk,
    admission,
    tcpRtoMaxMs,
    identifyOnConnect: identifyPeers ?? options.observer === true,
  })
  const libp2p = await createLibp2p({
    ...base,
    start: false,
    services: {
      ...base.services,
      conclave: conclave({ ...serviceOptions, clock, admission, bootstrap: options.bootstrap ?? [] }),
    },
  })
  // Skip the peer-store writes per stream and per dial that nothing in a node reads.
  leanPeerStore(libp2p.peerStore, Object.values(PROTOCOLS))
  const service = libp2p.services.conclave
  service.attachPubSub((libp2p.services as Record<string, unknown>).pubsub as PubSubLike)
  await libp2p.start()
  return {
    libp2p,
    service,
    get id() {
      return service.id
    },
    addEventListener: service.addEventListener.bind(service),
    removeEventListener: service.removeEventListener.bind(service),
    isLeader: () => service.isLeader(),
    leader: () => service.leader(),
    shardLeader: () => service.shardLeader(),
    fencingToken: () => service.fencingToken(),
    whenLeader: (o) => service.whenLeader(o),
    transferLeadership: () => service.transferLeadership(),
    leave: (o) => service.leave(o),
    status: () => service.status(),
    stop: async () => {
      await libp2p.stop()
    },
  }
}
