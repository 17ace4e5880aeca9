/**
 * Noise whose transport-message decoder does not throw at the end of every read: the stock
 * EncryptedMessageStream of @chainsafe/libp2p-noise 17 splits its input with @libp2p/utils'
 * LengthPrefixedDecoder, which reads the 2-byte length of the next message by calling
 * `uint16BEDecode` on whatever is buffered and learns that there is none by catching the
 * RangeError it throws. So every chunk read from a socket, once its messages are taken out, cost
 * one Error with a captured stack trace: measured as the largest single function of an idle
 * node's main thread (4.6 % of its samples, docs/performance.md "Session 4"). This decoder checks
 * the length first. Same framing (2-byte big-endian length, then that many bytes), same bound
 * on what is buffered, same zero-length messages skipped.
 *
 * Hooked where the encrypter returns the encrypted stream (the only place it is reachable): its
 * `decoder` field is replaced on that connection only (never the shared prototype). The field is
 * not part of the typed API; the version is pinned, `quietNoise` throws at the first connection
 * if the field moves, and write-path.test.ts fails if the stock decoder is back in use.
 */
import { noise } from '@chainsafe/libp2p-noise'
import type { ConnectionEncrypter } from '@libp2p/interface'
import { directReceive, directSend } from './direct-path.js'
import { fastNoiseCrypto } from './fast-noise-crypto.js'

/** The stock decoder's limit on buffered bytes (utils.js: maxBufferSize 16 MiB). */
export const NOISE_BUFFER_BYTES_MAX = 16 * 1024 * 1024

const EMPTY = new Uint8Array(0)

/** Largest plaintext of one Noise transport message (65535 minus the 16-byte tag). */
const NOISE_PLAINTEXT_BYTES_MAX = 65535 - 16

/** The part of uint8arraylist's Uint8ArrayList this decoder reads. */
interface ByteList {
  readonly byteLength: number
  subarray(): Uint8Array
}

/**
 * Splits a byte stream into Noise transport messages (2-byte big-endian length prefix).
 *
 * Re-entrant like the stock decoder: all state lives in the decoder and a message is consumed
 * before it is yielded, so a `decode` call made while the caller handles a yielded message (a
 * read resumed synchronously underneath) continues where the suspended one stopped, in order, and
 * the suspended one then finds nothing left. (A first version kept its position in the
 * generator's locals: 25 real nodes lost connections and did not converge.)
 */
export class NoiseMessageDecoder {
  private buf: Uint8Array
  private at = 0

  constructor(rest: Uint8Array = EMPTY) {
    this.buf = rest
  }

  /** Bytes buffered waiting for the rest of a message. */
  get pendingBytes(): number {
    return this.buf.length - this.at
  }

  /** Every whole message in what was buffered plus `chunk`, in order; views, not copies. */
  *decode(chunk: Uint8Array | ByteList): Generator<Uint8Array, void, undefined> {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    const held = this.buf.length - this.at
    if (held + bytes.length > NOISE_BUFFER_BYTES_MAX)
      throw new RangeError(`Noise buffer limit exceeded - ${held + bytes.length}/${NOISE_BUFFER_BYTES_MAX}`)
    if (held === 0) this.buf = bytes
    else {
      const joined = new Uint8Array(held + bytes.length)
      joined.set(this.buf.subarray(this.at))
      joined.set(bytes, held)
      this.buf = joined
    }
    this.at = 0
    // this.buf and this.at are re-read after every yield (a nested call may have moved them).
    while (this.buf.length - this.at >= 2) {
      const at = this.at
      const n = ((this.buf[at] as number) << 8) | (this.buf[at + 1] as number)
      if (this.buf.length - at - 2 < n) break
      this.at = at + 2 + n
      if (n > 0) yield this.buf.subarray(at + 2, at + 2 + n)
    }
    // A partial message waits, copied (the chunk it came in may be a large socket buffer).
    if (this.at === this.buf.length) {
      this.buf = EMPTY
      this.at = 0
    } else if (this.at > 0) {
      this.buf = this.buf.slice(this.at)
      this.at = 0
    }
  }
}

/** The private field of @chainsafe/libp2p-noise 17's EncryptedMessageStream this patch replaces. */
interface DecoderField {
  decoder: { decode(chunk: unknown): Iterable<unknown>; buffer?: ByteList }
}

