/**
 * Black-holed TCP connections, as the kernel sees them (Linux `/proc/net/tcp`, `/proc/net/tcp6`).
 *
 * A partition that drops packets (no RST) leaves a connection open while TCP retransmits its
 * oldest unacknowledged segment with exponential backoff (RTO 0.2, 0.4, 0.8, 1.6, 3.2 s …). After
 * a cut of 3–6 s the first packet that can cross the healed network leaves up to 3.2 s after the
 * heal, and every frame queued behind it waits too: measured in the chaos harness, `ss -ti` showed
 * `backoff:4 rto:3264` on every connection of an isolated leader 0.3 s after the heal, and it
 * learned the new leader 2.1 s after it. A fresh connection's SYN leaves at once.
 *
 * The kernel's retransmission count (`retrnsmt`: RTO expiries since data was last acknowledged)
 * tells such a connection apart without false alarms: it is reset by every ACK, and the peer's
 * kernel ACKs even when the peer's process is too busy to answer (a silence-based rule would
 * abort healthy connections of a loaded peer). Pure parsing here; peer-streams.ts polls it.
 */

/**
 * The kernel's count of RTO expiries in this network namespace (`TCPTimeouts` of the `TcpExt:`
 * lines of `/proc/net/netstat`); undefined if absent. It grows by one at every retransmission
 * timeout, of data or of a SYN (measured on Linux 6.18 with iptables DROP: +1 at each of the 0.2,
 * 0.6, 1.4, 3.0 s expiries of a connection, +1 at each SYN retransmission), and not for tail loss
 * probes or fast retransmits, which loopback makes constantly under CPU load (RetransSegs of
 * /proc/net/snmp grew by ~7 per second in an idle 5-node cluster on a loaded host). While it stands
 * still no connection can have gained an RTO expiry, so the costly TCP table need not be read:
 * /proc/net/netstat is ~4 KB (~0.1 ms to read), /proc/net/tcp costs ~8 ms of CPU on a 24 GB host
 * whatever the number of sockets (the kernel walks its whole connection hash table).
 */
export function rtoExpiries(procNetNetstat: string): number | undefined {
  const lines = procNetNetstat.split('\n').filter((l) => l.startsWith('TcpExt:'))
  const names = lines[0]?.trim().split(/\s+/)
  const values = lines[1]?.trim().split(/\s+/)
  if (!names || !values) return undefined
  const i = names.indexOf('TCPTimeouts')
  const v = i > 0 ? Number(values[i]) : Number.NaN
  return Number.isSafeInteger(v) ? v : undefined
}

/** An established connection whose unacknowledged data has seen `retransmitsMin` RTO expiries. */
export function stalledRemotes(procNetTcp: string, retransmitsMin: number): string[] {
  const out: string[] = []
  for (const line of procNetTcp.split('\n')) {
    const f = line.trim().split(/\s+/)
    // sl local rem st tx:rx tr:when retrnsmt …; st 01 = ESTABLISHED
    if (f.length < 7 || f[3] !== '01') continue
    const retransmits = Number.parseInt(f[6] ?? '', 16)
    if (!(retransmits >= retransmitsMin)) continue
    const remote = endpointOf(f[2] ?? '')
    if (remote) out.push(remote)
  }
  return out
}

/**
 * Remote ends of dials whose SYN the kernel had to retransmit (SYN_SENT with at least one RTO
 * expiry: unanswered for 1 s; Linux would wait 2, 4, 8 … s more before the next ones).
 */
export function unansweredSyns(procNetTcp: string): string[] {
  const out: string[] = []
  for (const line of procNetTcp.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 7 || f[3] !== '02') continue // 02 = SYN_SENT
    if (!(Number.parseInt(f[6] ?? '', 16) >= 1)) continue
    const remote = endpointOf(f[2] ?? '')
    if (remote) out.push(remote)
  }
  return out
}

/** `0100007F:1F90` → `127.0.0.1:8080`; IPv6 as 8 groups without compression (see ipKey). */
function endpointOf(hex: string): string | undefined {
  const [addr, port] = hex.split(':')
  if (!addr || !port) return undefined
  const p = Number.parseInt(port, 16)
  if (addr.length === 8) return `${ipv4(addr)}:${p}`
  if (addr.length !== 32) return undefined
  // Four 32-bit words, each in host (little-endian) byte order.
  const bytes: number[] = []
  for (let w = 0; w < 4; w++) {
    const word = addr.slice(w * 8, w * 8 + 8)
    for (let b = 3; b >= 0; b--) bytes.push(Number.parseInt(word.slice(b * 2, b * 2 + 2), 16))
  }
  // An IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 endpoint.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    return `${bytes.slice(12).join('.')}:${p}`
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16))
  return `${groups.join(':')}:${p}`
}

function ipv4(le: string): string {
  const parts: number[] = []
  for (let b = 3; b >= 0; b--) parts.push(Number.parseInt(le.slice(b * 2, b * 2 + 2), 16))
  return parts.join('.')
}

/** The key stalledRemotes uses for an address and port (IPv6: 8 uncompressed hex groups). */
export function endpointKey(ip: string, port: number): string {
  if (!ip.includes(':')) return `${ip}:${port}`
  const [head = '', tail = ''] = ip.split('::')
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h
  return `${groups.map((g) => Number.parseInt(g, 16).toString(16)).join(':')}:${port}`
}
