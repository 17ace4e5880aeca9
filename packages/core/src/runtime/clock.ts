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

/**
 * TEST ONLY (the chaos harness, tools/chaos): a clock with an offset and a rate error, to run the
 * real node with a skewed clock. Never used unless a test asks for it. `set()` changes the rate
 * continuously (a rate change alone never makes the reading jump) and steps the reading by the
 * change in offset: a forward step looks like time passing at once, a backward step makes the
 * clock go BACKWARDS (non-monotonic, which the runtime clock never does), so the chaos harness
 * changes a running node's rate only and applies offsets at restarts. Its rate against the host's
 * monotonic clock is 1 + driftPpm()/1e6; the chaos probe uses that to turn protocol-clock times
 * into host time.
 */
export interface SkewedClock extends Clock {
  set(offsetMs: number, driftPpm: number): void
  offsetMs(): number
  driftPpm(): number
}

export function skewedClock(offsetMs: number, driftPpm: number): SkewedClock {
  const anchorMs = Date.now() - performance.now()
  let baseRealMs = performance.now()
  let baseMs = anchorMs + baseRealMs + offsetMs
  let offset = offsetMs
  let ppm = driftPpm
  const at = (realMs: number) => baseMs + (realMs - baseRealMs) * (1 + ppm / 1e6)
  return {
    nowMs: () => at(performance.now()),
    set(nextOffsetMs, nextDriftPpm) {
      const realMs = performance.now()
      baseMs = at(realMs) + (nextOffsetMs - offset)
      baseRealMs = realMs
      offset = nextOffsetMs
      ppm = nextDriftPpm
    },
    offsetMs: () => offset,
    driftPpm: () => ppm,
  }
}
