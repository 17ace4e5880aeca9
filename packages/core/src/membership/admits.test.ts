/**
 * With an allow-list (MembershipInit.admits), a validly signed claim for an id that is not on it
 * is refused and counted `not-admitted`: a relay cannot bring in a member that could never
 * connect. Without the list the same claim is accepted.
 */
import { describe, expect, it } from 'vitest'
import { createRng } from '../util/rng.js'
import { Writer } from '../wire/codec.js'
import { type Claim, simSigner, writeClaimBody } from './claim.js'
import { lanConfig } from './config.js'
import { Membership } from './membership.js'
import { encodeFrame } from './messages.js'

const FRAME = lanConfig().frameBytesMax

function claimFrame(id: string): Uint8Array {
  const w = new Writer(FRAME)
  const meta = { priority: 0, shard: null, roles: [], addrs: [], version: 1 }
  writeClaimBody(w, { id, bootEpoch: 1, incarnation: 1, left: false, meta })
  const body = w.finish()
  const claim: Claim = {
    id,
    bootEpoch: 1,
    incarnation: 1,
    left: false,
    meta,
    body,
    sig: simSigner().sign(body),
  }
  return encodeFrame({ type: 'gossip', entries: [{ kind: 'claim', claim }] }, FRAME)
}

function node(admits?: (id: string) => boolean): Membership {
  return new Membership(
    { id: 'node-a', bootEpoch: 1, rng: createRng(1), config: lanConfig(), signer: simSigner(), admits },
    0,
  )
}

describe('membership admission (allow-list)', () => {
  it('refuses a signed claim for an id off the list, counted; accepts one on it', () => {
    const m = node((id) => id === 'node-b')
    m.receive('node-b', 'membership', claimFrame('node-c'), 10)
    expect(m.member('node-c')).toBeUndefined()
    expect(m.rejections.get('not-admitted')).toBe(1)
    m.receive('node-b', 'membership', claimFrame('node-b'), 20)
    expect(m.member('node-b')?.state).toBe('alive')
  })

  it('without a list the same claim is accepted', () => {
    const m = node()
    m.receive('node-b', 'membership', claimFrame('node-c'), 10)
    expect(m.member('node-c')?.state).toBe('alive')
    expect(m.rejections.get('not-admitted')).toBe(0)
  })
})
