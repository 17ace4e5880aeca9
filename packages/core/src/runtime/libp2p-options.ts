/**
 * The libp2p 3 node Conclave runs on: TCP + Noise + Yamux, identify, ping, a bootstrap list and
 * gossipsub (leader announcements, status topic). Settings that matter on one host are taken from
 * measurements in shared/notes/libp2p-on-node20.md:
 * - gossipsub's IP-colocation penalty is waived for loopback (otherwise >10 local nodes are
 *   graylisted and no mesh forms);
 * - `fastMsgIdFn` (from + seqno) de-duplicates copies before their signatures are checked;
 * - the inbound connection rate limit is raised and loopback is allowed (default: 5/s per host);
 * - dials are fewer in parallel and wait longer for handshakes (see connectionManager below).
 * Closing the mesh (docs/security.md): with `psk`, every connection is a libp2p private network
 * (`@libp2p/pnet`, below Noise); with `admission`, its gater enforces the allow-list and bans;
 * the handshake guard gives the key and Noise handshakes a deadline and caps pending inbound
 * connections per IP (handshake-guard.ts).
 */
import './polyfill.js'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import type { Libp2pOptions } from 'libp2p'
import type { Admission } from './admission.js'
import { coalescingTcp } from './coalescing-tcp.js'
import { directProtector } from './direct-path.js'
import { HandshakeGuard } from './handshake-guard.js'
import { lazyWindowYamux } from './lazy-window-yamux.js'
import { quietNoise } from './quiet-noise.js'
import { libp2pLogger } from './silent-logger.js'

export interface Libp2pBaseInit {
  privateKey: PrivateKey
  /** Listen multiaddrs, e.g. `/ip4/127.0.0.1/tcp/4001`. */
  listen: string[]
  /** Multiaddrs with `/p2p/<peer id>` of nodes to contact first. */
  bootstrap: string[]
  /** Hosts whose many nodes share one IP (loopback always). */
  colocatedIps?: string[]
  /** Upper bound on open connections. Default 1000 (a 200-node local mesh fits). */
  connectionsMax?: number
  /**
   * The cluster's pre-shared key (swarm-key file bytes, see admission.ts parsePsk). When set,
   * every connection is a libp2p private-network connection: a peer without the same key cannot
   * connect. Default unset (an open mesh).
   */
  psk?: Uint8Array
  /**
   * With `psk`: how long the private-network nonce exchange plus the Noise handshake may take
   * before the connection is aborted (handshake-guard.ts). Default 10 s: ~10 ms on an idle host,
   * seconds when many nodes start on 2 loaded cores (see dialTimeout below). Lower = an outsider
   * without the key holds a pending slot for less; too low aborts honest handshakes under load.
   * (pnet's own `timeout` option is never used: libp2p always passes its upgrade signal.)
   */
  pskHandshakeTimeoutMs?: number
  /**
   * Inbound connections one IP may have pending (before a finished Noise handshake) at once;
   * loopback and `colocatedIps` are exempt. Default 16. Lower = one outsider fills fewer of
   * libp2p's 200 pending slots; too low refuses honest peers sharing one NAT address.
   */
  pendingInboundPerIpMax?: number
  /** Allow-list and ban gate (admission.ts), installed as the connection gater. Default none. */
  admission?: Admission
  /**
   * Cap on each connection's TCP retransmission backoff, ms (tcp-rto-cap.ts; Linux ≥ 6.15, where
   * the kernel accepts 1000 .. 120000; elsewhere the kernel's backoff stays). Default 1000: a link
   * that heals after a partition carries again within 1 s instead of up to 3.2 s (6.4 s …) later;
   * measured in the chaos harness (docs/testing.md, session 7). 0 = the kernel's own backoff.
   * A lower value is raised to 1000 (capSocket clamps to what the kernel accepts); higher = fewer
   * retransmissions during a partition, longer waits after it heals. A capped socket also gets
   * TCP_USER_TIMEOUT 900 s, so the cap does not shorten TCP's ~15 min give-up.
   */
  tcpRtoMaxMs?: number
  /**
   * Run identify on every new connection (libp2p's default). Default true. Conclave nodes set it
   * false (createConclave): they dial members at the addresses membership carries, so identify's
   * addresses are never used, and every other libp2p service that waits for `peer:identify`
   * (gossipsub's topology) then opens nothing on its own. Identify still answers: a peer that
   * identifies us (the inspector) learns our protocols, its gossipsub opens a stream, and ours
   * opens one back (onIncomingStream). At 50 nodes identify was ≈ 10 % of the launch's CPU
   * samples and node-to-node gossipsub streams carry nothing (nodes subscribe to no topic).
   */
  identifyOnConnect?: boolean
}

