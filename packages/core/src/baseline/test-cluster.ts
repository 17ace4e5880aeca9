/**
 * A tiny deterministic driver for unit tests of single-layer machines (test-only; the real
 * simulator lives in @conclave/sim, which core cannot depend on). Fixed one-way latency, no
 * drift, crash and restart with the persisted store, and a drop filter for partitions.
 * Persist ops are applied before sends are queued, as the sans-IO contract requires.
 */
import type { Machine, NodeId } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'

interface InFlight {
  readonly atMs: number
  readonly seq: number
  readonly from: NodeId
  readonly to: NodeId
  readonly bytes: Uint8Array
}

export type TestFactory<M extends Machine> = (
  id: NodeId,
  stored: ReadonlyMap<string, Uint8Array>,
  nowMs: number,
) => M

export class TestCluster<M extends Machine> {
  nowMs = 0
  readonly trace: TraceEvent[] = []
  readonly machines = new Map<NodeId, M>()
  readonly stores = new Map<NodeId, Map<string, Uint8Array>>()
  readonly sent = new Map<string, number>()
  /** Return true to drop a frame (partitions). */
  drop: (from: NodeId, to: NodeId) => boolean = () => false
  private queue: InFlight[] = []
  private seq = 0

  constructor(
    readonly ids: readonly NodeId[],
    private readonly factory: TestFactory<M>,
    private readonly latencyMs = 1,
  ) {
    for (const id of ids) this.start(id)
  }

  crash(id: NodeId): void {
    this.machines.delete(id)
  }

  start(id: NodeId): void {
    const store = this.stores.get(id) ?? new Map<string, Uint8Array>()
    this.stores.set(id, store)
    this.machines.set(id, this.factory(id, store, this.nowMs))
    this.flush(id)
  }

  runUntil(endMs: number, stepMax = 2_000_000): void {
    for (let step = 0; step < stepMax; step++) {
      let nextTick = Number.POSITIVE_INFINITY
      let tickId: NodeId | undefined
      for (const [id, m] of this.machines) {
        const at = m.nextTickAtMs()
        if (at < nextTick) {
          nextTick = at
          tickId = id
        }
      }
      const msg = this.queue[0]
      const next = Math.min(nextTick, msg?.atMs ?? Number.POSITIVE_INFINITY)
      if (next > endMs) break
      this.nowMs = Math.max(this.nowMs, next)
      if (msg !== undefined && msg.atMs <= nextTick) {
        this.queue.shift()
        const m = this.machines.get(msg.to)
        if (m === undefined) continue
        m.receive(msg.from, 'global', msg.bytes, this.nowMs)
        this.flush(msg.to)
      } else if (tickId !== undefined) {
        this.machines.get(tickId)?.tick(this.nowMs)
        this.flush(tickId)
      }
    }
    this.nowMs = endMs
  }

  private flush(id: NodeId): void {
    const m = this.machines.get(id)
    if (m === undefined) return
    const ready = m.drain()
    const store = this.stores.get(id) as Map<string, Uint8Array>
    for (const op of ready.persist) store.set(op.key, op.value)
    for (const out of ready.send) {
      this.sent.set(id, (this.sent.get(id) ?? 0) + 1)
      if (this.drop(id, out.to)) continue
      this.queue.push({
        atMs: this.nowMs + this.latencyMs,
        seq: this.seq++,
        from: id,
        to: out.to,
        bytes: out.bytes,
      })
    }
    for (const ev of ready.events) this.trace.push(ev)
  }
}
