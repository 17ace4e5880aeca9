import { describe, expect, it } from 'vitest'
import { NOISE_BUFFER_BYTES_MAX, NoiseMessageDecoder } from './quiet-noise.js'

/** Noise's framing: a 2-byte big-endian length, then the message. */
function framed(...messages: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(messages.reduce((n, m) => n + 2 + m.length, 0))
  let at = 0
  for (const m of messages) {
    out[at] = m.length >> 8
    out[at + 1] = m.length & 0xff
    out.set(m, at + 2)
    at += 2 + m.length
  }
  return out
}

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill)

describe('NoiseMessageDecoder', () => {
  it('splits whole messages, several per chunk, and keeps a partial one for the next chunk', () => {
    const d = new NoiseMessageDecoder()
    const wire = framed(bytes(3, 1), bytes(300, 2), bytes(65_535, 3), bytes(1, 4))
    const got: number[][] = []
    // Every split point of a 2-byte header and a body, and one-byte chunks at the end.
    const cuts = [1, 2, 4, 5, 200, 65_000, wire.length - 3, wire.length - 2, wire.length - 1, wire.length]
    let from = 0
    for (const to of cuts) {
      for (const m of d.decode(wire.subarray(from, to))) got.push([m.length, m[0] as number])
      from = to
    }
    expect(got).toEqual([
      [3, 1],
      [300, 2],
      [65_535, 3],
      [1, 4],
    ])
    expect(d.pendingBytes).toBe(0)
  })

  it('skips empty messages, as the stock decoder does, and takes byte lists', () => {
    const d = new NoiseMessageDecoder()
    const wire = framed(bytes(0, 0), bytes(2, 7))
    const list = { byteLength: wire.length, subarray: () => wire }
    expect([...d.decode(list)].map((m) => [...m])).toEqual([[7, 7]])
  })

  it('starts from bytes an earlier decoder held', () => {
    const wire = framed(bytes(5, 9))
    const d = new NoiseMessageDecoder(wire.slice(0, 3))
    expect([...d.decode(wire.subarray(3))].map((m) => m.length)).toEqual([5])
  })

  it('is re-entrant: a decode made while a yielded message is handled continues in order', () => {
    const d = new NoiseMessageDecoder()
    const got: number[] = []
    const handle = (m: Uint8Array) => {
      got.push(m[0] as number)
      // A read resumed synchronously underneath, while the first message is being handled.
      if (m[0] === 1) for (const n of d.decode(framed(bytes(4, 4)))) handle(n)
    }
    for (const m of d.decode(framed(bytes(2, 1), bytes(3, 2), bytes(5, 3)))) handle(m)
    expect(got).toEqual([1, 2, 3, 4])
    expect(d.pendingBytes).toBe(0)
  })

  it('refuses to buffer more than the stock bound', () => {
    const d = new NoiseMessageDecoder()
    expect(() => [...d.decode(new Uint8Array(NOISE_BUFFER_BYTES_MAX + 1))]).toThrow(RangeError)
  })
})
