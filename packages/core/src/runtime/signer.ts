/**
 * Real Ed25519 claim signatures for the membership layer's signed claims (a node's own alive /
 * leave claims). Signs with the node's libp2p key; verifies with the public key embedded in the
 * claimed node's peer id (Ed25519 peer ids inline their key), so no key exchange is needed and a
 * peer cannot sign for another. Uses node:crypto, which is synchronous as the ClaimSigner
 * contract requires. Verified public keys are cached (bounded).
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { NodeId } from '../sans-io.js'

/** Same shape as membership's ClaimSigner. */
export interface Ed25519ClaimSigner {
  sign(payload: Uint8Array): Uint8Array
  verify(node: NodeId, payload: Uint8Array, sig: Uint8Array): boolean
}

/** Bound on cached public keys; above it the cache is cleared (keys are cheap to re-derive). */
export const PUBLIC_KEY_CACHE_MAX = 4096

export function ed25519Signer(privateKey: PrivateKey): Ed25519ClaimSigner {
  if (privateKey.type !== 'Ed25519')
    throw new Error(`claim signer needs an Ed25519 key, got ${privateKey.type}`)
  const raw = privateKey.raw // 64 bytes: seed || public key
  const secret = createPrivateKey({
    format: 'jwk',
    key: { kty: 'OKP', crv: 'Ed25519', d: b64url(raw.subarray(0, 32)), x: b64url(raw.subarray(32, 64)) },
  })
  const cache = new Map<NodeId, KeyObject | null>()

  function publicKeyOf(node: NodeId): KeyObject | null {
    const hit = cache.get(node)
    if (hit !== undefined) return hit
    let key: KeyObject | null = null
    try {
      const pub = peerIdFromString(node).publicKey
      if (pub?.type === 'Ed25519') {
        key = createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: b64url(pub.raw) } })
      }
    } catch {
      key = null // not a peer id: every signature from it fails
    }
    if (cache.size >= PUBLIC_KEY_CACHE_MAX) cache.clear()
    cache.set(node, key)
    return key
  }

  return {
    sign: (payload) => new Uint8Array(sign(null, payload, secret)),
    verify(node, payload, sig) {
      const key = publicKeyOf(node)
      if (!key || sig.length !== 64) return false
      try {
        return verify(null, payload, key, sig)
      } catch {
        return false
      }
    },
  }
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url')
}
