/**
 * A cap on TCP's retransmission backoff, set by the node on each of its own connections
 * (`TCP_RTO_MAX_MS`, Linux ≥ 6.15), so that a connection across a partition that has healed
 * carries again within the cap instead of at its next exponentially backed-off retransmission.
 *
 * Why: a partition that drops packets (no RST) leaves every connection across it open, TCP
 * retransmitting its oldest unacknowledged segment 0.2, 0.6, 1.4, 3.0, 6.2 s … after it was lost.
 * After a cut of 3.1 s the next retransmission comes 3.1 s after the heal, and every frame of the
 * post-heal election (shard and global votes, then the new leader's appends) waits behind it.
 * Capped at 1 s, a retransmission leaves at least once a second, so a healed link carries again
 * within 1 s (0.5 s on average). Measured in the chaos harness with the same cap set for the whole
 * namespace (`--tcp-rto-max-ms 1000`, docs/testing.md). Three runtime redials were tried against
 * the same wait and rejected: replacing connections at 25 nodes on 2 cores cost more than the
 * backoff (handshakes, frames lost with aborted connections). The cap costs no handshake and no
 * frame: during a partition each stalled connection sends one retransmitted segment a second
 * instead of fewer, and nothing else changes.
 *
 * Side effect: TCP gives up on a connection after `tcp_retries2` (15) retransmissions, a time the
 * kernel computes with the cap: about 15 s of nothing acknowledged at a 1 s cap (measured 15.0 s
 * on loopback with the peer's packets dropped) instead of ~15 min. Such a connection is closed and
 * the next frame redials, which a partition longer than that needs anyway.
 *
 * How: Node has no `setsockopt`; libc's is called through koffi (a foreign-function interface
 * whose npm package ships prebuilt binaries) on the socket's file descriptor. Where that is not
 * possible (not Linux, koffi or the option missing, an older kernel: ENOPROTOOPT/EINVAL) the
 * connection keeps the kernel's backoff, as before, and the outcome is counted.
 */
import { createRequire } from 'node:module'

/** `IPPROTO_TCP` and `TCP_RTO_MAX_MS` (linux/tcp.h, Linux 6.15). */
export const IPPROTO_TCP = 6
export const TCP_RTO_MAX_MS = 44
/** The kernel accepts 1000 .. 120000 ms for TCP_RTO_MAX_MS. */
export const RTO_MAX_MS_MIN = 1000
export const RTO_MAX_MS_MAX = 120_000

/** Sets one int socket option: 0 on success, or an errno-like failure (non-zero). */
export type SetIntSockopt = (fd: number, level: number, name: number, value: number) => number

/** Outcomes of `capSocket`, process-wide (exported as `conclave_tcp_rto_cap_total{result}`). */
export const rtoCapStats = {
  /** Connections whose backoff is capped. */
  capped: 0,
  /** setsockopt refused (e.g. a kernel older than 6.15). */
  refused: 0,
  /** No file descriptor, or no way to call setsockopt on this platform. */
  unavailable: 0,
}

let loaded: SetIntSockopt | null | undefined

/**
 * libc's setsockopt through koffi, loaded once; null where it cannot be (not Linux, koffi or its
 * binary missing).
 */
export function libcSetIntSockopt(): SetIntSockopt | null {
  if (loaded !== undefined) return loaded
  loaded = null
  if (process.platform !== 'linux') return loaded
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(path: string): { func(signature: string): (...args: unknown[]) => number }
    }
    const setsockopt = koffi
      .load('libc.so.6')
      .func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)')
    const value = Buffer.alloc(4)
    loaded = (fd, level, name, v) => {
      value.writeInt32LE(v)
      return setsockopt(fd, level, name, value, 4)
    }
  } catch {
    loaded = null
  }
  return loaded
}

/** The part of a net.Socket read here: libuv's handle exposes the descriptor on Unix. */
interface SocketLike {
  _handle?: { fd?: number } | null
}

/**
 * Cap `socket`'s retransmission backoff at `maxMs` (clamped to what the kernel accepts). Returns
 * the outcome, also counted in `rtoCapStats`. Never throws.
 */
export function capSocket(
  socket: unknown,
  maxMs: number,
  set: SetIntSockopt | null = libcSetIntSockopt(),
): 'capped' | 'refused' | 'unavailable' {
  const fd = (socket as SocketLike | undefined)?._handle?.fd
  if (set === null || typeof fd !== 'number' || fd < 0) {
    rtoCapStats.unavailable++
    return 'unavailable'
  }
  const ms = Math.round(Math.min(RTO_MAX_MS_MAX, Math.max(RTO_MAX_MS_MIN, maxMs)))
  let rc: number
  try {
    rc = set(fd, IPPROTO_TCP, TCP_RTO_MAX_MS, ms)
  } catch {
    rc = -1
  }
  if (rc !== 0) {
    rtoCapStats.refused++
    return 'refused'
  }
  rtoCapStats.capped++
  return 'capped'
}
