/**
 * Fewer layers per frame: a received chunk goes from the socket to the next layer's reader by a
 * call, and a sent one from a layer to the next by a call, instead of through each layer's read
 * buffer, event and write queue.
 *
 * In libp2p 3 every layer of a connection (the TCP connection, Noise's encrypted stream, each
 * yamux stream) is an @libp2p/utils AbstractMessageStream. A chunk a layer receives is appended
 * to its read buffer (a Uint8ArrayList), taken out again as a new list and dispatched as a
 * `message` Event through Node's EventTarget to the one listener, the layer above; a chunk it
 * sends is appended to its write buffer, copied out into a new list, handed to `sendData`, and an
 * `idle` CustomEvent is dispatched when the buffer is empty again. So each Conclave frame
 * crossed three such receive hops (three Event objects, three dispatches, three lists) and three
 * send hops (three `idle` events) at each end: measured as a third of the CPU of an idle node
 * (docs/performance.md, sessions 8 and 9).
 *
 * The direct path does the same work without the buffers and events, and only when they would
 * have held nothing:
 * - receive (`directReceive`): when the layer is readable, its read buffer is empty, the remote
 *   has not closed its writable end and the one `message` listener is the known reader, the
 *   chunk is handed to that reader's code as a call (`deliver`, which does what the listener
 *   does, with the same error handling). Otherwise (paused, data buffered, another listener, a
 *   closing stream) the stock `onData` runs, so buffered bytes keep their order and every bound
 *   (the read buffer's limit) applies as before.
 * - send (`directSend`): when the layer is writable, nothing is queued or being sent, no drain
 *   is awaited, the chunk fits in one message and nobody waits for `idle`, the chunk goes to the
 *   layer's own `sendData` at once (the same call the stock queue makes, so flow control, yamux
 *   flags and windows, Noise's encryption are unchanged). What `sendData` could not take is
 *   queued, and a full transport sets `writableNeedsDrain`, exactly as the stock queue does.
 *
 * Installed per instance (own properties), never on the shared prototypes, so an embedding
 * application's own libp2p is untouched: on each TCP connection (send; coalescing-tcp.ts), on
 * each private-network stream and the connection under it (directPnet, libp2p-options.ts), on
 * each Noise stream and the connection under it (quiet-noise.ts, which also encrypts a message
 * into one buffer), on each yamux muxer's input and every stream it makes (lazy-window-yamux.ts,
 * which also hands a chunk that is one data frame to its stream without the decoder's lists) and
 * on Conclave's inbound streams (receive; peer-streams.ts). It reads fields @libp2p/utils declares
 * protected: the version is pinned, each install checks the fields and throws if they moved, and
 * direct-path.test.ts fails if a frame crosses a layer by an event again or if a stock libp2p
 * node cannot read what the direct path sends (or the reverse).
 */

/** A byte list as uint8arraylist's Uint8ArrayList (the type of a layer's read and write buffers). */
export interface ByteList {
  readonly byteLength: number
  /** All bytes as one buffer (copied when there are several). */
  subarray(): Uint8Array
  append(...bufs: (Uint8Array | ByteList)[]): void
  prepend(...bufs: (Uint8Array | ByteList)[]): void
  consume(bytes: number): void
}

export type Chunk = Uint8Array | ByteList

/** The fields and methods of @libp2p/utils 7's AbstractMessageStream the direct path uses. */
interface MessageStream {
  readStatus: string
  remoteWriteStatus: string
  writeStatus: string
  sendingData: boolean
  writableNeedsDrain: boolean
  maxMessageSize?: number
  readBuffer: ByteList
  writeBuffer: ByteList
  listenerCount(type: string): number
  onData(data: Chunk): void
  send(data: Chunk): boolean
  sendData(data: ByteList): { sentBytes: number; canSendMore: boolean }
  processSendQueue(): boolean
  checkWriteBufferLength(): void
  abort(err: Error): void
  safeDispatchEvent(type: string): boolean
}

const FIELDS = ['readBuffer', 'writeBuffer', 'readStatus', 'writeStatus', 'remoteWriteStatus'] as const
const METHODS = ['onData', 'send', 'sendData', 'processSendQueue', 'listenerCount', 'abort'] as const

/** `stream` as a MessageStream, or an error naming what moved (the version is pinned). */
function messageStream(stream: unknown, where: string): MessageStream {
  const s = stream as Record<string, unknown>
  for (const f of FIELDS)
    if (s?.[f] === undefined)
      throw new Error(`@libp2p/utils changed: a message stream has no ${f} (direct-path.ts, ${where})`)
  for (const m of METHODS)
    if (typeof s[m] !== 'function')
      throw new Error(`@libp2p/utils changed: a message stream has no ${m}() (direct-path.ts, ${where})`)
  return stream as MessageStream
}

