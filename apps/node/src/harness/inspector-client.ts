/**
 * A minimal Chrome DevTools Protocol client over a WebSocket, for the hang watch (hang-watch.ts):
 * enough to pause a node's main thread and read its JS stack, and to run its CPU profiler, once
 * the node's inspector listens (SIGUSR1). Node 20 has no WebSocket client and the repository does
 * not depend on `ws`, so this speaks RFC 6455 itself: one text message per command, masked client
 * frames, unmasked server frames (possibly fragmented), ping answered, close ends the session.
 * Bounded: a message over `messageBytesMax` closes the session; every command has a deadline.
 */
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import type { Socket } from 'node:net'

/** A profile of 2 s at 1 ms sampling is well under a megabyte; a paused stack far less. */
const MESSAGE_BYTES_MAX = 64 * 1024 * 1024

export type WsFrame = { fin: boolean; opcode: number; payload: Buffer }

/** One client frame: FIN set, masked (RFC 6455 §5.3: a client masks every frame). */
export function encodeClientFrame(opcode: number, payload: Buffer, mask: Buffer = randomBytes(4)): Buffer {
  const len = payload.length
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10
  const out = Buffer.alloc(head + 4 + len)
  out[0] = 0x80 | opcode
  if (len < 126) out[1] = 0x80 | len
  else if (len < 65536) {
    out[1] = 0x80 | 126
    out.writeUInt16BE(len, 2)
  } else {
    out[1] = 0x80 | 127
    out.writeBigUInt64BE(BigInt(len), 2)
  }
  mask.copy(out, head)
  for (let i = 0; i < len; i++) out[head + 4 + i] = (payload[i] as number) ^ (mask[i & 3] as number)
  return out
}

/** The longest frame header: 2 bytes, a 64-bit length, a 4-byte mask. */
const HEADER_BYTES_MAX = 14

/**
 * Incremental frame decoder: push bytes as they arrive, get whole frames out. Server frames are
 * unmasked, but a masked one is unmasked too. Throws on a frame longer than `frameBytesMax`.
 * Chunks are held as they came and joined once a whole frame is there (or to read a header split
 * across chunks), so a frame's bytes are copied a bounded number of times however finely it is
 * chunked: joining on every push copied a 10 MB CPU profile in 64 KB chunks ~80 times over.
 */
export class WsFrameDecoder {
  private chunks: Buffer[] = []
  private bytes = 0
  /** Header + mask + payload bytes of the frame at the head, once its header was read (else 0). */
  private frameBytes = 0

  constructor(private readonly frameBytesMax = MESSAGE_BYTES_MAX) {}

  push(chunk: Buffer): WsFrame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk)
      this.bytes += chunk.length
    }
    const frames: WsFrame[] = []
    while (this.bytes >= Math.max(2, this.frameBytes)) {
      const first = this.chunks[0] as Buffer
      const b =
        this.frameBytes > 0 || (first.length < HEADER_BYTES_MAX && this.chunks.length > 1)
          ? this.joined()
          : first
      const masked = ((b[1] as number) & 0x80) !== 0
      let len = (b[1] as number) & 0x7f
      let off = 2
      if (len === 126) {
        if (b.length < 4) break
        len = b.readUInt16BE(2)
        off = 4
      } else if (len === 127) {
        if (b.length < 10) break
        const big = b.readBigUInt64BE(2)
        if (big > BigInt(this.frameBytesMax)) throw new Error(`websocket frame of ${big} bytes`)
        len = Number(big)
        off = 10
      }
      if (len > this.frameBytesMax) throw new Error(`websocket frame of ${len} bytes`)
      const maskOff = off
      if (masked) off += 4
      if (b.length < off) break
      this.frameBytes = off + len
      if (this.bytes < this.frameBytes) break
      const all = this.joined()
      const payload = Buffer.from(all.subarray(off, off + len))
      if (masked)
        for (let i = 0; i < len; i++) payload[i] = (payload[i] as number) ^ (all[maskOff + (i & 3)] as number)
      frames.push({ fin: ((all[0] as number) & 0x80) !== 0, opcode: (all[0] as number) & 0x0f, payload })
      const rest = all.subarray(this.frameBytes)
      this.chunks = rest.length > 0 ? [rest] : []
      this.bytes = rest.length
      this.frameBytes = 0
    }
    return frames
  }

  /** Everything held, as one buffer (joined at most once per call that needs it). */
  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.bytes)]
    return this.chunks[0] ?? Buffer.alloc(0)
  }
}

type Waiter = { resolve(v: Record<string, unknown>): void; reject(e: Error): void }

/**
 * Remove `entry` from the waiters of `method`, if it is still there: an entry the event already
 * took (or a close already rejected) is gone, and `splice(indexOf(...))` of -1 would remove the
 * last waiter instead (another caller's, which then never saw its event).
 */
export function removeWaiter(waiters: Map<string, Waiter[]>, method: string, entry: Waiter): void {
  const list = waiters.get(method)
  const i = list?.indexOf(entry) ?? -1
  if (!list || i < 0) return
  list.splice(i, 1)
  if (list.length === 0) waiters.delete(method)
}

