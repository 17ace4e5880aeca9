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
 * - logs a `chaos:lease` line for each global lease event of the node's own trace: `hold` (the
 *   lease was acquired or extended: the protocol's claim [fromMs, untilMs] on its own clock) and
 *   `end` (released early: step-down, leave). Each carries the protocol-clock times and the same
 *   instants on the host's CLOCK_MONOTONIC, converted exactly: trace events are dispatched after
 *   the persist they follow, so the line is stamped by mapping the event's protocol time through
 *   the test clock (host now − (protocol now − t) / rate), not with the dispatch time. When the
 *   harness changes the clock's rate while a lease is held, the hold is logged again (`rebase`)
 *   with its end re-converted at the new rate. The checker compares these intervals, not samples.
 * - every 40th write is instead held back with the token read now and sent 100 ms after the
 *   lease read now has run out (at most one pending): the write of a leader that stalled past its
 *   lease. If another node has written with a newer token meanwhile, the resource must refuse it;
 *   an accepted one is a stale write (checker.ts). Without it, a node reads its token and writes in
 *   the same tick, and fencing is rarely exercised.
 * Bounded: writes that find the resource unreachable or its socket backed up are dropped and
 * counted (`droppedWrites` in the next sample); reconnection is retried every 500 ms.
 */
import { connect, type Socket } from 'node:net'
import type { ConclaveNode, SkewedClock, TraceEvent } from '@conclave/core'
import { jsonLogger } from '../logger.js'
import { parseHostPort, UsageError } from '../options.js'

const SOCKET_BACKLOG_BYTES_MAX = 64 * 1024
/** Every this many writes, one is held back past the lease (one at a time; see below). */
const DELAYED_WRITE_EVERY = 40
/** How far past the lease's end a held-back write is sent. */
const DELAYED_WRITE_PAST_LEASE_MS = 100
const HEARTBEAT_MS = 1000
const RECONNECT_MS = 500

export function hostMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000
}

/**
 * CONCLAVE_TEST_CHAOS_INTERVAL_MS: the sampling interval, default 25 ms, an integer in [5, 1000]
 * (0 or NaN would spin the event loop; more than a second would miss whole leases).
 */
export function probeIntervalMs(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 25
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 5 || n > 1000)
    throw new UsageError(
      `CONCLAVE_TEST_CHAOS_INTERVAL_MS: expected an integer in [5, 1000], got ${JSON.stringify(raw)}`,
    )
  return n
}

export function startChaosProbe(
  node: ConclaveNode,
  env: NodeJS.ProcessEnv,
  clock: SkewedClock | undefined,
): (() => void) | undefined {
  const target = env.CONCLAVE_TEST_CHAOS_PROBE
  if (!target) return undefined
  const { host, port } = parseHostPort(target, 'CONCLAVE_TEST_CHAOS_PROBE')
  const intervalMs = probeIntervalMs(env.CONCLAVE_TEST_CHAOS_INTERVAL_MS)
  const log = jsonLogger('info', { id: node.id })
  log.warn('TEST ONLY: chaos probe on', { resource: target, intervalMs })

  let socket: Socket | undefined
  let connected = false
  let stopped = false
  let droppedWrites = 0
  let seq = 0
  let writesSinceDelayed = 0
  let delayedTimer: ReturnType<typeof setTimeout> | undefined
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

  /** Host CLOCK_MONOTONIC ms of protocol-clock instant t (the test clock's current rate). */
  const rate = () => 1 + (clock?.driftPpm() ?? 0) / 1e6
  const toHost = (t: number, protoNow: number, hostNow: number) => hostNow - (protoNow - t) / rate()
  let held: { term: number; fromMs: number; untilMs: number } | undefined
  let heldDriftPpm = clock?.driftPpm() ?? 0
  const logHold = (kind: 'hold' | 'rebase', h: { term: number; fromMs: number; untilMs: number }) => {
    const hostNow = hostMs()
    const protoNow = clock?.nowMs() ?? h.fromMs
    log.info('chaos:lease', {
      event: kind,
      term: h.term,
      fromMs: h.fromMs,
      untilMs: h.untilMs,
      fromHostMs: round3(toHost(h.fromMs, protoNow, hostNow)),
      untilHostMs: round3(toHost(h.untilMs, protoNow, hostNow)),
      driftPpm: clock?.driftPpm() ?? 0,
    })
  }
  const onTrace = (e: CustomEvent<TraceEvent>) => {
    const ev = e.detail
    if (ev.kind === 'lease:hold' && ev.scope === 'global') {
      held = { term: ev.term, fromMs: ev.fromMs, untilMs: ev.untilMs }
      heldDriftPpm = clock?.driftPpm() ?? 0
      logHold('hold', held)
    } else if (ev.kind === 'lease:end' && ev.scope === 'global') {
      held = undefined
      const hostNow = hostMs()
      const protoNow = clock?.nowMs() ?? ev.atMs
      log.info('chaos:lease', {
        event: 'end',
        term: ev.term,
        atMs: ev.atMs,
        atHostMs: round3(toHost(ev.atMs, protoNow, hostNow)),
        driftPpm: clock?.driftPpm() ?? 0,
      })
    }
  }
  node.service.addEventListener('trace', onTrace)

  let last = ''
  let lastLoggedMs = 0
  const timer = setInterval(() => {
    if (held && (clock?.driftPpm() ?? 0) !== heldDriftPpm) {
      heldDriftPpm = clock?.driftPpm() ?? 0
      if ((clock?.nowMs() ?? 0) < held.untilMs) logHold('rebase', held)
    }
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
    const send = (t: number, delayed: boolean) => {
      if (connected && socket && socket.writableLength < SOCKET_BACKLOG_BYTES_MAX) {
        socket.write(
          `${JSON.stringify({ node: node.id, token: t, seq: ++seq, sentHostMs: hostMs(), delayed })}\n`,
        )
      } else droppedWrites++
    }
    if (token !== undefined) {
      writesSinceDelayed++
      if (writesSinceDelayed >= DELAYED_WRITE_EVERY && delayedTimer === undefined) {
        writesSinceDelayed = 0
        const waitMs = (st.leaseLeftMs ?? 0) + DELAYED_WRITE_PAST_LEASE_MS
        delayedTimer = setTimeout(() => {
          delayedTimer = undefined
          if (!stopped) send(token, true)
        }, waitMs)
        delayedTimer.unref()
      } else send(token, false)
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
    node.service.removeEventListener('trace', onTrace)
    stopped = true
    clearInterval(timer)
    if (delayedTimer) clearTimeout(delayedTimer)
    socket?.destroy()
  }
}
