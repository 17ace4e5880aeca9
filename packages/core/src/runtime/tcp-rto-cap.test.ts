/**
 * tcp-rto-cap.ts: the value set is clamped to what the kernel accepts, TCP_USER_TIMEOUT follows a
 * cap, and every outcome is counted; on Linux ≥ 6.15 a real socket reads both options back
 * (getsockopt), and both ends of a libp2p connection made with libp2pBaseOptions are capped (and
 * none with tcpRtoMaxMs 0).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import { createLibp2p } from 'libp2p'
import { afterAll, describe, expect, it } from 'vitest'
import { loadOrCreatePrivateKey } from './identity.js'
import { libp2pBaseOptions } from './libp2p-options.js'
import {
  capSocket,
  IPPROTO_TCP,
  libcSetIntSockopt,
  loadLibc,
  type NativeLibrary,
  openLibc,
  rtoCapStats,
  type SetIntSockopt,
  TCP_RTO_MAX_MS,
  TCP_USER_TIMEOUT,
  USER_TIMEOUT_MS,
  userTimeoutStats,
} from './tcp-rto-cap.js'

const fakeSocket = { _handle: { fd: 17 } }

describe('capSocket', () => {
  it('sets TCP_RTO_MAX_MS on the descriptor, clamped to 1000 .. 120000 ms, then TCP_USER_TIMEOUT', () => {
    const calls: number[][] = []
    const set: SetIntSockopt = (...args) => {
      calls.push(args)
      return 0
    }
    expect(capSocket(fakeSocket, 1000, set)).toBe('capped')
    expect(capSocket(fakeSocket, 200, set)).toBe('capped')
    expect(capSocket(fakeSocket, 999_999, set)).toBe('capped')
    const userTimeout = [17, IPPROTO_TCP, TCP_USER_TIMEOUT, 900_000]
    expect(calls).toEqual([
      [17, IPPROTO_TCP, TCP_RTO_MAX_MS, 1000],
      userTimeout,
      [17, IPPROTO_TCP, TCP_RTO_MAX_MS, 1000],
      userTimeout,
      [17, IPPROTO_TCP, TCP_RTO_MAX_MS, 120_000],
      userTimeout,
    ])
  })

  it('counts the cap when only TCP_USER_TIMEOUT fails, and sets no user timeout without a cap', () => {
    const before = { ...rtoCapStats }
    const names: number[] = []
    const userTimeoutFails =
      (code: 'rc' | 'throw'): SetIntSockopt =>
      (_fd, _level, name) => {
        names.push(name)
        if (name !== TCP_USER_TIMEOUT) return 0
        if (code === 'throw') throw new Error('boom')
        return -1
      }
    const userBefore = { ...userTimeoutStats }
    expect(capSocket(fakeSocket, 1000, userTimeoutFails('rc'))).toBe('capped')
    expect(capSocket(fakeSocket, 1000, userTimeoutFails('throw'))).toBe('capped')
    expect(rtoCapStats.capped - before.capped).toBe(2)
    expect(userTimeoutStats.refused - userBefore.refused).toBe(2)
    expect(userTimeoutStats.set).toBe(userBefore.set)
    names.length = 0
    expect(
      capSocket(fakeSocket, 1000, (_fd, _level, name) => {
        names.push(name)
        return -1
      }),
    ).toBe('refused')
    expect(names).toEqual([TCP_RTO_MAX_MS])
    expect(capSocket(fakeSocket, 1000, () => 0)).toBe('capped')
    expect(userTimeoutStats.set - userBefore.set).toBe(1)
    expect(userTimeoutStats.refused - userBefore.refused).toBe(2)
  })

  it('counts a refusal, a missing descriptor and a missing setsockopt, and never throws', () => {
    const before = { ...rtoCapStats }
    expect(capSocket(fakeSocket, 1000, () => -1)).toBe('refused')
    expect(
      capSocket(fakeSocket, 1000, () => {
        throw new Error('boom')
      }),
    ).toBe('refused')
    expect(capSocket({ _handle: null }, 1000, () => 0)).toBe('unavailable')
    expect(capSocket(undefined, 1000, () => 0)).toBe('unavailable')
    expect(capSocket(fakeSocket, 1000, null)).toBe('unavailable')
    expect(rtoCapStats.refused - before.refused).toBe(2)
    expect(rtoCapStats.unavailable - before.unavailable).toBe(3)
    expect(rtoCapStats.capped).toBe(before.capped)
  })
})

describe('openLibc', () => {
  const lib: NativeLibrary = { func: () => () => 0 }

  it('loads libc.so.6, else the process itself (musl), else nothing', () => {
    const paths: (string | null)[] = []
    const glibc = (path: string | null) => {
      paths.push(path)
      return lib
    }
    expect(openLibc(glibc)).toBe(lib)
    expect(paths).toEqual(['libc.so.6'])
    paths.length = 0
    const musl = (path: string | null) => {
      paths.push(path)
      if (path !== null) throw new Error('libc.so.6: cannot open shared object file')
      return lib
    }
    expect(openLibc(musl)).toBe(lib)
    expect(paths).toEqual(['libc.so.6', null])
    expect(
      openLibc(() => {
        throw new Error('no')
      }),
    ).toBeNull()
  })
})

/** getsockopt(IPPROTO_TCP, `name`) through koffi, or undefined where the kernel lacks it. */
function readTcpOption(fd: number, name: number): number | undefined {
  const getsockopt = (loadLibc() as NonNullable<ReturnType<typeof loadLibc>>).func(
    'int getsockopt(int fd, int level, int name, _Out_ void *val, _Inout_ uint32_t *len)',
  )
  const out = Buffer.alloc(4)
  return getsockopt(fd, IPPROTO_TCP, name, out, [4]) === 0 ? out.readInt32LE() : undefined
}

