import type { ConclaveService, TraceEvent } from '@conclave/core'
import { describe, expect, it } from 'vitest'
import { NodeMetrics } from './metrics.js'

/** The few service members NodeMetrics reads, with the trace fed by hand. */
function stubService(): { service: ConclaveService; emit(ev: TraceEvent): void } {
  let observer: ((ev: TraceEvent) => void) | undefined
  const service = {
    addEventListener() {},
    observeTrace(fn: (ev: TraceEvent) => void) {
      observer = fn
      return () => {}
    },
    clock: { nowMs: () => 0 },
    isLeader: () => false,
    leader: () => undefined,
    isStarted: () => false,
  } as unknown as ConclaveService
  return { service, emit: (ev) => observer?.(ev) }
}

function hold(scope: 'shard' | 'global', term: number, atMs: number, untilMs: number): TraceEvent {
  return { kind: 'lease:hold', node: 'n1', atMs, scope, shard: 0, term, fromMs: atMs, untilMs }
}

const lapses = (text: string, scope: string, what: 'lapses' | 'lapse_ms') =>
  Number(new RegExp(`^conclave_lease_${what}_total\\{scope="${scope}"\\} (\\d+)$`, 'm').exec(text)?.[1])

describe('lease lapse metrics', () => {
  it('counts a hold of the same term that comes after the previous one ran out, and nothing else', () => {
    const { service, emit } = stubService()
    const metrics = new NodeMetrics(service)
    emit(hold('global', 3, 0, 318))
    emit(hold('global', 3, 100, 418)) // extended in time: no lapse
    emit(hold('global', 3, 430, 748)) // 12 ms without a lease
    emit(hold('global', 4, 900, 1218)) // a new term: a leader change, not a lapse
    emit(hold('shard', 2, 0, 450))
    emit({ kind: 'lease:end', node: 'n1', atMs: 200, scope: 'shard', shard: 0, term: 2 })
    emit(hold('shard', 2, 1000, 1450)) // after a release: not a lapse
    emit(hold('shard', 2, 1500, 1950)) // 50 ms
    const text = metrics.render()
    expect(lapses(text, 'global', 'lapses')).toBe(1)
    expect(lapses(text, 'global', 'lapse_ms')).toBe(12)
    expect(lapses(text, 'shard', 'lapses')).toBe(1)
    expect(lapses(text, 'shard', 'lapse_ms')).toBe(50)
  })
})
