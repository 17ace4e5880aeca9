/**
 * Bounded binary reader and writer that all Conclave wire formats are built from.
 *
 * Encoding: unsigned LEB128 varints (minimal form enforced on read, at most 53 bits so values
 * stay exact in a JS number), length-prefixed bytes and UTF-8 strings with per-field bounds.
 * The Reader never reads past its input and never allocates more than the input's length, so a
 * hostile frame costs at most its own size. Every failure is a WireError, never a RangeError.
 */
import { WireError } from './errors.js'

const MAX_SAFE_VARINT_BYTES = 8 // 8 * 7 = 56 bits >= 53

export class Writer {
  private buf: Uint8Array
  private pos = 0

  constructor(
    /** Hard bound on the encoded size; exceeding it is a bug in the caller (it must budget). */
    readonly bytesMax: number,
    initial = 256,
  ) {
    this.buf = new Uint8Array(Math.min(initial, bytesMax))
  }

  get length(): number {
    return this.pos
  }

  /** Bytes still available under bytesMax. */
  remaining(): number {
    return this.bytesMax - this.pos
  }

  private ensure(n: number): void {
    const need = this.pos + n
    if (need > this.bytesMax) {
      throw new WireError('oversized', `encoding needs ${need} B, bound is ${this.bytesMax} B`)
    }
    if (need <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < need) size *= 2
    const next = new Uint8Array(Math.min(size, this.bytesMax))
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  u8(v: number): this {
    this.ensure(1)
    this.buf[this.pos++] = v & 0xff
    return this
  }

  bool(v: boolean): this {
    return this.u8(v ? 1 : 0)
  }

  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new WireError('bad-value', `varint ${v}`)
    this.ensure(varintSize(v))
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.buf[this.pos++] = v
    return this
  }

  bytes(b: Uint8Array): this {
    this.varint(b.length)
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
    return this
  }

  string(s: string): this {
    return this.bytes(textEncoder.encode(s))
  }

  /** Raw bytes without a length prefix (for already-framed sub-messages). */
  raw(b: Uint8Array): this {
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
    return this
  }

  finish(): Uint8Array {
    // Sized exactly (callers that budget pass the final size as `initial`): hand the buffer
    // over without a copy. A later write cannot change it: it would have to grow, which
    // allocates a new buffer.
    if (this.pos === this.buf.length) return this.buf
    return this.buf.slice(0, this.pos)
  }
}

export class Reader {
  private pos = 0

  constructor(private readonly buf: Uint8Array) {}

  get offset(): number {
    return this.pos
  }

  remaining(): number {
    return this.buf.length - this.pos
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw new WireError('truncated', `u8 at ${this.pos}`)
    return this.buf[this.pos++] as number
  }

  bool(): boolean {
    const v = this.u8()
    if (v > 1) throw new WireError('bad-value', `bool ${v} at ${this.pos - 1}`)
    return v === 1
  }

  varint(): number {
    let result = 0
    let scale = 1
    for (let i = 0; i < MAX_SAFE_VARINT_BYTES; i++) {
      if (this.pos >= this.buf.length) throw new WireError('truncated', `varint at ${this.pos}`)
      const byte = this.buf[this.pos++] as number
      result += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw new WireError('bad-varint', `non-minimal varint at ${this.pos - 1}`)
        if (!Number.isSafeInteger(result)) throw new WireError('bad-varint', 'varint above 2^53')
        return result
      }
      scale *= 0x80
    }
    throw new WireError('bad-varint', `varint longer than ${MAX_SAFE_VARINT_BYTES} bytes`)
  }

  /** A varint that must be at most `max` (counts, enums, lengths). */
  varintMax(max: number, what: string): number {
    const v = this.varint()
    if (v > max) throw new WireError('oversized', `${what} ${v} > ${max}`)
    return v
  }

  bytes(lengthMax: number, what = 'bytes'): Uint8Array {
    const n = this.varintMax(lengthMax, `${what} length`)
    if (n > this.remaining())
      throw new WireError('truncated', `${what}: ${n} B wanted, ${this.remaining()} left`)
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  string(lengthMax: number, what = 'string'): string {
    const b = this.bytes(lengthMax, what)
    try {
      return textDecoder.decode(b)
    } catch {
      throw new WireError('bad-value', `${what}: invalid utf-8`)
    }
  }

  /** Throws unless every byte was consumed. */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new WireError('trailing-bytes', `${this.buf.length - this.pos} B after the message`)
    }
  }
}

export function varintSize(v: number): number {
  let n = 1
  while (v >= 0x80) {
    v = Math.floor(v / 0x80)
    n++
  }
  return n
}

export function stringSize(s: string): number {
  const n = utf8Length(s)
  return varintSize(n) + n
}

/** UTF-8 byte length without allocating. */
export function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4
      i++
    } else n += 3
  }
  return n
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })
