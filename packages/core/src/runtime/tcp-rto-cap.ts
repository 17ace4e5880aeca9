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
 * Side effect, and why the node also sets `TCP_USER_TIMEOUT`: TCP gives up on a connection after
 * `tcp_retries2` (15) retransmissions, a time the kernel computes with the cap: about 15 s of
 * nothing acknowledged at a 1 s cap (measured 15.0 s on loopback with the peer's packets dropped)
 * instead of ~15 min (924.6 s at the default 200 ms .. 120 s backoff). A partition longer than
 * 15 s would then reset every connection across it, and the heal would start with a full-mesh
 * re-handshake. `TCP_USER_TIMEOUT` (Linux ≥ 2.6.37) replaces that count with a time: set to
 * 900 000 ms on the same socket, a connection keeps the kernel's ~15 min give-up whatever the cap.
 * Both options are set and read back on a real socket (tcp-rto-cap.test.ts); the give-up itself
 * was not measured in a partition. If only `TCP_USER_TIMEOUT` is refused the cap still stands and
 * is counted as capped (the ~15 s give-up then applies).
 *
 * How: Node has no `setsockopt`; libc's is called through koffi (a foreign-function interface
 * whose npm package ships prebuilt binaries) on the socket's file descriptor: from `libc.so.6`
 * (glibc), else from the process itself (musl links libc into it). Where that is not
 * possible (not Linux, koffi or the option missing, an older kernel: ENOPROTOOPT/EINVAL) the
 * connection keeps the kernel's backoff, as before, and the outcome is counted.
 */
import { createRequire } from 'node:module'

/** `IPPROTO_TCP`, `TCP_RTO_MAX_MS` (Linux 6.15) and `TCP_USER_TIMEOUT` (linux/tcp.h). */
export const IPPROTO_TCP = 6
export const TCP_RTO_MAX_MS = 44
export const TCP_USER_TIMEOUT = 18
/** ≈ the kernel's own give-up at the default backoff (tcp_retries2 = 15: 924.6 s), in ms. */
export const USER_TIMEOUT_MS = 900_000
/** The kernel accepts 1000 .. 120000 ms for TCP_RTO_MAX_MS. */
export const RTO_MAX_MS_MIN = 1000
export const RTO_MAX_MS_MAX = 120_000

/** A valid `tcpRtoMaxMs` setting: 0 (the kernel's own backoff) or what the kernel accepts. */
export function isRtoMaxMs(ms: number): boolean {
  return Number.isInteger(ms) && (ms === 0 || (ms >= RTO_MAX_MS_MIN && ms <= RTO_MAX_MS_MAX))
}

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

/**
 * TCP_USER_TIMEOUT on capped sockets, process-wide (`conclave_tcp_user_timeout_total{result}`):
 * `refused` ones give up after ~15 s of silence instead of ~15 min (file comment).
 */
export const userTimeoutStats = {
  set: 0,
  refused: 0,
}

/** The part of a koffi library handle used here. */
export interface NativeLibrary {
  func(signature: string): (...args: unknown[]) => number
}

/**
 * libc from `load` (koffi's): `libc.so.6` (glibc), else the process itself (`load(null)`, where
 * musl's libc is linked in); null where neither loads.
 */
export function openLibc(load: (path: string | null) => NativeLibrary): NativeLibrary | null {
  try {
    return load('libc.so.6')
  } catch {
    try {
      return load(null)
    } catch {
      return null
    }
  }
}

let libc: NativeLibrary | null | undefined

/** libc through koffi (openLibc), loaded once; null on another OS or without koffi's binary. */
export function loadLibc(): NativeLibrary | null {
  if (libc !== undefined) return libc
  libc = null
  if (process.platform !== 'linux') return libc
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(path: string | null): NativeLibrary
    }
    libc = openLibc((path) => koffi.load(path))
  } catch {
    libc = null
  }
  return libc
}

let loaded: SetIntSockopt | null | undefined

/** libc's setsockopt through koffi, loaded once; null where it cannot be (see loadLibc). */
export function libcSetIntSockopt(): SetIntSockopt | null {
  if (loaded !== undefined) return loaded
  loaded = null
  const lib = loadLibc()
  if (lib === null) return loaded
  try {
    const setsockopt = lib.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)')
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
 * Cap `socket`'s retransmission backoff at `maxMs` (clamped to what the kernel accepts) and, once
 * capped, set its `TCP_USER_TIMEOUT` to USER_TIMEOUT_MS so that the cap does not shorten TCP's
 * give-up (file comment). Returns the outcome of the cap, also counted in `rtoCapStats`; a refused
 * user timeout does not change it. Never throws.
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
  const tcpOption = (name: number, value: number): boolean => {
    try {
      return set(fd, IPPROTO_TCP, name, value) === 0
    } catch {
      return false
    }
  }
  if (!tcpOption(TCP_RTO_MAX_MS, ms)) {
    rtoCapStats.refused++
    return 'refused'
  }
  rtoCapStats.capped++
  // The cap stands either way; without the user timeout the connection gives up after ~15 s of
  // silence instead (file comment).
  if (tcpOption(TCP_USER_TIMEOUT, USER_TIMEOUT_MS)) userTimeoutStats.set++
  else userTimeoutStats.refused++
  return 'capped'
}
