import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Reader, Writer } from '../wire/codec.js'
import { type Claim, readClaim, simSigner, writeClaimBody } from './claim.js'
import { KEPT_CLAIMS_MAX, keptClaim } from './kept-claims.js'
import { claimEntryBytes } from './messages.js'

const signer = simSigner()

/** A claim as a receiver decodes it from a frame of its own (fresh views, fresh meta). */
function decoded(id: string, bootEpoch: number, incarnation: number, shard: number | null): Claim {
  const meta = { priority: 0, shard, roles: [], addrs: [], version: incarnation }
  const w = new Writer(1200)
  writeClaimBody(w, { id, bootEpoch, incarnation, left: false, meta })
  const body = w.finish()
  return readWire(body, signer.sign(body))
}

function readWire(body: Uint8Array, sig: Uint8Array): Claim {
  const w = new Writer(1200)
  w.bytes(body)
  w.bytes(sig)
  return readClaim(new Reader(w.finish()), 1200)
}

describe('keptClaim', () => {
  it('hands every copy of one claim the same entry and meta, byte-identical to claimEntryBytes', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.nat(5),
        fc.nat(1000),
        fc.option(fc.nat(300)),
        (id, boot, inc, shard) => {
          const a = decoded(id, boot, inc, shard)
          const b = decoded(id, boot, inc, shard)
          const ka = keptClaim(a)
          const kb = keptClaim(b)
          expect(kb.entry).toBe(ka.entry)
          expect(kb.meta).toBe(ka.meta)
          expect([...ka.entry]).toEqual([...claimEntryBytes(b)])
          expect(ka.meta).toEqual(b.meta)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('never shares between claims that differ in any byte of body or signature', () => {
    const base = decoded('node-a', 1, 7, 3)
    const k = keptClaim(base)
    expect(keptClaim(decoded('node-a', 1, 8, 3)).entry).not.toBe(k.entry)
    expect(keptClaim(decoded('node-a', 1, 7, 4)).entry).not.toBe(k.entry)
    expect(keptClaim(decoded('node-b', 1, 7, 3)).entry).not.toBe(k.entry)
    // same body, another signature (a forgery attempt): its own entry, carrying its own bytes
    const forged = readWire(base.body, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))
    const kf = keptClaim(forged)
    expect(kf.entry).not.toBe(k.entry)
    expect([...kf.entry]).toEqual([...claimEntryBytes(forged)])
  })

  it('stays bounded: past KEPT_CLAIMS_MAX it starts a fresh table, results still exact', () => {
    const first = keptClaim(decoded('bound-0', 0, 0, null))
    for (let i = 1; i <= KEPT_CLAIMS_MAX; i++) keptClaim(decoded(`bound-${i}`, 0, 0, null))
    const again = keptClaim(decoded('bound-0', 0, 0, null))
    expect(again.entry).not.toBe(first.entry) // the table was emptied once in between
    expect([...again.entry]).toEqual([...first.entry])
    expect(keptClaim(decoded('bound-0', 0, 0, null)).entry).toBe(again.entry)
  })
})