function readRtoMax(fd: number): number | undefined {
  return readTcpOption(fd, TCP_RTO_MAX_MS)
}

/** Whether this host can cap: Linux, koffi loads, and the kernel knows TCP_RTO_MAX_MS (6.15+). */
async function kernelHasOption(): Promise<boolean> {
  if (libcSetIntSockopt() === null) return false
  const { server, client } = await socketPair()
  try {
    return readRtoMax(fdOf(client)) !== undefined
  } finally {
    client.destroy()
    server.close()
  }
}

function fdOf(s: Socket): number {
  return (s as unknown as { _handle: { fd: number } })._handle.fd
}

async function socketPair(): Promise<{ server: Server; client: Socket }> {
  const server = createServer(() => {})
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  const client = new Socket()
  await new Promise<void>((r) => client.connect(port, '127.0.0.1', r))
  return { server, client }
}

const capable = await kernelHasOption()
const dir = mkdtempSync(join(tmpdir(), 'conclave-rto-'))
const nodes: Libp2p[] = []
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()))
  rmSync(dir, { recursive: true, force: true })
})

async function connectedPair(tcpRtoMaxMs: number | undefined): Promise<void> {
  const [a, b] = await Promise.all(
    ['a', 'b'].map(async (name) => {
      const privateKey = await loadOrCreatePrivateKey(join(dir, `${name}-${tcpRtoMaxMs}`))
      const n = await createLibp2p(
        libp2pBaseOptions({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], tcpRtoMaxMs }),
      )
      nodes.push(n)
      return n
    }),
  )
  await (a as Libp2p).dial((b as Libp2p).getMultiaddrs())
}

describe.runIf(capable)('on this kernel (Linux ≥ 6.15 with koffi)', () => {
  it('a real socket reads the cap and the user timeout back', async () => {
    // A new socket starts at the namespace's default (120000 unless an operator set the sysctl).
    const namespaceRtoMaxMs = Number(readFileSync('/proc/sys/net/ipv4/tcp_rto_max_ms', 'utf8'))
    const { server, client } = await socketPair()
    try {
      expect(readRtoMax(fdOf(client))).toBe(namespaceRtoMaxMs)
      expect(readTcpOption(fdOf(client), TCP_USER_TIMEOUT)).toBe(0)
      expect(capSocket(client, 1000)).toBe('capped')
      expect(readRtoMax(fdOf(client))).toBe(1000)
      expect(readTcpOption(fdOf(client), TCP_USER_TIMEOUT)).toBe(USER_TIMEOUT_MS)
      expect(USER_TIMEOUT_MS).toBe(900_000)
      expect(capSocket(client, 2500)).toBe('capped')
      expect(readRtoMax(fdOf(client))).toBe(2500)
    } finally {
      client.destroy()
      server.close()
    }
  })

  it('libp2pBaseOptions caps both ends of a connection by default, none with tcpRtoMaxMs 0', async () => {
    let before = rtoCapStats.capped
    await connectedPair(undefined)
    // The inbound end is capped when the listener upgrades it, just after the dial returns.
    const deadline = Date.now() + 5000
    while (rtoCapStats.capped - before < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5))
    expect(rtoCapStats.capped - before).toBe(2)
    before = rtoCapStats.capped
    await connectedPair(0)
    await new Promise((r) => setTimeout(r, 100))
    expect(rtoCapStats.capped - before).toBe(0)
  })
})
