import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { parseDebugHang } from '../testing/debug-hang.js'
import {
  captureHang,
  describeSyscall,
  formatFrames,
  gdbStacks,
  parseDebuggerUrl,
  parseProcStat,
  SilenceTracker,
  silentMsFor,
  topSelf,
} from './hang-watch.js'
import { encodeClientFrame, removeWaiter, WsFrameDecoder } from './inspector-client.js'

// A real line from /proc/PID/stat of a node process, and one whose comm holds ") (".
const STAT =
  '17482 (node) R 17480 17480 1234 0 -1 4194304 9187 0 0 0 1312 87 0 0 20 0 12 0 7012345 1170526208 24913 18446744073709551615 4194304 4217657 140728 0 0 0 0 16781312 134235650 0 0 0 17 1 0 0 0 0 0'
const ODD =
  '42 (a) (b c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 100 1000 50 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0'

describe('parseProcStat', () => {
  it('reads state, CPU ticks, threads and RSS after the last parenthesis', () => {
    expect(parseProcStat(STAT)).toEqual({
      comm: 'node',
      state: 'R',
      utimeTicks: 1312,
      stimeTicks: 87,
      threads: 12,
      rssPages: 24913,
    })
    expect(parseProcStat(ODD)).toMatchObject({
      comm: 'a) (b c',
      state: 'S',
      utimeTicks: 7,
      stimeTicks: 3,
      threads: 1,
    })
  })

  it('throws on what is not a stat line', () => {
    expect(() => parseProcStat('')).toThrow()
    expect(() => parseProcStat('1 (x) S 1 2')).toThrow(/field 14/)
  })
})

describe('describeSyscall', () => {
  it('names the calls a node blocks in and keeps the first arguments', () => {
    expect(describeSyscall('202 0x7f2b 0x189 0x0 0x0 0x0 0x0 0x7ffd 0x7f2b\n')).toBe(
      'futex(0x7f2b, 0x189, 0x0)',
    )
    expect(describeSyscall('1 0x2 0x55 0x10000 0 0 0 0x7ffd 0x7f2b')).toBe('write(0x2, 0x55, 0x10000)')
    expect(describeSyscall('running')).toBe('running')
    expect(describeSyscall('999 0x1')).toBe('syscall 999(0x1)')
    expect(describeSyscall('-1 0x7ffd 0x7f2b')).toBe('-1 0x7ffd 0x7f2b')
  })
})

describe('parseDebuggerUrl', () => {
  it('finds the URL the inspector prints on SIGUSR1, and nothing in other lines', () => {
    expect(
      parseDebuggerUrl('Debugger listening on ws://127.0.0.1:38493/86051317-5e3d-4f8a-bf62-680c21d35a07'),
    ).toBe('ws://127.0.0.1:38493/86051317-5e3d-4f8a-bf62-680c21d35a07')
    expect(parseDebuggerUrl('For help, see: https://nodejs.org/en/docs/inspector')).toBeUndefined()
    expect(parseDebuggerUrl('{"msg":"Debugger listening on ws://x"}')).toBeUndefined()
  })
})

describe('SilenceTracker', () => {
  it('reports a process silent once silentMs pass without an answer, counted from its first tick', () => {
    const t = new SilenceTracker(7500)
    expect(t.tick(0, [1, 2], 10_000)).toEqual([])
    t.answered(1, 2500)
    expect(t.tick(2500, [1, 2], 10_000)).toEqual([])
    t.answered(1, 5000)
    expect(t.tick(9999, [1, 2], 10_000)).toEqual([])
    expect(t.tick(10_000, [1, 2], 10_000)).toEqual([{ pid: 2, silentMs: 10_000 }])
    t.answered(2, 11_000)
    expect(t.tick(12_000, [1, 2], 10_000)).toEqual([])
    expect(t.tick(15_000, [1, 2], 10_000)).toEqual([{ pid: 1, silentMs: 10_000 }])
  })

  it('does not count time between waits (a gap in the ticks) or before a new process was seen', () => {
    const t = new SilenceTracker(7500)
    t.tick(0, [1], 10_000)
    // The harness stopped watching at 5 s and resumed at 60 s: silence counts from 60 s.
    t.tick(5000, [1], 10_000)
    expect(t.tick(60_000, [1, 3], 10_000)).toEqual([])
    expect(t.tick(65_000, [1, 3], 10_000)).toEqual([])
    expect(t.tick(70_000, [1, 3], 10_000)).toEqual([
      { pid: 1, silentMs: 10_000 },
      { pid: 3, silentMs: 10_000 },
    ])
    // A process that went away is forgotten; the same pid later starts afresh.
    t.tick(72_000, [3], 10_000)
    expect(t.tick(74_000, [1, 3], 10_000)).toEqual([{ pid: 3, silentMs: 14_000 }])
  })
})

