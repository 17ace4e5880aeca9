/**
 * The bucket of a histogram with inclusive upper `bounds` (ascending) that `value` falls in:
 * the first bound ≥ value, or bounds.length (the bucket above the last bound).
 */
export function bucketIndex(bounds: readonly number[], value: number): number {
  const i = bounds.findIndex((b) => value <= b)
  return i < 0 ? bounds.length : i
}
