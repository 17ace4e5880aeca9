/**
 * The simulation trace: every event every machine emitted, stamped with the true time at which
 * the simulator drained it, plus every fault the simulator injected.
 *
 * Guarantees: `traceHash()` is a sha256 over a canonical serialization of all records in the
 * order they happened (object keys sorted, numbers in JavaScript's shortest round-trip form,
 * bytes as hex), so the same seed and code give the same hash on any machine, and any change in
 * what happened (an event, its order, its time) changes it. The hash covers every record even
 * when the simulation keeps only some of them in memory.
 */
import { createHash, type Hash } from 'node:crypto'
import type { NodeId, TraceEvent } from '@conclave/core'

export interface TraceRecord {
  /** True (simulated) time at which the event left its machine, ms. */
  readonly trueMs: number
  readonly event: TraceEvent
}

export type FaultKind = 'crash' | 'restart' | 'pause' | 'resume' | 'partition' | 'heal' | 'loss' | 'add'

export interface FaultRecord {
  readonly trueMs: number
  readonly kind: FaultKind
  /** The node concerned (crash, restart, pause, resume, add). */
  readonly node?: NodeId
  /** pause: how long, in ms. */
  readonly durationMs?: number
  /** partition: the two sides (A → B blocked; B → A too unless oneWay). */
  readonly groupA?: readonly NodeId[]
  readonly groupB?: readonly NodeId[]
  readonly oneWay?: boolean
  /** loss: the new loss probability. */
  readonly lossRate?: number
}

/** JSON with sorted keys; Uint8Array as a hex string; undefined fields left out. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return JSON.stringify(String(value))
    return value === undefined ? 'null' : JSON.stringify(value)
  }
  if (value instanceof Uint8Array) return `"0x${Buffer.from(value).toString('hex')}"`
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`).join(',')}}`
}

export class TraceHasher {
  private readonly hash: Hash = createHash('sha256')
  private count = 0

  event(record: TraceRecord): void {
    this.hash.update(`e${record.trueMs}${canonical(record.event)}\n`)
    this.count++
  }

  fault(record: FaultRecord): void {
    this.hash.update(`f${canonical(record)}\n`)
    this.count++
  }

  get records(): number {
    return this.count
  }

  /** The hash of everything so far (the running hash continues). */
  digest(): string {
    return this.hash.copy().digest('hex')
  }
}