describe('silentMsFor', () => {
  it('is silentMs on a host with a CPU to spare, up to scaleMax times it on a saturated one', () => {
    expect(silentMsFor(10_000, 0.5, 2, 6)).toBe(10_000)
    expect(silentMsFor(10_000, 4, 2, 6)).toBe(10_000)
    expect(silentMsFor(10_000, 10, 2, 6)).toBe(25_000)
    expect(silentMsFor(10_000, 72, 2, 6)).toBe(60_000)
    expect(silentMsFor(10_000, 72, 0, 6)).toBe(60_000)
    expect(silentMsFor(10_000, Number.NaN, 2, 6)).toBe(10_000)
  })
})

describe('inspector websocket frames', () => {
  it('a decoder reads masked client frames of every length class, split at any byte', () => {
    const payloads = [0, 5, 125, 126, 65_535, 65_536, 70_000].map((n) => Buffer.alloc(n, n % 251))
    const wire = Buffer.concat(payloads.map((p) => encodeClientFrame(0x1, p)))
    for (const step of [1, 3, 13, 4096, wire.length]) {
      const d = new WsFrameDecoder()
      const got: Buffer[] = []
      for (let o = 0; o < wire.length; o += step)
        for (const f of d.push(wire.subarray(o, o + step))) got.push(f.payload)
      expect(got.map((b) => b.length)).toEqual(payloads.map((p) => p.length))
      expect(got.every((b, k) => b.equals(payloads[k] as Buffer))).toBe(true)
    }
  })

  it('reads unmasked server frames with FIN and opcode, and refuses one over the bound', () => {
    const d = new WsFrameDecoder(1000)
    const frag = Buffer.from([0x01, 0x02, 0x68, 0x69, 0x80, 0x01, 0x21]) // "hi" then a final "!"
    expect(d.push(frag)).toEqual([
      { fin: false, opcode: 1, payload: Buffer.from('hi') },
      { fin: true, opcode: 0, payload: Buffer.from('!') },
    ])
    const big = Buffer.from([0x81, 126, 0x04, 0x00]) // 1024 bytes announced
    expect(() => new WsFrameDecoder(1000).push(big)).toThrow(/1024 bytes/)
  })

  it('copies a frame a bounded number of times however finely it is chunked', () => {
    const payload = Buffer.alloc(1 << 20, 7)
    const head = Buffer.from([0x81, 127, 0, 0, 0, 0, 0, 0x10, 0, 0]) // unmasked, 1 MiB
    const wire = Buffer.concat([head, payload])
    const concat = vi.spyOn(Buffer, 'concat')
    try {
      const d = new WsFrameDecoder()
      const got: Buffer[] = []
      for (let o = 0; o < wire.length; o += 1024)
        for (const f of d.push(wire.subarray(o, o + 1024))) got.push(f.payload)
      expect(got.length).toBe(1)
      expect(got[0]?.equals(payload)).toBe(true)
      // Joining on every push (the old decoder) copied ~512 MiB here: 1024 joins of a growing buffer.
      const joinedBytes = concat.mock.results.reduce((n, r) => n + (r.value as Buffer).length, 0)
      expect(joinedBytes).toBeLessThanOrEqual(2 * wire.length)
    } finally {
      concat.mockRestore()
    }
  })

  it('removing a waiter that is already gone leaves the other waiters alone', () => {
    const w = () => ({ resolve: () => {}, reject: () => {} })
    const [a, b, c] = [w(), w(), w()]
    const waiters = new Map([['Debugger.paused', [a, b]]])
    removeWaiter(waiters, 'Debugger.paused', c) // never added (or taken by its event already)
    expect(waiters.get('Debugger.paused')).toEqual([a, b])
    removeWaiter(waiters, 'Debugger.paused', a)
    removeWaiter(waiters, 'Debugger.paused', a) // its deadline fired after it was removed
    expect(waiters.get('Debugger.paused')).toEqual([b])
    removeWaiter(waiters, 'Debugger.paused', b)
    expect(waiters.has('Debugger.paused')).toBe(false)
  })

  it('masks a client frame with its key', () => {
    const f = encodeClientFrame(0x1, Buffer.from('ab'), Buffer.from([1, 2, 3, 4]))
    expect([...f]).toEqual([0x81, 0x82, 1, 2, 3, 4, 'a'.charCodeAt(0) ^ 1, 'b'.charCodeAt(0) ^ 2])
  })
})