export interface CdpSession {
  /** Send a command; resolves with its result, rejects on an error answer, close or timeout. */
  send(method: string, params?: object, timeoutMs?: number): Promise<Record<string, unknown>>
  /** Calls `listener` with the params of every event named `method` from now on. */
  on(method: string, listener: (params: Record<string, unknown>) => void): void
  /** Resolves with the params of the next event named `method` (rejects on close or timeout). */
  next(method: string, timeoutMs: number): Promise<Record<string, unknown>>
  close(): void
}

/** Open a CDP session on `ws://host:port/path` (the URL the inspector prints). */
export function connectCdp(wsUrl: string, timeoutMs = 5000): Promise<CdpSession> {
  const url = new URL(wsUrl)
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      agent: false,
      timeout: timeoutMs,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
    })
    req.once('timeout', () => req.destroy(new Error(`no websocket upgrade from ${wsUrl} in ${timeoutMs} ms`)))
    req.once('error', reject)
    req.once('response', (res) => {
      res.resume()
      reject(new Error(`inspector answered HTTP ${res.statusCode} instead of upgrading`))
    })
    req.once('upgrade', (_res, socket: Socket, head: Buffer) => {
      socket.setTimeout(0)
      resolve(session(socket, head))
    })
    req.end()
  })
}

function session(socket: Socket, head: Buffer): CdpSession {
  let nextId = 1
  let closed: Error | undefined
  const pending = new Map<number, Waiter>()
  const waiters = new Map<string, Waiter[]>()
  const listeners = new Map<string, (params: Record<string, unknown>) => void>()
  const decoder = new WsFrameDecoder()
  let parts: Buffer[] = []
  let partBytes = 0

  const fail = (err: Error, last?: Buffer) => {
    if (closed) return
    closed = err
    for (const p of pending.values()) p.reject(err)
    pending.clear()
    for (const list of waiters.values()) for (const w of list) w.reject(err)
    waiters.clear()
    if (last) socket.end(last)
    else socket.destroy()
  }
  const onMessage = (text: string) => {
    const msg = JSON.parse(text) as {
      id?: number
      result?: Record<string, unknown>
      error?: { message?: string }
      method?: string
      params?: Record<string, unknown>
    }
    if (msg.id !== undefined) {
      const p = pending.get(msg.id)
      pending.delete(msg.id)
      if (msg.error) p?.reject(new Error(`${msg.error.message ?? 'error'}`))
      else p?.resolve(msg.result ?? {})
    } else if (msg.method) {
      listeners.get(msg.method)?.(msg.params ?? {})
      const list = waiters.get(msg.method)
      const w = list?.shift()
      if (list?.length === 0) waiters.delete(msg.method)
      w?.resolve(msg.params ?? {})
    }
  }
  const onData = (chunk: Buffer) => {
    let frames: WsFrame[]
    try {
      frames = decoder.push(chunk)
    } catch (err) {
      return fail(err as Error)
    }
    for (const f of frames) {
      if (f.opcode === 0x8) return fail(new Error('inspector closed the websocket'))
      if (f.opcode === 0x9) {
        socket.write(encodeClientFrame(0xa, f.payload))
        continue
      }
      if (f.opcode !== 0x1 && f.opcode !== 0x0) continue
      parts.push(f.payload)
      partBytes += f.payload.length
      if (partBytes > MESSAGE_BYTES_MAX)
        return fail(new Error(`inspector message over ${MESSAGE_BYTES_MAX} bytes`))
      if (!f.fin) continue
      const text = Buffer.concat(parts).toString('utf8')
      parts = []
      partBytes = 0
      try {
        onMessage(text)
      } catch (err) {
        return fail(err as Error)
      }
    }
  }
  socket.on('data', onData)
  socket.once('close', () => fail(new Error('inspector connection closed')))
  socket.once('error', (err) => fail(err))
  if (head.length > 0) onData(head)

  const deadline = <T>(p: Promise<T>, ms: number, what: string, cleanup: () => void): Promise<T> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        cleanup()
        reject(new Error(`${what}: no answer in ${ms} ms`))
      }, ms)
      p.then(
        (v) => {
          clearTimeout(t)
          resolve(v)
        },
        (e) => {
          clearTimeout(t)
          reject(e)
        },
      )
    })

  return {
    send(method, params = {}, timeoutMs = 5000) {
      if (closed) return Promise.reject(closed)
      const id = nextId++
      const p = new Promise<Record<string, unknown>>((resolve, reject) =>
        pending.set(id, { resolve, reject }),
      )
      socket.write(encodeClientFrame(0x1, Buffer.from(JSON.stringify({ id, method, params }))))
      return deadline(p, timeoutMs, method, () => pending.delete(id))
    },
    on(method, listener) {
      listeners.set(method, listener)
    },
    next(method, timeoutMs) {
      if (closed) return Promise.reject(closed)
      let entry!: Waiter
      const p = new Promise<Record<string, unknown>>((resolve, reject) => {
        entry = { resolve, reject }
      })
      const list = waiters.get(method) ?? []
      list.push(entry)
      waiters.set(method, list)
      return deadline(p, timeoutMs, `event ${method}`, () => removeWaiter(waiters, method, entry))
    },
    close() {
      fail(new Error('closed'), encodeClientFrame(0x8, Buffer.alloc(0)))
    },
  }
}
