/**
 * Cluster admission over real libp2p (TCP + Noise + pnet) on 127.0.0.1, in one process: nodes
 * sharing the pre-shared key connect; a node without it, or with another key, cannot; with an
 * allow-list, a node holding the key but not listed is refused and counted.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createLibp2p } from 'libp2p'
import { afterAll, describe, expect, it } from 'vitest'
import {
  Admission,
  AdmissionConfigError,
  generatePsk,
  parseAllowList,
  parsePsk,
  readPskFile,
} from './admission.js'
import { monotonicClock } from './clock.js'
import { loadOrCreatePrivateKey } from './identity.js'
import { libp2pBaseOptions } from './libp2p-options.js'

const dir = mkdtempSync(join(tmpdir(), 'conclave-adm-'))
const started: Libp2p[] = []
afterAll(async () => {
  for (const n of started) await n.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function node(name: string, psk?: Uint8Array, admission?: Admission): Promise<Libp2p> {
  const privateKey = await loadOrCreatePrivateKey(join(dir, name))
  const base = libp2pBaseOptions({
    privateKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    psk,
    admission,
  })
  // Only the transport matters here: no gossipsub (it would dial and retry on its own).
  const n = await createLibp2p({ ...base, services: {} })
  started.push(n)
  return n
}

/**
 * Dial `to` from `from`: whether a connection came up on both sides within `listedMsMax` of the
 * dial (bounded: `dialMsMax` for the dial). The dialer alone is not enough: its multistream-select
 * is optimistic, so its dial can resolve before the listener's gater refuses and closes the socket.
 * A refusal is only ever known by waiting, so an expected refusal waits 1 s for the listing
 * (`refused`); an expected connection returns as soon as the listener lists it and allows 10 s.
 * Both allow 30 s for the dial, which ends in milliseconds on an idle host (a refused or admitted
 * handshake alike): the old bounds, 5 s dial and 1 s listing for both, were timing assumptions a
 * loaded host (load 30) broke once ("a banned peer is refused…": the re-dial after the ban
 * ended took 1028 ms on a host loaded on purpose, of a 1 s + dial budget).
 */
async function connects(
  from: Libp2p,
  to: Libp2p,
  dialMsMax = 30_000,
  listedMsMax = 10_000,
): Promise<boolean> {
  const addr = to.getMultiaddrs()[0]
  if (!addr) throw new Error('no listen address')
  try {
    await from.dial(addr, { signal: AbortSignal.timeout(dialMsMax) })
  } catch {
    return false
  }
  const deadline = Date.now() + listedMsMax
  while (Date.now() < deadline) {
    if (to.getConnections(from.peerId).some((c) => c.status === 'open')) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return false
}

/** Dial `to` from `from`, expecting a refusal: whether no connection was listed by `to` within 1 s. */
async function refused(from: Libp2p, to: Libp2p, dialMsMax = 30_000): Promise<boolean> {
  return !(await connects(from, to, dialMsMax, 1000))
}

describe('pre-shared key files', () => {
  it('generatePsk output parses; damaged files are clear errors', () => {
    const text = generatePsk()
    expect(new TextDecoder().decode(parsePsk(text))).toMatch(
      /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/,
    )
    expect(generatePsk()).not.toBe(text)
    expect(() => parsePsk(text.replace('/base16/', '/base64/'))).toThrow(AdmissionConfigError)
    expect(() => parsePsk(text.slice(0, -10))).toThrow(/64 hex digits/)
    expect(() => parsePsk('hello')).toThrow(/first line/)
    const file = join(dir, 'swarm.key')
    writeFileSync(file, text.replace(/\n/g, '\r\n'), { mode: 0o600 })
    expect(readPskFile(file)).toEqual(parsePsk(text))
    // A key other users may read is refused, with the fix in the message.
    chmodSync(file, 0o640)
    expect(() => readPskFile(file)).toThrow(AdmissionConfigError)
    expect(() => readPskFile(file)).toThrow(/mode 0640 .*chmod 600/)
    chmodSync(file, 0o600)
    expect(() => readPskFile(join(dir, 'missing.key'))).toThrow(/psk file/)
  })

  it('allow-list entries are checked for shape; comments and blanks are ignored', async () => {
    const id = peerIdFromPrivateKey(await loadOrCreatePrivateKey(join(dir, 'shape'))).toString()
    expect([...parseAllowList([`${id}  # node 1`, '', '# all'])]).toEqual([id])
    expect(() => parseAllowList(['not-a-peer-id'])).toThrow(AdmissionConfigError)
  })
})

describe('admission over real libp2p', () => {
  it('only nodes holding the cluster key connect', async () => {
    const key = parsePsk(generatePsk())
    const a = await node('a', key)
    const b = await node('b', key)
    const outsider = await node('outsider')
    const wrongKey = await node('wrong', parsePsk(generatePsk()))
    expect(await connects(b, a)).toBe(true)
    expect(await refused(outsider, a)).toBe(true) // fails at once (Noise reads garbage)
    expect(await refused(wrongKey, a)).toBe(true)
    // A key holder dialling out waits for a nonce the other side never sends: it fails by timeout.
    expect(await refused(a, outsider, 1500)).toBe(true)
    expect(await refused(a, wrongKey, 1500)).toBe(true)
    expect(a.getConnections().map((c) => c.remotePeer.toString())).toEqual([b.peerId.toString()])
  })

  it('an allow-list refuses a key holder that is not listed, counted, both directions', async () => {
    const key = parsePsk(generatePsk())
    const friendKey = await loadOrCreatePrivateKey(join(dir, 'friend'))
    const friendId = peerIdFromPrivateKey(friendKey).toString()
    const admission = new Admission({ clock: monotonicClock(), allowPeers: new Set([friendId]) })
    const gated = await node('gated', key, admission)
    const friend = await node('friend', key)
    const stranger = await node('stranger', key)
    expect(await connects(friend, gated)).toBe(true)
    expect(await refused(stranger, gated)).toBe(true)
    expect(admission.snapshot()['not-allowed']).toBe(1)
    expect(await refused(gated, stranger)).toBe(true)
    expect(admission.snapshot()['not-allowed']).toBe(2)
    expect(gated.getConnections().map((c) => c.remotePeer.toString())).toEqual([friendId])
  })

  it('a banned peer is refused at connection time until the ban ends', async () => {
    let nowMs = 0
    const admission = new Admission({ clock: { nowMs: () => nowMs } })
    const host = await node('host', undefined, admission)
    const peer = await node('peer')
    admission.ban(peer.peerId.toString(), 1000)
    expect(await refused(peer, host)).toBe(true)
    expect(admission.snapshot().banned).toBe(1)
    // The dialer may still hold the connection the host refused (its dial resolved optimistically)
    // until the close reaches it; a dial meanwhile would return that dying connection.
    const deadline = Date.now() + 10_000
    while (peer.getConnections(host.peerId).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    nowMs = 1000
    expect(await connects(peer, host)).toBe(true)
  })

  it('the ban list is bounded', () => {
    let nowMs = 0
    const admission = new Admission({ clock: { nowMs: () => nowMs }, bansMax: 3 })
    for (const p of ['p1', 'p2', 'p3', 'p4']) admission.ban(p, 100)
    expect(admission.isBanned('p1')).toBe(false) // the oldest was forgotten
    expect(admission.isBanned('p4')).toBe(true)
    nowMs = 100
    expect(admission.isBanned('p4')).toBe(false)
  })
})