describe('report formatting', () => {
  it('names frames, 1-based, anonymous ones too', () => {
    expect(
      formatFrames([
        {
          functionName: 'debugSpinUntil',
          url: 'file:///x/conclave.mjs',
          location: { lineNumber: 9, columnNumber: 4 },
        },
        { functionName: '', url: 'node:internal/timers', location: { lineNumber: 0, columnNumber: 0 } },
      ]),
    ).toEqual(['  at debugSpinUntil (/x/conclave.mjs:10:5)', '  at (anonymous) (node:internal/timers:1:1)'])
  })

  it('ranks functions by self samples', () => {
    const cf = (functionName: string) => ({
      functionName,
      url: 'file:///a/b.js',
      lineNumber: 1,
      columnNumber: 0,
    })
    const profile = {
      nodes: [
        { id: 1, callFrame: cf('(root)') },
        { id: 2, callFrame: cf('spin') },
        { id: 3, callFrame: cf('gc') },
      ],
      samples: [2, 2, 2, 3],
    }
    expect(topSelf(profile, 5)).toEqual(['   75.0% spin (b.js:2)', '   25.0% gc (b.js:2)'])
  })
})

describe('debug hang request (test hook)', () => {
  it('accepts spin or block for 1 ms .. 10 min only', () => {
    expect(parseDebugHang('mode=spin&ms=500')).toEqual({ mode: 'spin', ms: 500 })
    expect(parseDebugHang('mode=block&ms=1')).toEqual({ mode: 'block', ms: 1 })
    for (const bad of [
      '',
      'mode=spin',
      'mode=sleep&ms=5',
      'mode=spin&ms=0',
      'mode=spin&ms=1.5',
      'mode=block&ms=600001',
    ])
      expect(typeof parseDebugHang(bad)).toBe('string')
  })
})

/** An inspector that answers Debugger.enable and hangs up on Debugger.pause. */
async function hangUpInspector(): Promise<{ url: string; close(): void }> {
  const server = createServer()
  const sockets: Socket[] = []
  server.on('upgrade', (_req, socket: Socket) => {
    sockets.push(socket)
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
    const decoder = new WsFrameDecoder()
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        const { id, method } = JSON.parse(f.payload.toString('utf8')) as { id: number; method: string }
        if (method === 'Debugger.pause') return socket.destroy()
        const body = Buffer.from(JSON.stringify({ id, result: {} }))
        socket.write(Buffer.concat([Buffer.from([0x81, body.length]), body]))
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/fake`,
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

describe('captureHang', () => {
  it('an inspector that hangs up mid-capture is reported, and leaves no unhandled rejection', async () => {
    const inspector = await hangUpInspector()
    const dataDir = mkdtempSync(join(tmpdir(), 'conclave-hang-capture-'))
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const { path } = await captureHang(
        {
          index: 0,
          pid: process.pid,
          dataDir,
          silentMs: 10_000,
          startInspector: async () => inspector.url,
          context: () => [],
        },
        false,
      )
      // Rejections are reported after the microtask queue drains: give them a turn.
      await new Promise((r) => setTimeout(r, 50))
      expect(readFileSync(path, 'utf8')).toMatch(/inspector: inspector connection closed/)
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
      inspector.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('gdbStacks', () => {
  it('resumes the process when gdb dies attached (killed at its timeout)', async () => {
    // A stand-in gdb that does what a real one killed mid-attach leaves behind: the process
    // stopped, and no detach. The real gdb is not needed (nor is ptrace).
    const dir = mkdtempSync(join(tmpdir(), 'conclave-gdb-'))
    writeFileSync(join(dir, 'gdb'), '#!/bin/sh\nkill -STOP "$2"\nexec sleep 30\n')
    chmodSync(join(dir, 'gdb'), 0o755)
    const child = spawn('sleep', ['30'], { stdio: 'ignore' })
    const pid = child.pid as number
    const state = () => parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).state
    const path = process.env.PATH
    process.env.PATH = `${dir}:${path}`
    try {
      const stacks = gdbStacks(pid, 1500)
      let sawStopped = false
      for (let i = 0; i < 100 && !sawStopped; i++) {
        sawStopped = state() === 'T'
        if (!sawStopped) await new Promise((r) => setTimeout(r, 10))
      }
      expect(sawStopped).toBe(true) // the stand-in did stop it
      const lines = await stacks
      expect(lines.join('\n')).toMatch(/^gdb: /m) // no stack: gdb was killed
      await new Promise((r) => setTimeout(r, 50))
      expect(state()).not.toBe('T')
    } finally {
      process.env.PATH = path
      child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