/** Whether `stream` looks like an AbstractMessageStream (others keep their stock path). */
export function isMessageStream(stream: unknown): boolean {
  const s = stream as Record<string, unknown>
  return FIELDS.every((f) => s?.[f] !== undefined) && METHODS.every((m) => typeof s?.[m] === 'function')
}

/**
 * Hand what `stream` receives to `deliver` by a call while nothing is buffered and the one
 * `message` listener is the reader `deliver` stands for (it must do what that listener does).
 * Throws if the stream's fields moved; false (nothing installed) if `stream` has another number
 * of `message` listeners than one.
 */
export function directReceive(stream: unknown, deliver: (data: Chunk) => void, where: string): boolean {
  const s = messageStream(stream, where)
  if (s.listenerCount('message') !== 1) return false
  const stockOnData = s.onData
  s.onData = (data: Chunk): void => {
    if (
      data.byteLength > 0 &&
      s.readStatus === 'readable' &&
      s.readBuffer.byteLength === 0 &&
      s.remoteWriteStatus !== 'closed' &&
      s.listenerCount('message') === 1
    ) {
      deliver(data)
      return
    }
    stockOnData.call(s, data)
  }
  return true
}

/**
 * Send what is given to `stream` straight to its `sendData` while its queue is empty (see the
 * file comment). Throws if the stream's fields moved.
 */
export function directSend(stream: unknown, where: string): void {
  const s = messageStream(stream, where)
  // A new list of the same class as the stream's buffers (uint8arraylist, not a dependency here).
  const List = s.writeBuffer.constructor as new (...bufs: Chunk[]) => ByteList
  const stockSend = s.send
  s.send = (data: Chunk): boolean => {
    const n = data.byteLength
    if (
      n === 0 ||
      s.writeStatus !== 'writable' ||
      s.sendingData ||
      s.writableNeedsDrain ||
      s.writeBuffer.byteLength > 0 ||
      (s.maxMessageSize !== undefined && n > s.maxMessageSize) ||
      s.listenerCount('idle') > 0
    )
      return stockSend.call(s, data)
    // While sendingData is set, a send made from inside sendData is queued (stock behaviour) and
    // sent below once this one has gone.
    s.sendingData = true
    let result: { sentBytes: number; canSendMore: boolean }
    try {
      result = s.sendData(new List(data))
    } catch (err) {
      s.sendingData = false
      s.abort(err as Error)
      throw err
    }
    s.sendingData = false
    if (result.sentBytes < n) {
      const rest = new List(data)
      rest.consume(result.sentBytes)
      s.writeBuffer.prepend(rest)
    }
    // What is queued now (a remainder, or a send made from inside sendData) goes as the stock
    // queue would send it, 'idle' included.
    if (result.canSendMore && s.writeBuffer.byteLength > 0) return s.processSendQueue()
    if (!result.canSendMore) {
      s.writableNeedsDrain = true
      s.checkWriteBufferLength()
    }
    if (s.writeBuffer.byteLength === 0 && s.listenerCount('idle') > 0) s.safeDispatchEvent('idle')
    return result.canSendMore
  }
}

/** A connection protector factory (libp2p's `connectionProtector` option). */
type ProtectorFactory = (components: never) => {
  protect(connection: never, options?: never): Promise<unknown>
}

/** `factory`'s protector with the direct path (directPnet) on every stream it returns. */
export function directProtector<F extends ProtectorFactory>(factory: F): F {
  return ((components: never) => {
    const protector = factory(components)
    return {
      ...protector,
      protect: async (connection: never, options?: never) =>
        directPnet(await protector.protect(connection, options)),
    }
  }) as F
}

/** The parts of @libp2p/pnet 3's BoxMessageStream the direct path calls. */
interface BoxStream {
  maConn: unknown
  inboundXor: { update(data: Uint8Array): Uint8Array }
  onData(data: Uint8Array): void
}

/**
 * The direct path on a private-network stream (@libp2p/pnet, under Noise): what it sends goes to
 * its sendData by a call, and what the connection under it receives is deciphered by a call
 * instead of a `message` event (the stock listener, without error handling of its own, is
 * replicated exactly).
 */
export function directPnet<T>(connection: T): T {
  const box = connection as unknown as BoxStream
  if (box.maConn === undefined || typeof box.inboundXor?.update !== 'function')
    throw new Error('@libp2p/pnet changed: the protected stream has no maConn or inboundXor (direct-path.ts)')
  directSend(box, 'pnet stream')
  directReceive(
    box.maConn,
    (data) => {
      if (data instanceof Uint8Array) box.onData(box.inboundXor.update(data))
      else for (const buf of data as unknown as Iterable<Uint8Array>) box.onData(box.inboundXor.update(buf))
    },
    'pnet input',
  )
  return connection
}
