/**
 * Noise handshake crypto without the stock per-call key parsing. @chainsafe/libp2p-noise 17's
 * node crypto builds both X25519 KeyObjects from DER on every Diffie-Hellman (3 per handshake and
 * side) and hashes its HKDF in pure JS (@noble/hashes). Measured here (Node 20, one process, idle
 * host, 2000 calls each): DH 948 µs stock vs 62 µs with ready KeyObjects, a public KeyObject from
 * DER 165 µs vs 12.5 µs from a JWK, key generation 279 µs vs 57 µs (KeyObjects, raw bytes taken
 * from the JWK export; that version could deadlock, see below: the JWK-encoded generation that
 * replaced it measured 58–99 µs against the stock 128–161 µs at load 28, session 8), HKDF 78 µs
 * vs 29 µs (node's hkdfSync, the same RFC 5869 output with empty info). In a 25-node launch profile the stock DH path was ≈ 8 % of the nodes' busy samples
 * (performance.md, session 5); every connection pays it at both ends.
 *
 * Same results as the stock implementation (fast-noise-crypto.test.ts compares them); the
 * symmetric cipher and SHA-256 are the stock ones. Private keys this module generated are kept as
 * KeyObjects in a WeakMap keyed by the raw bytes object Noise holds (its KeyPair.privateKey, passed
 * back unchanged to every DH); a private key from elsewhere falls back to the stock DER path.
 * Remote public keys are parsed once per bytes object (Noise passes the same `re`/`rs` twice).
 * Both maps are weak: an entry lives only as long as the handshake holds its key.
 *
 * Never use a KeyObject that came out of `generateKeyPair[Sync]`: Node 20 deadlocks. Such a key
 * shares its mutex with the key-generation job that made it, and the job's destructor locks that
 * mutex (~KeyPairGenConfig). `keyObject.export()` holds the mutex while it allocates the JWK's
 * strings; when that allocation starts a garbage collection that reclaims the finished job, the
 * main thread waits forever on a mutex it holds itself (futex wait, no CPU, no JS: the node stays
 * alive and answers nothing). Caught by the hang watch in a 50-node launch (docs/performance.md,
 * "Session 8 (issue 4, stall)"): `ExportJWKEdKey → … → Heap::CollectGarbage → ~KeyGenJob →
 * uv_mutex_lock`. A loop of generate + export deadlocks after 1 500–10 500 keys on this host.
 * So the key is generated already JWK-encoded (the job encodes it while it is alive) and the
 * KeyObject for Diffie-Hellman is made from that JWK: its own mutex, no job behind it.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'

type Bytes = Parameters<ICryptoInterface['generateX25519SharedKey']>[0]

const EMPTY = new Uint8Array(0)

/** `generateKeyPairSync` with JWK encodings, which @types/node does not declare for x25519 (Node ≥ 15.9 does). */
const generateJwkPairSync = generateKeyPairSync as unknown as (
  type: 'x25519',
  options: { publicKeyEncoding: { format: 'jwk' }; privateKeyEncoding: { format: 'jwk' } },
) => { publicKey: JsonWebKey; privateKey: JsonWebKey }

function raw(b: Bytes): Uint8Array {
  return b instanceof Uint8Array ? b : b.subarray()
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url')
}

function fromB64url(s: string | undefined): Uint8Array {
  if (s === undefined) throw new Error('x25519 JWK export without key material')
  return new Uint8Array(Buffer.from(s, 'base64url'))
}

export function fastNoiseCrypto(): ICryptoInterface {
  const privateKeys = new WeakMap<object, KeyObject>()
  const publicKeys = new WeakMap<object, KeyObject>()

  /** A fresh X25519 pair as raw bytes; its KeyObject (from the JWK, see top) kept for the DH. */
  function generatePair(): { publicKey: Uint8Array; privateKey: Uint8Array } {
    const { privateKey: jwk } = generateJwkPairSync('x25519', {
      publicKeyEncoding: { format: 'jwk' },
      privateKeyEncoding: { format: 'jwk' },
    })
    const pair = { publicKey: fromB64url(jwk.x), privateKey: fromB64url(jwk.d) }
    privateKeys.set(pair.privateKey, createPrivateKey({ key: jwk, format: 'jwk' }))
    return pair
  }

  function publicKeyOf(b: Bytes): KeyObject {
    const hit = publicKeys.get(b)
    if (hit) return hit
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(raw(b)) }, format: 'jwk' })
    publicKeys.set(b, key)
    return key
  }

  return {
    ...defaultCrypto,
    getHKDF(ck, ikm) {
      const okm = new Uint8Array(hkdfSync('sha256', ikm, ck, EMPTY, 96))
      return [okm.subarray(0, 32), okm.subarray(32, 64), okm.subarray(64, 96)]
    },
    generateX25519KeyPair() {
      return generatePair()
    },
    generateX25519KeyPairFromSeed(seed) {
      const stock = defaultCrypto.generateX25519KeyPairFromSeed(seed)
      const key = createPrivateKey({
        key: { kty: 'OKP', crv: 'X25519', d: b64url(seed), x: b64url(stock.publicKey) },
        format: 'jwk',
      })
      privateKeys.set(stock.privateKey, key)
      return stock
    },
    generateX25519SharedKey(privateKey, publicKey) {
      const own = privateKeys.get(privateKey)
      if (!own) return defaultCrypto.generateX25519SharedKey(privateKey, publicKey)
      return diffieHellman({ privateKey: own, publicKey: publicKeyOf(publicKey) })
    },
  }
}
