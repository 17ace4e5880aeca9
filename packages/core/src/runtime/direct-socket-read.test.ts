/**
 * The direct socket read (direct-socket-read.ts) on real loopback sockets: a chunk read while the
 * socket flows with nothing buffered reaches the one `data` listener without Readable's push, and
 * every other case — paused (buffered, in order, back-pressure), a second listener, the end of the
 * stream — is Node's own path with Node's own result.
 */
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { directSocketRead } from './direct-socket-read.js'

let server: Server | undefined
const sockets: Socket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  if (server) await new Promise<void>((r) => server?.close(() => r()))
  server = undefined
})

/** A connected pair; `reader` is the accepted end, given a `data` listener that records chunks. */
async function pair(): Promise<{ writer: Socket; reader: Socket; got: string[]; stockPushes: () => number }> {
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer((s) => resolve(s))
  })
  server?.listen(0, '127.0.0.1')
  await once(server as Server, 'listening')
  const { port } = (server as Server).address() as { port: number }
  const writer = connect(port, '127.0.0.1')
  await once(writer, 'connect')
  const reader = await accepted
  sockets.push(writer, reader)
  const got: string[] = []
  reader.on('data', (b: Buffer) => got.push(b.toString()))
  // Count what goes through the stock push: the direct read keeps the push it found as the stock one.
  let n = 0
  const stock = reader.push
  reader.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk !== null) n++
    return stock.call(reader, chunk, encoding)
  }
  return { writer, reader, got, stockPushes: () => n }
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 2))
  }
}

/** Write `msg` and wait until the reader's listener has it all (one read each on loopback, in practice). */
async function roundOne(writer: Socket, got: string[], msg: string): Promise<void> {
  const before = got.join('').length
  writer.write(msg)
  await until(() => got.join('').length >= before + msg.length)
}

describe('directSocketRead', () => {
  it('hands a read to the data listener without Readable.push while flowing with nothing buffered', async () => {
    const { writer, reader, got, stockPushes } = await pair()
    expect(directSocketRead(reader)).toBe(true)
    for (let i = 0; i < 50; i++) await roundOne(writer, got, `m${i};`)
    expect(got.join('')).toBe(Array.from({ length: 50 }, (_, i) => `m${i};`).join(''))
    // Without the direct read every chunk goes through push (at least 50 here).
    expect(stockPushes()).toBe(0)
  })

  it('takes the stock path while paused: data is buffered, arrives in order on resume, reading restarts', async () => {
    const { writer, reader, got, stockPushes } = await pair()
    directSocketRead(reader)
    await roundOne(writer, got, 'before;')
    reader.pause()
    // More than the 16 KiB high-water mark: the stock path stops the handle reading.
    const big = 'x'.repeat(200_000)
    writer.write(big)
    await until(() => stockPushes() > 0)
    await new Promise((r) => setTimeout(r, 50))
    expect(got.join('')).toBe('before;')
    reader.resume()
    await until(() => got.join('').length === 'before;'.length + big.length)
    const pushed = stockPushes()
    // Flowing again with nothing buffered: the direct read is back, and reading was restarted.
    await roundOne(writer, got, 'after;')
    expect(got.join('')).toBe(`before;${big}after;`)
    expect(stockPushes()).toBe(pushed)
  })

  it('falls back when a second data listener is added, so both see every chunk', async () => {
    const { writer, reader, got, stockPushes } = await pair()
    directSocketRead(reader)
    const second: string[] = []
    reader.on('data', (b: Buffer) => second.push(b.toString()))
    await roundOne(writer, got, 'both;')
    await until(() => second.join('') === 'both;')
    expect(got.join('')).toBe('both;')
    expect(stockPushes()).toBeGreaterThan(0)
  })

  it('still ends the stream when the peer closes', async () => {
    const { writer, reader, got } = await pair()
    directSocketRead(reader)
    await roundOne(writer, got, 'last;')
    const ended = once(reader, 'end')
    writer.end()
    await ended
    expect(got.join('')).toBe('last;')
  })

  it('installs nothing unless exactly one data listener is there', async () => {
    const { reader } = await pair()
    reader.on('data', () => {})
    const push = reader.push
    expect(directSocketRead(reader)).toBe(false)
    expect(reader.push).toBe(push)
  })
})
