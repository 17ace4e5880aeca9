import { describe, expect, it } from 'vitest'
import { base58btc, idsFor } from './peer-ids.js'

describe('idsFor', () => {
  it('mints unique ids shaped like Ed25519 libp2p peer ids, the same for the same seed', () => {
    const ids = idsFor(500, 7)
    expect(new Set(ids).size).toBe(500)
    for (const id of ids) {
      expect(id).toHaveLength(52)
      expect(id.startsWith('12D3KooW')).toBe(true)
    }
    expect(idsFor(500, 7)).toEqual(ids)
    expect(idsFor(5, 8)[0]).not.toBe(ids[0])
  })

  it('base58btc matches known vectors', () => {
    expect(base58btc(new TextEncoder().encode('Hello World!'))).toBe('2NEpo7TZRRrLZSi2U')
    expect(base58btc(Uint8Array.of(0, 0, 1))).toBe('112')
    expect(base58btc(new Uint8Array())).toBe('')
  })
})
