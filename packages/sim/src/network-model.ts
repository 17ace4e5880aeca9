/**
 * Network models: how long a message takes on a link, and how often one is lost.
 *
 * Each directed link has its own base latency, fixed for the whole run (drawn from a hash of the
 * run's seed and the two node indices, so a 5000-node mesh needs no per-link table), plus a
 * per-message jitter drawn from the network's seeded stream. Links are FIFO (the simulator never
 * lets a later message overtake an earlier one on the same link), as on a TCP/yamux stream.
 */
import type { Rng } from '@conclave/core'

export interface NetworkModel {
  /** Preset name, for reports. */
  readonly name: string
  /**
   * One-way latency of one message, in ms. `linkU` is the link's fixed uniform draw in [0, 1);
   * `rng` is the network's stream, for per-message jitter.
   */
  latencyMs(linkU: number, rng: Rng): number
  /** Probability that a message is lost, in [0, 1]. `Simulation.setLoss` overrides it. */
  readonly lossRate: number
}

export interface LatencyRange {
  /** Smallest base latency of a link, ms. */
  baseMinMs: number
  /** Largest base latency of a link, ms. */
  baseMaxMs: number
  /** Mean of the exponential per-message jitter, ms. */
  jitterMeanMs: number
  /** Hard upper bound of one message's latency, ms (the jitter tail is cut here). */
  latencyMaxMs: number
  /** Random loss, default 0. */
  lossRate?: number
}

export function latencyModel(name: string, range: LatencyRange): NetworkModel {
  const { baseMinMs, baseMaxMs, jitterMeanMs, latencyMaxMs } = range
  return {
    name,
    lossRate: range.lossRate ?? 0,
    latencyMs(linkU, rng) {
      const base = baseMinMs + linkU * (baseMaxMs - baseMinMs)
      // Inverse-CDF exponential; 1 - float() is in (0, 1], so the log is finite.
      const jitter = -jitterMeanMs * Math.log(1 - rng.float())
      return Math.min(latencyMaxMs, base + jitter)
    },
  }
}

/** One data centre: one-way 0.2–2 ms (links 0.2–1.5 ms, jitter mean 0.1 ms, cut at 2 ms). */
export function lanNetwork(lossRate = 0): NetworkModel {
  return latencyModel('lan', { baseMinMs: 0.2, baseMaxMs: 1.5, jitterMeanMs: 0.1, latencyMaxMs: 2, lossRate })
}

/** Across regions: one-way 5–150 ms per link, jitter mean 3 ms, cut at 250 ms. */
export function wanNetwork(lossRate = 0): NetworkModel {
  return latencyModel('wan', { baseMinMs: 5, baseMaxMs: 150, jitterMeanMs: 3, latencyMaxMs: 250, lossRate })
}
