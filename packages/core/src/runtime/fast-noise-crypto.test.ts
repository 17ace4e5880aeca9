import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { describe, expect, it } from 'vitest'
import { fastNoiseCrypto } from './fast-noise-crypto.js'

/**
 * Generate `keys` key pairs (each with a DH) in a child process with a 1 MB young generation (a
 * garbage collection every few hundred keys); resolves with the last count it printed and whether
 * it finished, killing it when it prints nothing for `stallMs` (a deadlocked main thread).
 */
function generateInChild(keys: number, stallMs: number): Promise<{ count: number; finished: boolean }> {
  const module = fileURLToPath(new URL('./fast-noise-crypto.ts', import.meta.url))
  const script = `import { fastNoiseCrypto } from ${JSON.stringify(module)}
const c = fastNoiseCrypto()
const peer = c.generateX25519KeyPair()
for (let i = 1; i <= ${keys}; i++) {
  const k = c.generateX25519KeyPair()
  c.generateX25519SharedKey(k.privateKey, peer.publicKey)
  if (i % 500 === 0) process.stdout.write(i + '\\n')
}`
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=1',
      '--conditions=conclave-source',
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let count = 0
  let timer = setTimeout(() => child.kill('SIGKILL'), stallMs)
  child.stdout.on('data', (d: Buffer) => {
    count = Number(d.toString().trim().split('\n').at(-1))
    clearTimeout(timer)
    timer = setTimeout(() => child.kill('SIGKILL'), stallMs)
  })
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ count, finished: code === 0 })
    }),
  )
}

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

  it('generates 30 000 keys without deadlocking in a garbage collection (Node 20 KeyGenJob mutex)', async () => {
    // The first version deadlocked after 1 500–10 500 keys here (fast-noise-crypto.ts, top).
    const { count, finished } = await generateInChild(30_000, 20_000)
    expect({ count, finished }).toEqual({ count: 30_000, finished: true })
  }, 300_000)

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
