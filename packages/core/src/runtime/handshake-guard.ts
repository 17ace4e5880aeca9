/**
 * Bounds what a peer that never completes a handshake can hold (closed-mesh review P0-4).
 *
 * `@libp2p/pnet` 3.0.27 applies its own `timeout` only when libp2p passes no options, and libp2p
 * always passes its upgrade signal: the private-network timeout was dead, and a keyless outsider
 * that opened TCP and sent nothing (or a 24-byte nonce and garbage, so Noise waits for bytes that
 * never come) held a pending connection slot for libp2p's whole `inboundUpgradeTimeout` (30 s).
 *
 * Guarantees:
 * - With a cluster key, every connection (inbound or outbound) that has not finished both the
 *   private-network nonce exchange and the Noise handshake within `handshakeTimeoutMs` of the
 *   protector starting is aborted and counted (`handshake-timeout`). Finishing Noise proves the
 *   peer holds the key (without it the handshake's MACs fail), so key holders are never cut short
 *   after that point; what follows (gater, muxer) keeps libp2p's own upgrade timeout.
 * - At most `pendingPerIpMax` inbound connections from one IP address are between accept and a
 *   finished Noise handshake at once; more are refused at accept and counted (`pending-per-ip`).
 *   Exempt addresses (loopback and hosts running many local nodes) are not limited, like
 *   libp2p's own `allow` list. libp2p itself only caps pending connections globally
 *   (`maxIncomingPendingConnections`), so without this one outsider could fill that cap.
 * - State is one entry per pending connection (removed when it finishes or closes) and one
 *   counter per IP with pending connections: bounded by libp2p's pending cap.
 */
import type { ConnectionGater, ConnectionProtector, MultiaddrConnection } from '@libp2p/interface'

/** Why the guard refused or aborted a connection (metric label, as admission's denials). */
export type HandshakeDenial = 'pending-per-ip' | 'handshake-timeout'

export interface HandshakeGuardInit {
  /**
   * Deadline from the start of the private-network handshake to a finished Noise handshake, when
   * a cluster key is set. Default 10 s: an idle host finishes in ~10 ms, but when dozens of nodes
   * start on 2 cores Noise handshakes queue for seconds (shared/notes/libp2p-on-node20.md).
   * Lower = an outsider holds a slot for less; too low aborts honest handshakes on a loaded host.
   */
  handshakeTimeoutMs: number
  /**
   * Inbound connections from one IP that may be pending (before a finished Noise handshake) at
   * once. Default 16: a node receives one connection per peer, a restarted host a few at once.
   * Lower = one outsider holds fewer slots; too low refuses honest peers behind one NAT address.
   */
  pendingPerIpMax: number
  /** IP addresses the per-IP limit does not apply to (loopback, colocated local clusters). */
  exemptIps: ReadonlySet<string>
  /** A refusal or abort, for the admission's counters. */
  onDeny?(reason: HandshakeDenial): void
}

interface Pending {
  ip: string | undefined
  timer: ReturnType<typeof setTimeout> | undefined
}

export class HandshakeGuard {
  private readonly pending = new WeakMap<object, Pending>()
  private readonly pendingByIp = new Map<string, number>()
  private readonly denials = new Map<HandshakeDenial, number>()

  constructor(private readonly init: HandshakeGuardInit) {}

  /** Counted refusals and aborts by reason. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.denials)
  }

  /** Inbound connections pending now from `ip`. */
  pendingFrom(ip: string): number {
    return this.pendingByIp.get(ip) ?? 0
  }

  /** Wrap a connection protector (pnet) so its handshake and Noise's get a deadline. */
  protector(
    inner: (components: unknown) => ConnectionProtector,
  ): (components: unknown) => ConnectionProtector {
    return (components) => {
      const protector = inner(components)
      return {
        protect: async (connection, options) => {
          const entry = this.entryOf(connection, undefined)
          entry.timer = setTimeout(() => {
            this.deny('handshake-timeout')
            this.settle(connection)
            connection.abort(new Error(`handshake not finished in ${this.init.handshakeTimeoutMs} ms`))
          }, this.init.handshakeTimeoutMs)
          entry.timer.unref?.()
          // pnet only reads its own timeout without options; the timer above aborts the
          // connection, which fails pnet's read (and later Noise's) at the deadline.
          return protector.protect(connection, options)
        },
      }
    }
  }

  /** Gater hooks: count pending inbound per IP at accept; settle once Noise has finished. */
  gater(): Pick<
    ConnectionGater,
    'denyInboundConnection' | 'denyInboundEncryptedConnection' | 'denyOutboundEncryptedConnection'
  > {
    return {
      denyInboundConnection: (maConn) => {
        const ip = ipOf(maConn)
        if (ip !== undefined && !this.init.exemptIps.has(ip)) {
          const n = this.pendingByIp.get(ip) ?? 0
          if (n >= this.init.pendingPerIpMax) {
            this.deny('pending-per-ip')
            return true
          }
          this.pendingByIp.set(ip, n + 1)
          this.entryOf(maConn, ip)
        }
        return false
      },
      denyInboundEncryptedConnection: (_peer, maConn) => {
        this.settle(maConn)
        return false
      },
      denyOutboundEncryptedConnection: (_peer, maConn) => {
        this.settle(maConn)
        return false
      },
    }
  }

  private entryOf(conn: object, ip: string | undefined): Pending {
    let entry = this.pending.get(conn)
    if (!entry) {
      entry = { ip, timer: undefined }
      this.pending.set(conn, entry)
      const c = conn as { addEventListener?(name: string, fn: () => void, opts?: { once: boolean }): void }
      c.addEventListener?.('close', () => this.settle(conn), { once: true })
    } else if (ip !== undefined) entry.ip = ip
    return entry
  }

  /** The handshake finished or the connection closed: stop its timer, release its IP slot. */
  private settle(conn: object): void {
    const entry = this.pending.get(conn)
    if (!entry) return
    this.pending.delete(conn)
    if (entry.timer) clearTimeout(entry.timer)
    if (entry.ip !== undefined) {
      const n = (this.pendingByIp.get(entry.ip) ?? 1) - 1
      if (n <= 0) this.pendingByIp.delete(entry.ip)
      else this.pendingByIp.set(entry.ip, n)
    }
  }

  private deny(reason: HandshakeDenial): void {
    this.denials.set(reason, (this.denials.get(reason) ?? 0) + 1)
    this.init.onDeny?.(reason)
  }
}

function ipOf(maConn: MultiaddrConnection): string | undefined {
  for (const c of maConn.remoteAddr.getComponents()) if (c.name === 'ip4' || c.name === 'ip6') return c.value
  return undefined
}
