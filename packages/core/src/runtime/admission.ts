/**
 * Cluster admission: who may open a connection to this node at all.
 *
 * Two independent gates, both enforced by libp2p before any Conclave protocol byte is read:
 * - A pre-shared key (libp2p private network, `@libp2p/pnet`): every connection is encrypted with
 *   XSalsa20 under the cluster key *below* Noise. A node without the key cannot complete the
 *   Noise handshake with a member, so it never opens a stream, whatever peer id it holds.
 * - An optional allow-list of peer ids: the connection gater refuses every other peer once its
 *   id is known (after the Noise handshake proves it), inbound and outbound; counted as
 *   `not-allowed`.
 * A peer the transport cut off for abuse (peer-streams.ts) is also refused here for `banMs`, so
 * it cannot reconnect at once and start again; counted as `banned`.
 *
 * Guarantees: every refusal is counted by reason; the ban list is bounded (`bansMax`, expired
 * entries are swept first, then the oldest ban is forgotten).
 */
import { randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { NodeId } from '../sans-io.js'
import type { Clock } from './clock.js'

const PSK_HEADER = '/key/swarm/psk/1.0.0/'
const PSK_CODEC = '/base16/'
const PSK_KEY_BYTES = 32

/** A bad key file or allow-list: the message names what is wrong (never the key itself). */
export class AdmissionConfigError extends Error {
  override readonly name = 'AdmissionConfigError'
}

/** A new cluster key in the IPFS/libp2p swarm-key format (`/key/swarm/psk/1.0.0/`, base16). */
export function generatePsk(): string {
  return `${PSK_HEADER}\n${PSK_CODEC}\n${randomBytes(PSK_KEY_BYTES).toString('hex')}\n`
}

/**
 * Checks a swarm key file's text and returns the bytes `@libp2p/pnet` expects. Strict on purpose:
 * pnet itself would accept a short key and fail later with an opaque error on the first dial.
 */
export function parsePsk(text: string, source = 'psk'): Uint8Array {
  const lines = text
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
  if (lines[0] !== PSK_HEADER)
    throw new AdmissionConfigError(
      `${source}: first line must be ${PSK_HEADER} (create one with conclave keygen --psk)`,
    )
  if (lines[1] !== PSK_CODEC) throw new AdmissionConfigError(`${source}: second line must be ${PSK_CODEC}`)
  const hex = lines[2] ?? ''
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== PSK_KEY_BYTES * 2)
    throw new AdmissionConfigError(
      `${source}: third line must be ${PSK_KEY_BYTES * 2} hex digits (a ${PSK_KEY_BYTES}-byte key)`,
    )
  if (lines.length > 3) throw new AdmissionConfigError(`${source}: unexpected lines after the key`)
  return new TextEncoder().encode(`${PSK_HEADER}\n${PSK_CODEC}\n${hex.toLowerCase()}`)
}

/**
 * Refuses a secret file (cluster key, admin token) that the group or others may read or write
 * (`mode & 0o077`): a world-readable key is a leaked key, so the node exits with a clear message
 * rather than warn in a log nobody reads. Not checked on Windows (no POSIX modes).
 */
export function checkPrivateFile(path: string, what: string): void {
  if (process.platform === 'win32') return
  let mode: number
  try {
    mode = statSync(path).mode
  } catch (err) {
    throw new AdmissionConfigError(`${what} ${path}: ${(err as Error).message}`)
  }
  if ((mode & 0o077) !== 0)
    throw new AdmissionConfigError(
      `${what} ${path}: mode ${(mode & 0o777).toString(8).padStart(4, '0')} lets other users read or change it; run chmod 600 ${path}`,
    )
}

export function readPskFile(path: string): Uint8Array {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new AdmissionConfigError(`psk file ${path}: ${(err as Error).message}`)
  }
  checkPrivateFile(path, 'psk file')
  return parsePsk(text, `psk file ${path}`)
}

/** Peer ids from a list and/or a file (one per line, `#` comments), checked for shape. */
export function parseAllowList(ids: readonly string[], source = 'allow-peers'): Set<NodeId> {
  const out = new Set<NodeId>()
  for (const raw of ids) {
    const id = raw.replace(/#.*$/, '').trim()
    if (id.length === 0) continue
    // base58btc Ed25519 peer ids (12D3KooW…) or CIDv1 (bafz…); exact check happens on connect.
    if (!/^[1-9A-HJ-NP-Za-km-z]{40,60}$|^b[a-z2-7]{50,70}$/.test(id))
      throw new AdmissionConfigError(`${source}: ${JSON.stringify(id)} is not a peer id`)
    out.add(id)
  }
  return out
}

export function readAllowListFile(path: string): Set<NodeId> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new AdmissionConfigError(`allow-list file ${path}: ${(err as Error).message}`)
  }
  return parseAllowList(text.split(/\r?\n/), `allow-list file ${path}`)
}

export interface AdmissionInit {
  clock: Clock
  /** Peer ids allowed to connect; undefined = anyone holding the key. */
  allowPeers?: ReadonlySet<NodeId>
  /** Most bans remembered at once. Default 4096. */
  bansMax?: number
}

/** Why a connection was refused (metric label); the last two come from handshake-guard.ts. */
export type AdmissionDenial = 'not-allowed' | 'banned' | 'pending-per-ip' | 'handshake-timeout'

export class Admission {
  private readonly bannedUntilMs = new Map<NodeId, number>()
  private readonly denials = new Map<AdmissionDenial, number>()
  private readonly bansMax: number

  constructor(private readonly init: AdmissionInit) {
    this.bansMax = init.bansMax ?? 4096
  }

  get allowList(): ReadonlySet<NodeId> | undefined {
    return this.init.allowPeers
  }

  /** Refuse `peer` until `untilMs` (this node's clock). */
  ban(peer: NodeId, untilMs: number): void {
    if (this.bannedUntilMs.size >= this.bansMax && !this.bannedUntilMs.has(peer)) {
      const nowMs = this.init.clock.nowMs()
      for (const [p, until] of this.bannedUntilMs) if (until <= nowMs) this.bannedUntilMs.delete(p)
      if (this.bannedUntilMs.size >= this.bansMax) {
        const oldest = this.bannedUntilMs.keys().next()
        if (!oldest.done) this.bannedUntilMs.delete(oldest.value)
      }
    }
    this.bannedUntilMs.set(peer, untilMs)
  }

  isBanned(peer: NodeId): boolean {
    const until = this.bannedUntilMs.get(peer)
    if (until === undefined) return false
    if (until > this.init.clock.nowMs()) return true
    this.bannedUntilMs.delete(peer)
    return false
  }

  /** The reason `peer` is refused, or undefined when it may connect. Does not count. */
  check(peer: NodeId): AdmissionDenial | undefined {
    const allow = this.init.allowPeers
    if (allow && !allow.has(peer)) return 'not-allowed'
    if (this.isBanned(peer)) return 'banned'
    return undefined
  }

  /** Count a refusal made elsewhere (the handshake guard). */
  count(reason: AdmissionDenial): void {
    this.denials.set(reason, (this.denials.get(reason) ?? 0) + 1)
  }

  /** Counted refusals by reason. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.denials)
  }

  /** A libp2p connection gater enforcing this admission (see the file comment). */
  gater(): ConnectionGater {
    const deny = (peerId: PeerId): boolean => {
      const reason = this.check(peerId.toString())
      if (reason === undefined) return false
      this.count(reason)
      return true
    }
    return {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
    }
  }
}
