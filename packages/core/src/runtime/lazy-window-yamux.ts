/**
 * Yamux with lazy window updates: a stream sends a window-update frame only once the peer has
 * used at least half of the receive window, as go-yamux and rust-yamux do, instead of after
 * every data frame as @libp2p/yamux 8 does. Flow control is unchanged: the sender can never
 * exceed the window, and it is never starved, because it only waits when its whole window is
 * used, and an update is sent as soon as half of it is (unless reading is paused, which withholds
 * updates exactly as before). SYN/ACK updates (opening a stream) still go out at once.
 *
 * Why: Conclave's frames are small (40–300 bytes) and steady, so every protocol frame cost a
 * second frame back — another Noise encryption, another socket write, another decryption and
 * dispatch at the sender. Measured on an idle 25-node local cluster: window updates were half of
 * all socket writes (docs/performance.md, "Session 3").
 *
 * The patch replaces `sendWindowUpdate` on the streams of muxers made by this factory only (never
 * the shared YamuxStream prototype, so an embedding application's own yamux is untouched). It
 * reads the stream's window fields, which @libp2p/yamux declares private: the version is pinned,
 * and write-path.test.ts fails if the fields or the method move (it counts the window updates).
 */
import type { StreamMuxerFactory } from '@libp2p/interface'
import { type YamuxMuxerInit, yamux } from '@libp2p/yamux'
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'
import { directReceive, directSend } from './direct-path.js'

/** The private window fields of @libp2p/yamux 8's YamuxStream this patch reads. */
interface WindowFields {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate(): void
}

const eagerSendWindowUpdate = YamuxStream.prototype.sendWindowUpdate

/** `sendWindowUpdate` that skips the update while less than half the window is used. */
function lazySendWindowUpdate(this: WindowFields): void {
  // Established: no SYN/ACK flag is due (getSendFlags returns 0) and reading is not paused.
  if (
    this.state === StreamState.Established &&
    this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2
  )
    return
  eagerSendWindowUpdate.call(this as unknown as YamuxStream)
}

/** The muxer internals this factory hooks: every stream, inbound and outbound, is made here. */
interface StreamMaker {
  _newStream(...args: unknown[]): WindowFields
  onData(data: unknown): void
  abort(err: Error): void
  sendFrame(header: FrameHeader, data?: unknown): boolean
  send(data: Uint8Array): boolean
  streams: { streamId: number; handleData(frame: { header: FrameHeader; data: Uint8Array }): void }[]
  decoder: { buffer: { byteLength: number } }
  log: { trace: { enabled?: boolean } }
}

/** A yamux frame header (@libp2p/yamux 8's FrameHeader). */
interface FrameHeader {
  type: number
  flag: number
  streamID: number
  length: number
}

/** Yamux's 12-byte header: version 0, type, flags (16 bits), stream id and length (32 bits), big-endian. */
const HEADER_BYTES = 12
const DATA = 0

/**
 * A chunk that is exactly one data frame without flags for a known stream, handed to that
 * stream as the stock decoder would (same header, the frame's bytes as one view); false when the
 * chunk is anything else (the stock decoder takes it). Skips the decoder's generator and lists,
 * and the frame's debug description (built for the trace log even when it is off).
 */
function oneDataFrame(muxer: StreamMaker, data: unknown): boolean {
  if (muxer.decoder.buffer.byteLength !== 0 || muxer.log.trace.enabled === true) return false
  let bytes: Uint8Array
  if (data instanceof Uint8Array) bytes = data
  else {
    const bufs = (data as { bufs?: Uint8Array[] }).bufs
    if (bufs === undefined || bufs.length !== 1) return false
    bytes = bufs[0] as Uint8Array
  }
  const n = bytes.length - HEADER_BYTES
  if (n <= 0 || bytes[0] !== 0 || bytes[1] !== DATA || bytes[2] !== 0 || bytes[3] !== 0) return false
  const streamID =
    (bytes[4] as number) * 2 ** 24 +
    (((bytes[5] as number) << 16) | ((bytes[6] as number) << 8) | (bytes[7] as number))
  const length =
    (bytes[8] as number) * 2 ** 24 +
    (((bytes[9] as number) << 16) | ((bytes[10] as number) << 8) | (bytes[11] as number))
  if (length !== n || streamID === 0) return false
  const streams = muxer.streams
  for (let i = 0; i < streams.length; i++) {
    const stream = streams[i] as StreamMaker['streams'][number]
    if (stream.streamId !== streamID) continue
    stream.handleData({
      header: { type: DATA, flag: 0, streamID, length },
      data: bytes.subarray(HEADER_BYTES),
    })
    return true
  }
  return false
}

/**
 * `sendFrame` without the frame's debug description (built for the trace log even when it is
 * off); a data frame goes down as one buffer (header and payload), which Noise encrypts without
 * joining a list. Frames are byte for byte the stock ones.
 */
function directSendFrame(muxer: StreamMaker, stock: StreamMaker['sendFrame']): StreamMaker['sendFrame'] {
  return (header, data) => {
    if (muxer.log.trace.enabled === true || header.type !== DATA || data === undefined || data === null)
      return stock.call(muxer, header, data)
    const payload = data instanceof Uint8Array ? data : (data as { subarray(): Uint8Array }).subarray()
    const out = new Uint8Array(HEADER_BYTES + payload.length)
    out[1] = header.type
    out[2] = header.flag >>> 8
    out[3] = header.flag & 0xff
    out[4] = header.streamID >>> 24
    out[5] = (header.streamID >>> 16) & 0xff
    out[6] = (header.streamID >>> 8) & 0xff
    out[7] = header.streamID & 0xff
    out[8] = header.length >>> 24
    out[9] = (header.length >>> 16) & 0xff
    out[10] = (header.length >>> 8) & 0xff
    out[11] = header.length & 0xff
    out.set(payload, HEADER_BYTES)
    return muxer.send(out)
  }
}

/** Drop-in for `yamux(init)`: the same muxer, with lazy window updates on its streams. */
export function lazyWindowYamux(init: YamuxMuxerInit = {}): () => StreamMuxerFactory {
  const make = yamux(init)
  return () => {
    const factory = make()
    const createStreamMuxer = factory.createStreamMuxer.bind(factory)
    factory.createStreamMuxer = (maConn) => {
      const muxer = createStreamMuxer(maConn)
      const maker = muxer as unknown as StreamMaker
      if (typeof maker._newStream !== 'function' || typeof eagerSendWindowUpdate !== 'function')
        throw new Error(
          '@libp2p/yamux changed: _newStream or sendWindowUpdate is gone (lazy-window-yamux.ts)',
        )
      maker.sendFrame = directSendFrame(maker, maker.sendFrame)
      const newStream = maker._newStream.bind(muxer)
      maker._newStream = (...args: unknown[]) => {
        const stream = newStream(...args)
        stream.sendWindowUpdate = lazySendWindowUpdate
        directSend(stream, 'yamux stream')
        return stream
      }
      // The connection's chunks reach the muxer by a call (direct-path.ts), with the stock
      // listener's error handling (muxerMaConnOnMessage: abort the muxer and the connection).
      directReceive(
        maConn,
        (data) => {
          try {
            if (!oneDataFrame(maker, data)) maker.onData(data)
          } catch (err) {
            maker.abort(err as Error)
            maConn.abort(err as Error)
          }
        },
        'yamux input',
      )
      return muxer
    }
    return factory
  }
}
