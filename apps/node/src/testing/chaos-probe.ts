/**
 * TEST ONLY: the node side of the chaos harness (tools/chaos, docs/testing.md). Off unless
 * CONCLAVE_TEST_CHAOS_PROBE=HOST:PORT is set (the harness's fenced resource).
 *
 * Every CONCLAVE_TEST_CHAOS_INTERVAL_MS (default 25) it reads the node's leadership through the
 * public API and:
 * - logs a `chaos:sample` line (role, known global leader and term, lease left, fencing token,
 *   the test clock's skew), stamped with the host's CLOCK_MONOTONIC (`process.hrtime`): that
 *   clock is shared by every process and network namespace on the host, so the harness can lay
 *   all nodes' histories on one time axis whatever the node's (possibly skewed) protocol clock
 *   says. A line is logged on every change, on every sample while the node holds the lease, and
 *   at least once a second;
 * - while `fencingToken()` is defined (the node holds the global lease), sends one write tagged
 *   with that token to the fenced resource, as a leader protecting a real resource would.
 * Bounded: writes that find the resource unreachable or its socket backed up are dropped and
 * counted (`droppedWrites` in the next sample); reconnection is retried every 500 ms.
 */
import { connect, type Socket } from 'node:net'
import type { ConclaveNode, SkewedClock } from '@conclave/core'
import { jsonLogger } from '../logger.js'
import { parseHostPort } from '../options.js'

const SOCKET_BACKLOG_BYTES_MAX = 64 * 1024
const HEARTBEAT_MS = 1000
const RECONNECT_MS = 500

export function hostMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

export function startChaosProbe(
  node: ConclaveNode,
  env: NodeJS.ProcessEnv,
  clock: SkewedClock | undefined,
): (() => void) | undefined {
  const target = env.CONCLAVE_TEST_CHAOS_PROBE
  if (!target) return undefined
  const { host, port } = parseHostPort(target, 'CONCLAVE_TEST_CHAOS_PROBE')
  const intervalMs = Number(env.CONCLAVE_TEST_CHAOS_INTERVAL_MS ?? 25)
  const log = jsonLogger('info', { id: node.id })
  log.warn('TEST ONLY: chaos probe on', { resource: target, intervalMs })

  let socket: Socket | undefined
  let connected = false
  let stopped = false
  let droppedWrites = 0
  let seq = 0
  const open = () => {
    if (stopped) return
    const s = connect({ host, port })
    s.setNoDelay(true)
    s.on('connect', () => {
      connected = true
    })
    s.on('error', () => {}) // 'close' follows and reconnects
    s.on('close', () => {
      connected = false
      if (socket === s) socket = undefined
      if (!stopped) setTimeout(open, RECONNECT_MS).unref()
    })
    socket = s
  }
  open()

  let last = ''
  let lastLoggedMs = 0
  const timer = setInterval(() => {
    const now = hostMs()
    const token = node.fencingToken()
    const st = node.status() as {
      role?: string
      globalTerm?: number
      leaseLeftMs?: number
      shard?: number | null
    }
    const leader = node.leader()
    const sample = {
      role: st.role ?? 'starting',
      leader: leader?.id ?? null,
      term: leader?.term ?? st.globalTerm ?? 0,
      token: token ?? null,
      shard: st.shard ?? null,
    }
    const key = JSON.stringify(sample)
    if (token !== undefined) {
      if (connected && socket && socket.writableLength < SOCKET_BACKLOG_BYTES_MAX) {
        socket.write(`${JSON.stringify({ node: node.id, token, seq: ++seq, sentHostMs: now })}\n`)
      } else droppedWrites++
    }
    if (token !== undefined || key !== last || now - lastLoggedMs >= HEARTBEAT_MS) {
      last = key
      lastLoggedMs = now
      log.info('chaos:sample', {
        hostMs: Math.round(now * 1000) / 1000,
        ...sample,
        leaseLeftMs: token !== undefined ? (st.leaseLeftMs ?? 0) : 0,
        offsetMs: clock?.offsetMs() ?? 0,
        driftPpm: clock?.driftPpm() ?? 0,
        droppedWrites,
      })
    }
  }, intervalMs)
  return () => {
    stopped = true
    clearInterval(timer)
    socket?.destroy()
  }
}
