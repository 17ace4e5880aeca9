/**
 * Wire format shared by the two baseline election machines (flat Raft, Bully).
 *
 * Guarantees: every frame is at most `BASELINE_FRAME_BYTES_MAX` bytes; decoding never reads past
 * the frame and throws only WireError (counted by the caller), so a hostile peer cannot crash a
 * baseline node. Layout: version u8 | type u8 | term varint | flag u8 (vote granted, else 0).
 * The sender is the transport's authenticated peer id, so no id travels in the frame.
 */
import { Reader, Writer } from '../wire/codec.js'
import { WireError } from '../wire/errors.js'

export const BASELINE_WIRE_VERSION = 1
/** version (1) + type (1) + term (≤ 8 varint bytes) + flag (1). */
export const BASELINE_FRAME_BYTES_MAX = 11

/** Message types; Raft's and Bully's share one numbering so one decoder serves both. */
export const baselineTypes = [
  'raft-vote-request',
  'raft-vote-reply',
  'raft-heartbeat',
  'raft-heartbeat-ack',
  'bully-election',
  'bully-answer',
  'bully-coordinator',
  'bully-heartbeat',
] as const
export type BaselineType = (typeof baselineTypes)[number]

export interface BaselineFrame {
  readonly type: BaselineType
  /** Raft term, or the Bully coordinator epoch. */
  readonly term: number
  /** Raft vote-reply: granted. False for every other type. */
  readonly flag: boolean
}

export function encodeBaseline(frame: BaselineFrame): Uint8Array {
  return new Writer(BASELINE_FRAME_BYTES_MAX, BASELINE_FRAME_BYTES_MAX)
    .u8(BASELINE_WIRE_VERSION)
    .u8(baselineTypes.indexOf(frame.type))
    .varint(frame.term)
    .bool(frame.flag)
    .finish()
}

export function decodeBaseline(bytes: Uint8Array): BaselineFrame {
  if (bytes.length > BASELINE_FRAME_BYTES_MAX) {
    throw new WireError('oversized', `baseline frame ${bytes.length} B > ${BASELINE_FRAME_BYTES_MAX} B`)
  }
  const r = new Reader(bytes)
  const version = r.u8()
  if (version !== BASELINE_WIRE_VERSION) throw new WireError('bad-version', `baseline version ${version}`)
  const tag = r.u8()
  const type = baselineTypes[tag]
  if (type === undefined) throw new WireError('unknown-type', `baseline type ${tag}`)
  const term = r.varint()
  const flag = r.bool()
  r.end()
  return { type, term, flag }
}
