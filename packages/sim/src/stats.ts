/** Small order statistics for reports: nearest-rank percentiles (no interpolation). */

/** The p-th percentile (0 < p ≤ 100) by nearest rank; undefined for no samples. */
export function percentile(samples: readonly number[], p: number): number | undefined {
  if (samples.length === 0) return undefined
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]
}

export function mean(samples: readonly number[]): number | undefined {
  if (samples.length === 0) return undefined
  let sum = 0
  for (const s of samples) sum += s
  return sum / samples.length
}

export function max(samples: readonly number[]): number | undefined {
  if (samples.length === 0) return undefined
  let m = Number.NEGATIVE_INFINITY
  for (const s of samples) if (s > m) m = s
  return m
}
