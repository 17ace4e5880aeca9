/**
 * A TCP socket's read goes to its one `data` listener by a call instead of through Node's
 * Readable machinery. Node 20 hands every chunk libuv read to `socket.push(chunk)`
 * (stream_base_commons' onStreamRead), which in flowing mode with nothing buffered checks the
 * chunk and the stream's state, emits `data` to the listener, and schedules a `maybeReadMore` tick
 * that calls `read(0)` → `_read()` only to find the socket's handle still reading. Counted with
 * callgrind on `pnpm bench frame`'s path (tools/bench/scripts/frame-callgrind.mjs; performance.md,
 * "Session 10 (issue 4, idle)"): ≈ 12 % of the main thread's instructions per round trip, and a
 * process.nextTick per read that makes Node run its tick queue after every read callback.
 *
 * Here `push` (an own property of this socket only, never Readable's prototype) does what the
 * stock fast path does — clears `reading`, marks data emitted, calls the listener with the chunk,
 * returns whether more may be pushed — exactly when the stock code would have emitted at once:
 * a non-empty Buffer with no encoding, flowing, not inside a synchronous read, nothing buffered,
 * no decoder, no pipe, not ended, destroyed or errored, and the one `data` listener still the one
 * seen at install. Every other chunk (paused, buffered, end of stream, a second listener) takes
 * the stock `push`, so order, back-pressure (the handle stops reading when the buffer is full) and
 * `end` are Node's own. The skipped `read(0)` has nothing to do for a socket: libuv keeps reading
 * until `readStop`, which only the stock path (a full buffer) or a pause issues, and a later
 * `read()` (resume) restarts it as before because `reading` is left clear.
 *
 * Reads Readable's state through its accessors (flowing, sync, ended, …) and plain fields
 * (`length`, `pipes`), and the emitter's `_events`; the install throws if either shape moved, and
 * direct-socket-read.test.ts checks that a frame's read no longer goes through Readable's push and
 * that every fallback keeps the stock behaviour.
 */
import type { Socket } from 'node:net'

type Listener = (chunk: Buffer) => void

/** The parts of Node 20's ReadableState read here (accessors on its prototype, two data fields). */
interface ReadState {
  flowing: boolean | null
  sync: boolean
  ended: boolean
  destroyed: boolean
  errored: unknown
  decoder: unknown
  objectMode: boolean
  reading: boolean
  dataEmitted: boolean
  length: number
  highWaterMark: number
  pipes: unknown[]
}

const STATE_FIELDS = [
  'flowing',
  'sync',
  'ended',
  'destroyed',
  'errored',
  'decoder',
  'objectMode',
  'reading',
  'dataEmitted',
  'length',
  'highWaterMark',
  'pipes',
] as const

/**
 * Install the direct read on `socket` (see the file comment). False (nothing installed) when the
 * socket does not have exactly one `data` listener. Throws if Node's Readable state moved.
 */
export function directSocketRead(socket: Socket): boolean {
  const state = (socket as unknown as { _readableState?: ReadState })._readableState
  if (state === undefined || typeof socket.push !== 'function')
    throw new Error('node:net changed: a socket has no _readableState or push (direct-socket-read.ts)')
  for (const f of STATE_FIELDS)
    if (!(f in state))
      throw new Error(`node:stream changed: a ReadableState has no ${f} (direct-socket-read.ts)`)
  if (state.objectMode) return false
  const listeners = socket.listeners('data')
  if (listeners.length !== 1) return false
  const listener = listeners[0] as Listener
  // EventEmitter keeps a lone listener as the function itself in `_events[type]` (two or more: an
  // array; a `once` wrapper: another function), so one load tells that it is still the only one.
  const emitter = socket as unknown as { _events?: Record<string, unknown> }
  if (emitter._events?.data !== listener)
    throw new Error('node:events changed: a lone listener is not kept in _events (direct-socket-read.ts)')
  const stockPush = socket.push
  socket.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (
      encoding === undefined &&
      chunk instanceof Buffer &&
      chunk.length > 0 &&
      state.flowing === true &&
      !state.sync &&
      state.length === 0 &&
      !state.ended &&
      !state.destroyed &&
      !state.errored &&
      state.decoder === null &&
      state.pipes.length === 0 &&
      emitter._events?.data === listener
    ) {
      state.reading = false
      if (!state.dataEmitted) state.dataEmitted = true
      listener.call(socket, chunk)
      return !state.ended && (state.length < state.highWaterMark || state.length === 0)
    }
    return stockPush.call(socket, chunk, encoding)
  }
  return true
}
