/**
 * ConclaveService.observeTrace: every observer sees every trace event, also when one of them
 * unsubscribes itself (or another) while the event is being delivered. No libp2p: the service
 * is constructed, never started, and its trace sink is called directly.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { TraceEvent } from '../trace/events.js'
import { ConclaveService } from './conclave-service.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A service that is never started, and its machine's trace sink. */
function service(): { svc: ConclaveService; trace: (ev: TraceEvent) => void } {
  const dataDir = mkdtempSync(join(tmpdir(), 'conclave-observe-trace-'))
  dirs.push(dataDir)
  const components = { peerId: { toString: () => 'self' } } as unknown as ConstructorParameters<
    typeof ConclaveService
  >[0]
  const svc = new ConclaveService(components, { dataDir })
  const sink = svc as unknown as { onTrace(ev: TraceEvent): void }
  return { svc, trace: (ev) => sink.onTrace(ev) }
}

const EV = { type: 'lease:hold' } as unknown as TraceEvent

describe('observeTrace', () => {
  it('an observer that unsubscribes itself during delivery does not make the next one miss the event', () => {
    const { svc, trace } = service()
    const seen: string[] = []
    const offA = svc.observeTrace(() => {
      seen.push('a')
      offA()
    })
    svc.observeTrace(() => seen.push('b'))
    svc.observeTrace(() => seen.push('c'))
    trace(EV)
    expect(seen).toEqual(['a', 'b', 'c'])
    trace(EV)
    expect(seen).toEqual(['a', 'b', 'c', 'b', 'c'])
  })

  it('an observer removed by another during delivery still gets the event being delivered, not the next', () => {
    const { svc, trace } = service()
    const seen: string[] = []
    let offC = () => {}
    svc.observeTrace(() => {
      seen.push('a')
      offC()
    })
    svc.observeTrace(() => seen.push('b'))
    offC = svc.observeTrace(() => seen.push('c'))
    trace(EV)
    trace(EV)
    expect(seen).toEqual(['a', 'b', 'c', 'a', 'b'])
  })

  it('unsubscribing twice removes one subscription of a function subscribed twice', () => {
    const { svc, trace } = service()
    let calls = 0
    const fn = () => calls++
    const off = svc.observeTrace(fn)
    svc.observeTrace(fn)
    off()
    off()
    trace(EV)
    expect(calls).toBe(1)
  })
})
