/**
 * Who may use the admin HTTP API. On a loopback address only local processes can reach it; on
 * any other address a bearer token is required (the CLI refuses to start without one), and a
 * request without `Authorization: Bearer <token>` gets 401. The token comparison takes the same
 * time whatever the guess (hashes compared with timingSafeEqual).
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'

/** Shortest admin token accepted: 16 characters (e.g. `openssl rand -hex 16` gives 32). */
export const ADMIN_TOKEN_CHARS_MIN = 16

/** True for 127.0.0.0/8, ::1 and `localhost`: addresses other hosts cannot reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost' || h === '::1') return true
  return isIP(h) === 4 && h.startsWith('127.')
}

/** Whether an `Authorization` header carries exactly `token` as a bearer token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  if (!m?.[1]) return false
  const a = createHash('sha256').update(m[1]).digest()
  const b = createHash('sha256').update(token).digest()
  return timingSafeEqual(a, b)
}
