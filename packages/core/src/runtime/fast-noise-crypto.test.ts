import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { describe, expect, it } from 'vitest'
import { fastNoiseCrypto } from './fast-noise-crypto.js'

describe('fast Noise crypto', () => {
  it('DH, key generation and HKDF give what the stock implementation gives', () => {
    const fast = fastNoiseCrypto()
    for (let i = 0; i < 20; i++) {
      const a = fast.generateX25519KeyPair()
      const b = defaultCrypto.generateX25519KeyPair()
      expect(a.privateKey).toHaveLength(32)
      expect(a.publicKey).toHaveLength(32)
      // Our pair is a valid X25519 pair: the stock DH of either side agrees with ours.
      const ours = fast.generateX25519SharedKey(a.privateKey, b.publicKey)
      expect(Buffer.from(ours)).toEqual(
        Buffer.from(defaultCrypto.generateX25519SharedKey(a.privateKey, b.publicKey)),
      )
      expect(Buffer.from(ours)).toEqual(
        Buffer.from(defaultCrypto.generateX25519SharedKey(b.privateKey, a.publicKey)),
      )
      // A private key it did not generate takes the stock path, same result.
      const other = fast.generateX25519SharedKey(b.privateKey, a.publicKey)
      expect(Buffer.from(other)).toEqual(Buffer.from(ours))
      const ck = fast.hashSHA256(a.publicKey)
      const [x1, x2, x3] = fast.getHKDF(ck, ours)
      const [y1, y2, y3] = defaultCrypto.getHKDF(ck, ours)
      expect([x1, x2, x3].map((x) => Buffer.from(x))).toEqual([y1, y2, y3].map((y) => Buffer.from(y)))
    }
  })

  it('a static key from a seed: same public key as the stock one, and DH agrees', () => {
    const fast = fastNoiseCrypto()
    const seed = new Uint8Array(32).map((_, i) => i * 7 + 1)
    const ours = fast.generateX25519KeyPairFromSeed(seed)
    const stock = defaultCrypto.generateX25519KeyPairFromSeed(seed)
    expect(Buffer.from(ours.publicKey)).toEqual(Buffer.from(stock.publicKey))
    const peer = defaultCrypto.generateX25519KeyPair()
    expect(Buffer.from(fast.generateX25519SharedKey(ours.privateKey, peer.publicKey))).toEqual(
      Buffer.from(defaultCrypto.generateX25519SharedKey(peer.privateKey, stock.publicKey)),
    )
  })
})