export function libp2pBaseOptions(init: Libp2pBaseInit): Libp2pOptions<Record<string, unknown>> {
  const colocated = new Set(['127.0.0.1', '::1', ...(init.colocatedIps ?? [])])
  const guard = new HandshakeGuard({
    handshakeTimeoutMs: init.pskHandshakeTimeoutMs ?? 10_000,
    pendingPerIpMax: init.pendingInboundPerIpMax ?? 16,
    exemptIps: colocated,
    onDeny: (reason) => init.admission?.count(reason),
  })
  const guardGater = guard.gater()
  const admissionGater = init.admission?.gater()
  const logger = libp2pLogger()
  return {
    privateKey: init.privateKey,
    // No per-connection and per-stream debug loggers (silent-logger.ts) unless DEBUG asks for them.
    ...(logger ? { logger } : {}),
    addresses: { listen: init.listen },
    // No socket inactivity timeout: with yamux's keep-alive every connection is written to at
    // least every keepAliveInterval, which refreshes the timer at both ends, so it never closed a
    // live connection nor a dead one; refreshing it cost a timer update per socket read and write.
    transports: [
      coalescingTcp({
        inboundSocketInactivityTimeout: 0,
        outboundSocketInactivityTimeout: 0,
        rtoMaxMs: init.tcpRtoMaxMs ?? 1000,
      }),
    ],
    // Noise with a decoder that does not throw (and capture a stack) at the end of every read.
    connectionEncrypters: [quietNoise()],
    // Keep-alive every 90 s instead of 30 s: a ping and a pong per connection and side per
    // interval, and every node of a local cluster ends up connected to every other (SWIM probes
    // everyone), so at 100 nodes the 30 s default cost ≈ 6.6 frames/s per node, a third of the
    // protocol's own. A failed ping closes nothing (yamux only logs it): it only keeps NAT and
    // firewall state alive, for which 90 s is still short.
    streamMuxers: [lazyWindowYamux({ keepAliveInterval: 90_000 })],
    // The private network's stream gets the direct path too (direct-path.ts).
    ...(init.psk
      ? { connectionProtector: directProtector(guard.protector(preSharedKey({ psk: init.psk }))) }
      : {}),
    connectionGater: {
      ...admissionGater,
      denyInboundConnection: guardGater.denyInboundConnection,
      // The guard settles first (the handshake is done), whatever the admission then decides.
      denyInboundEncryptedConnection: (peer, maConn) =>
        Boolean(guardGater.denyInboundEncryptedConnection?.(peer, maConn)) ||
        Boolean(admissionGater?.denyInboundEncryptedConnection?.(peer, maConn)),
      denyOutboundEncryptedConnection: (peer, maConn) =>
        Boolean(guardGater.denyOutboundEncryptedConnection?.(peer, maConn)) ||
        Boolean(admissionGater?.denyOutboundEncryptedConnection?.(peer, maConn)),
    },
    peerDiscovery: init.bootstrap.length > 0 ? [bootstrap({ list: init.bootstrap, timeout: 0 })] : [],
    // libp2p's connection monitor pings every connection every 10 s on a NEW stream (multistream
    // negotiation and a peer-store write at both ends): measured as the largest libp2p cost of an
    // idle node after our own frames. It is not what finds dead peers: a killed process's sockets
    // close at once, a vanished host's fail when TCP gives up retransmitting what we write to it,
    // and SWIM detects dead members itself (it never waits for a connection to close).
    connectionMonitor: { enabled: false },
    connectionManager: {
      maxConnections: init.connectionsMax ?? 1000,
      inboundConnectionThreshold: 1000,
      maxIncomingPendingConnections: 200,
      // When many nodes start on few cores, Noise handshakes queue for seconds. libp2p's default
      // timeouts (6 s per address, 10 s per upgrade) then abort handshakes that were nearly done
      // and the retries livelock: measured at 25 nodes on 2 loaded cores, 218 handshakes aborted
      // in 15 s and no leader ever formed. Fewer parallel dials and longer timeouts let them finish.
      maxParallelDials: 8,
      dialTimeout: 30_000,
      addressDialTimeout: 20_000,
      inboundUpgradeTimeout: 30_000,
      allow: [
        '/ip4/127.0.0.1/ipcidr/32',
        ...[...colocated]
          .filter((ip) => ip.includes('.') && ip !== '127.0.0.1')
          .map((ip) => `/ip4/${ip}/ipcidr/32`),
      ],
    },
    services: {
      identify: identify({ runOnConnectionOpen: init.identifyOnConnect ?? true }),
      ping: ping(),
      // Gossipsub carries only what the inspector reads (nodes publish, never subscribe); its
      // publishes flood to every subscriber at once (floodPublish), so the mesh that heartbeats
      // maintain is not on a message's path. Its heartbeat and the peer-score decay each woke
      // every node once per second (2 of an idle follower's ≈ 20 wake-ups per second, plus a
      // pass over all peers each); every 5 s now. The score's per-interval decays are its own
      // defaults (penalties of a misbehaving peer fade 5× slower; nothing here sets topic scores).
      pubsub: gossipsub({
        heartbeatInterval: 5000,
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        fastMsgIdFn: (msg) => `${hex(msg.from)}:${hex(msg.seqno)}`,
        scoreParams: { IPColocationFactorWhitelist: colocated, decayInterval: 5000 },
      }),
    },
  }
}

function hex(b: Uint8Array | undefined): string {
  return b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex') : ''
}
