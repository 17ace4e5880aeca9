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
 * all socket writes (docs/operations.md, "Session 3").
 *
 * The patch replaces `sendWindowUpdate` on the streams of muxers made by this factory only (never
 * the shared YamuxStream prototype, so an embedding application's own yamux is untouched). It
 * reads the stream's window fields, which @libp2p/yamux declares private: the version is pinned,
 * and lazy-window-yamux.test.ts fails if the fields or the method move.
 */
import type { StreamMuxerFactory } from '@libp2p/interface'
import { type YamuxMuxerInit, yamux } from '@libp2p/yamux'
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'

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
      const newStream = maker._newStream.bind(muxer)
      maker._newStream = (...args: unknown[]) => {
        const stream = newStream(...args)
        stream.sendWindowUpdate = lazySendWindowUpdate
        return stream
      }
      return muxer
    }
    return factory
  }
}
