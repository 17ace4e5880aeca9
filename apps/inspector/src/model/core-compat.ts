/**
 * Compile-time guarantee that the inspector reads exactly what core emits: every TraceEvent of
 * @conclave/core must be assignable to the inspector's ProtocolEvent (a field renamed or retyped
 * in core fails `tsc` here, not silently in the browser).
 */
import type { TraceEvent } from '@conclave/core'
import type { ProtocolEvent } from './trace-record.js'

export function fromCoreEvent(event: TraceEvent): ProtocolEvent {
  return event
}
