/**
 * The contract every Conclave protocol state machine follows (after etcd-io/raft's `Ready`).
 *
 * Inputs: `tick(nowMs)` and `receive(from, bytes, nowMs)`, where nowMs is the node's own
 * monotonic clock. Outputs are drained as one `Ready`, and the driver (simulator, libp2p
 * runtime, tests) MUST perform them in this order:
 *   1. persist — write every op durably (fsync) before anything else leaves the node;
 *   2. send    — hand every message to the network, in order;
 *   3. events  — publish the trace events (logs, metrics, checkers, inspector).
 * A vote or an ack that left before its state was durable could be given twice after a crash.
 *
 * No protocol code reads a clock, sets a timer, calls Math.random or touches libp2p: time comes
 * in through nowMs, randomness through an injected Rng, and `nextTickAtMs()` tells the driver
 * when the machine next needs a tick (so idle nodes cost nothing and the simulator stays fast).
 */
import type { TraceEvent } from './trace/events.js'

/** A node's identity: its libp2p peer id as a string (the simulator mints ids of the same shape). */
export type NodeId = string

/** The protocol layers; each has its own libp2p protocol id and wire codec. */
export type Layer = 'membership' | 'shard' | 'global'

export interface Outbound {
  readonly to: NodeId
  readonly layer: Layer
  /** Message type name, for per-type accounting (metrics, simulator). */
  readonly type: string
  /** The encoded frame, within the layer's byte budget. */
  readonly bytes: Uint8Array
}

/** One durable write: `value` replaces what is stored under `key`, atomically. */
export interface PersistOp {
  readonly key: string
  readonly value: Uint8Array
}

export interface Ready<E extends TraceEvent = TraceEvent> {
  readonly persist: PersistOp[]
  readonly send: Outbound[]
  readonly events: E[]
}

export interface Machine<E extends TraceEvent = TraceEvent> {
  readonly id: NodeId
  /** Advance timers to nowMs (the node's own clock). */
  tick(nowMs: number): void
  /** Deliver one frame from a peer. Malformed frames are counted rejections, never throws. */
  receive(from: NodeId, layer: Layer, bytes: Uint8Array, nowMs: number): void
  /** The local time at which the next tick is due (Infinity when nothing is scheduled). */
  nextTickAtMs(): number
  /** Take everything produced since the last drain, in the order persist, send, events. */
  drain(): Ready<E>
  /**
   * The driver saw this node's own process stall (event-loop delay, GC pause, SIGSTOP) for
   * durationMs. Lifeguard feeds this into local health so a slow node stops accusing others.
   */
  notePause?(durationMs: number, nowMs: number): void
}

/** An empty Ready to start from and fill. */
export function emptyReady<E extends TraceEvent>(): { persist: PersistOp[]; send: Outbound[]; events: E[] } {
  return { persist: [], send: [], events: [] }
}