/** Give `connection` (an EncryptedMessageStream) a decoder that never throws on an empty buffer. */
export function quietDecoder<T>(connection: T): T {
  const c = connection as unknown as DecoderField
  const stock = c.decoder
  if (typeof stock?.decode !== 'function')
    throw new Error('@chainsafe/libp2p-noise changed: the encrypted stream has no decoder (quiet-noise.ts)')
  // Bytes the stock decoder already holds (none in practice: nothing is read between the stream's
  // creation and this call, both in one promise continuation) move over, so no byte is lost.
  const held = stock.buffer !== undefined && stock.buffer.byteLength > 0 ? stock.buffer.subarray() : EMPTY
  c.decoder = new NoiseMessageDecoder(held)
  return connection
}

/** The parts of @chainsafe/libp2p-noise 17's EncryptedMessageStream the direct path calls. */
interface EncryptedStream {
  handshake: { encrypt(plaintext: Uint8Array): Uint8Array | { subarray(): Uint8Array } }
  encrypt(chunk: unknown): unknown
  metrics?: { encryptedPackets: { increment(): void } }
  /** The connection under Noise (TCP, or the private-network stream with a pre-shared key). */
  stream: unknown
  decoder: { decode(chunk: unknown): Iterable<Uint8Array> }
  decrypt(chunk: Uint8Array): unknown
  onData(data: unknown): void
  abort(err: Error): void
}

/**
 * The direct path (direct-path.ts) on an encrypted stream: what it sends goes to its sendData by
 * a call, and what the connection under it receives is split and decrypted by a call instead of
 * a `message` event, with the stock listener's error handling (noiseOnMessageDecrypt: any error
 * aborts the encrypted stream).
 */
export function directNoise<T>(connection: T): T {
  const enc = connection as unknown as EncryptedStream
  if (typeof enc.decrypt !== 'function' || enc.stream === undefined)
    throw new Error(
      '@chainsafe/libp2p-noise changed: the encrypted stream has no decrypt or stream (quiet-noise.ts)',
    )
  // A message that fits one Noise message is encrypted into one buffer with its length in front
  // (the stock encrypt returns a list of the 2-byte length and the ciphertext, which the TCP layer
  // then joined for its single write): same bytes on the wire.
  const stockEncrypt = enc.encrypt
  enc.encrypt = (chunk: unknown): unknown => {
    const c = chunk as Uint8Array | { byteLength: number; subarray(): Uint8Array }
    if (c.byteLength === 0 || c.byteLength > NOISE_PLAINTEXT_BYTES_MAX) return stockEncrypt.call(enc, chunk)
    const ct = enc.handshake.encrypt(c instanceof Uint8Array ? c : c.subarray())
    const bytes = ct instanceof Uint8Array ? ct : ct.subarray()
    enc.metrics?.encryptedPackets.increment()
    const out = new Uint8Array(2 + bytes.length)
    out[0] = bytes.length >> 8
    out[1] = bytes.length & 0xff
    out.set(bytes, 2)
    return out
  }
  directSend(enc, 'noise stream')
  directReceive(
    enc.stream,
    (data) => {
      try {
        for (const buf of enc.decoder.decode(data)) enc.onData(enc.decrypt(buf))
      } catch (err) {
        enc.abort(err as Error)
      }
    },
    'noise input',
  )
  return connection
}

type NoiseFactory = ReturnType<typeof noise>

/**
 * Drop-in for `noise(init)`: the same encrypter, with the quiet decoder on every connection and
 * the handshake crypto of fast-noise-crypto.ts (unless `init.crypto` is given).
 */
export function quietNoise(init?: Parameters<typeof noise>[0]): NoiseFactory {
  const make = noise({ crypto: fastNoiseCrypto(), ...init })
  return ((components: Parameters<NoiseFactory>[0]) => {
    const encrypter: ConnectionEncrypter = make(components)
    const secureInbound = encrypter.secureInbound.bind(encrypter)
    const secureOutbound = encrypter.secureOutbound.bind(encrypter)
    encrypter.secureInbound = async (connection, options) => {
      const secured = await secureInbound(connection, options)
      directNoise(quietDecoder(secured.connection))
      return secured
    }
    encrypter.secureOutbound = async (connection, options) => {
      const secured = await secureOutbound(connection, options)
      directNoise(quietDecoder(secured.connection))
      return secured
    }
    return encrypter
  }) as NoiseFactory
}
