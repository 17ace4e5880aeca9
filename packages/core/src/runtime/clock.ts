/**
 * The runtime's clock: milliseconds that never go backwards within a process (performance.now,
 * immune to NTP steps) anchored at the wall clock when the process started, so values stay
 * comparable with what a previous run of the same node persisted. Leases are measured on this
 * clock only ever as durations from local events, never compared across nodes.
 */
import { performance } from 'node:perf_hooks'

export interface Clock {
  nowMs(): number
}

export function monotonicClock(): Clock {
  const anchorMs = Date.now() - performance.now()
  return { nowMs: () => anchorMs + performance.now() }
}
