/**
 * Node ids shaped like real libp2p peer ids: base58btc of an identity multihash of an Ed25519
 * public key (0x00 0x24 0x08 0x01 0x12 0x20 + 32 key bytes), so 52 characters starting with
 * "12D3KooW". The key bytes come from a seeded stream: same (n, seed), same ids. They are not
 * real keys; they only give wire formats and tables realistic sizes.
 */
import { createRng } from '@conclave/core'

const PREFIX = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20]
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

export function idsFor(n: number, seed: number): string[] {
  const rng = createRng(seed ^ 0x1d5eed)
  const ids: string[] = []
  const seen = new Set<string>()
  while (ids.length < n) {
    const bytes = new Uint8Array(38)
    bytes.set(PREFIX)
    for (let i = 6; i < 38; i++) bytes[i] = rng.int(256)
    const id = base58btc(bytes)
    if (seen.has(id)) continue
    seen.add(id)
    ids.push(id)
  }
  return ids
}

/** Plain base58 (Bitcoin alphabet): repeated division of the big-endian byte string by 58. */
export function base58btc(bytes: Uint8Array): string {
  const digits: number[] = [] // little-endian base-58 digits
  for (const byte of bytes) {
    let carry = byte
    for (let j = 0; j < digits.length; j++) {
      carry += (digits[j] as number) * 256
      digits[j] = carry % 58
      carry = Math.floor(carry / 58)
    }
    while (carry > 0) {
      digits.push(carry % 58)
      carry = Math.floor(carry / 58)
    }
  }
  let out = ''
  for (const byte of bytes) {
    if (byte !== 0) break
    out += '1'
  }
  for (let i = digits.length - 1; i >= 0; i--) out += ALPHABET[digits[i] as number]
  return out
}
