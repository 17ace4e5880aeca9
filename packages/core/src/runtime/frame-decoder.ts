/**
 * Length-prefixed framing for the long-lived protocol streams: each frame is an unsigned LEB128
 * length followed by that many bytes (the same varint as wire/codec.ts).
 *
 * Guarantees: the decoder never buffers more than `frameBytesMax` plus a length prefix, whatever
 * the peer sends, and reports a frame above the bound, a non-minimal or overlong length, as a
 * WireError before reading its body — the caller counts it and cuts the peer off.
 */

import { varintSize } from '../wire/codec.js'
import { WireError } from '../wire/errors.js'

const LENGTH_BYTES_MAX = 4 // 28 bits: far above any frame bound

export function encodeFrame(payload: Uint8Array): Uint8Array {
  const n = payload.length
  const out = new Uint8Array(varintSize(n) + n)
  let v = n
  let i = 0
  while (v >= 0x80) {
    out[i++] = (v & 0x7f) | 0x80
    v >>>= 7
  }
  out[i++] = v
  out.set(payload, i)
  return out
}

const EMPTY = new Uint8Array(0)

export class FrameDecoder {
  private buf: Uint8Array = EMPTY

  constructor(readonly frameBytesMax: number) {}

  /** Bytes buffered waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.buf.length
  }

  /** Feed one chunk; returns every frame it completes, in order. Throws WireError on garbage. */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = []
    let data = this.buf.length === 0 ? chunk : concat(this.buf, chunk)
    for (;;) {
      const header = readLength(data, this.frameBytesMax)
      if (header === undefined) break
      const [n, used] = header
      if (data.length < used + n) break
      frames.push(data.slice(used, used + n))
      data = data.subarray(used + n)
    }
    // A partial frame waits; its size is bounded because its length header already passed.
    this.buf = data.length === 0 ? EMPTY : data.slice()
    return frames
  }
}

/** [length, header bytes], or undefined when the header itself is incomplete. */
function readLength(data: Uint8Array, frameBytesMax: number): [number, number] | undefined {
  let n = 0
  for (let i = 0; i < LENGTH_BYTES_MAX; i++) {
    if (i >= data.length) return undefined
    const byte = data[i] as number
    n |= (byte & 0x7f) << (7 * i)
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) throw new WireError('bad-varint', 'non-minimal frame length')
      if (n > frameBytesMax) throw new WireError('oversized', `frame ${n} B > ${frameBytesMax} B`)
      return [n, i + 1]
    }
  }
  throw new WireError('bad-varint', `frame length longer than ${LENGTH_BYTES_MAX} bytes`)
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
