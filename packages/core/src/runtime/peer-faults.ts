/**
 * Which machine rejections are the sending peer's fault: the frame itself was malformed, forged
 * or out of bounds (every WireErrorCode, plus a digest with an impossible bucket count). Others
 * (`members-full`, `relays-full`, `not-in-shard`, …) are this node's capacity or an honest race
 * and never count against the peer.
 */
import type { WireErrorCode } from '../wire/errors.js'

const WIRE_CODES: Record<WireErrorCode, true> = {
  truncated: true,
  oversized: true,
  'bad-varint': true,
  'bad-version': true,
  'unknown-type': true,
  'bad-value': true,
  'trailing-bytes': true,
  'bad-signature': true,
}

export const PEER_FAULT_CODES: readonly string[] = [...Object.keys(WIRE_CODES), 'digest-buckets']

/** Sum of the peer-fault rejections in the given counters. */
export function peerFaultCount(counters: ReadonlyArray<{ get(code: string): number } | undefined>): number {
  let n = 0
  for (const c of counters) if (c) for (const code of PEER_FAULT_CODES) n += c.get(code)
  return n
}
