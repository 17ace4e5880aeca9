/**
 * TCP with one socket write per message: @libp2p/tcp 11 writes each buffer of a message
 * separately, and Noise hands it every message as two buffers (the 2-byte length, then the
 * ciphertext), so each frame cost two write system calls and went out as two TCP segments (two
 * reads and two wake-ups at the receiver too when they arrive apart). Here a message of several
 * buffers is copied into one first (frames are ≤ 256 KiB, and small in practice) and written with
 * one call. Nothing else changes: same sockets, options, back-pressure and byte counts.
 *
 * Hooked where the transport hands its raw connection to libp2p's upgrader (the only place the
 * TCP connection object is reachable): `sendData` is replaced on that connection only. The
 * method is protected in @libp2p/utils' typings; the version is pinned, the hook throws if it is
 * missing, and write-path.test.ts fails if a message takes more than one write again.
 *
 * The same hook caps each connection's TCP retransmission backoff (`rtoMaxMs`, tcp-rto-cap.ts) on
 * the raw socket (`socket` of @libp2p/tcp's connection), inbound and outbound, before the upgrade,
 * and gives the socket's reads to the connection by a call (direct-socket-read.ts).
 */

import type { Socket } from 'node:net'
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'
import { type TCPComponents, type TCPOptions, tcp } from '@libp2p/tcp'
import { directSend } from './direct-path.js'
import { directSocketRead } from './direct-socket-read.js'
import { capSocket } from './tcp-rto-cap.js'

/** The part of uint8arraylist's Uint8ArrayList used here (a message as a list of buffers). */
interface Chunks {
  readonly bufs: Uint8Array[]
  readonly byteLength: number
  /** The whole message as one buffer (copied when it has several). */
  subarray(): Uint8Array
  sublist(begin: number, end: number): Chunks
  append(buf: Uint8Array): void
}

interface Sender {
  sendData(data: Chunks): { sentBytes: number; canSendMore: boolean }
}

/** `data` as a list holding one buffer (the same list when it already does). */
function oneBuffer(data: Chunks): Chunks {
  if (data.bufs.length <= 1) return data
  const one = data.sublist(0, 0)
  one.append(data.subarray())
  return one
}

/** Replace `maConn`'s sendData with one that writes a multi-buffer message as one buffer. */
export function coalesceWrites<T extends MultiaddrConnection>(maConn: T): T {
  const sender = maConn as unknown as Sender
  const sendData = sender.sendData
  if (typeof sendData !== 'function')
    throw new Error('@libp2p/tcp changed: the connection has no sendData (coalescing-tcp.ts)')
  const socket = (maConn as unknown as { socket?: { write(buf: Uint8Array): boolean } }).socket
  sender.sendData =
    typeof socket?.write === 'function'
      ? (data: Chunks) => {
          // The stock sendData writes each buffer of the list in turn through the list's generator
          // (stopping at the first the socket refuses); here the message is one buffer, written
          // by one call: the same write, the same result, without the iteration.
          if (data.byteLength === 0) return { sentBytes: 0, canSendMore: true }
          const buf = data.bufs.length === 1 ? (data.bufs[0] as Uint8Array) : data.subarray()
          return { sentBytes: buf.byteLength, canSendMore: socket.write(buf) }
        }
      : (data: Chunks) => sendData.call(maConn, oneBuffer(data))
  // A message sent while nothing is queued goes to sendData by a call (direct-path.ts).
  directSend(maConn, 'tcp connection')
  return maConn
}

/**
 * Cap the raw socket's retransmission backoff (rtoMaxMs > 0), hand its reads to the connection
 * by a call (direct-socket-read.ts), then coalesce its writes.
 */
function prepare<T extends MultiaddrConnection>(maConn: T, rtoMaxMs: number): T {
  const socket = (maConn as unknown as { socket?: Socket }).socket
  if (rtoMaxMs > 0) capSocket(socket, rtoMaxMs)
  if (socket === undefined)
    throw new Error('@libp2p/tcp changed: the connection has no socket (coalescing-tcp.ts)')
  directSocketRead(socket)
  return coalesceWrites(maConn)
}

function wrapUpgrader(upgrader: Upgrader, rtoMaxMs: number): Upgrader {
  // @libp2p/tcp calls only these two on the upgrader it is given.
  return Object.assign(Object.create(upgrader) as Upgrader, {
    upgradeInbound: (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeInbound']>[1]) =>
      upgrader.upgradeInbound(prepare(maConn, rtoMaxMs), opts),
    upgradeOutbound: (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeOutbound']>[1]) =>
      upgrader.upgradeOutbound(prepare(maConn, rtoMaxMs), opts),
  })
}

export interface CoalescingTcpOptions extends TCPOptions {
  /**
   * Cap on each connection's TCP retransmission backoff in ms (tcp-rto-cap.ts; Linux ≥ 6.15,
   * 1000 .. 120000; 0 = the kernel's own, 120 s by default). Default 0 here; the node sets 1000
   * (libp2p-options.ts).
   */
  rtoMaxMs?: number
}

/** Drop-in for `tcp(init)`: the same transport, one socket write per message. */
export function coalescingTcp(init?: CoalescingTcpOptions): (components: TCPComponents) => Transport {
  const { rtoMaxMs = 0, ...tcpInit } = init ?? {}
  const make = tcp(tcpInit)
  return (components) => {
    const transport = make(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = (ma, options) =>
      dial(ma, { ...options, upgrader: wrapUpgrader(options.upgrader, rtoMaxMs) })
    transport.createListener = (options) =>
      createListener({ ...options, upgrader: wrapUpgrader(options.upgrader, rtoMaxMs) })
    return transport
  }
}
