/**
 * A token bucket: at most `burst` tokens, refilled at `perSecond`; `take(n)` succeeds only while
 * tokens remain. Time is an input (the caller's clock), so it is deterministic in tests.
 *
 * Guarantees: over any interval of length T ms, at most `burst + perSecond · T / 1000` tokens are
 * taken; the state is two numbers.
 */
export class TokenBucket {
  private tokens: number
  private lastMs: number

  constructor(
    readonly burst: number,
    readonly perSecond: number,
    nowMs: number,
  ) {
    this.tokens = burst
    this.lastMs = nowMs
  }

  /** Take `n` tokens if available; false (and nothing taken) when the bucket is short. */
  take(nowMs: number, n = 1): boolean {
    this.refill(nowMs)
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }

  /** Tokens available now. */
  available(nowMs: number): number {
    this.refill(nowMs)
    return this.tokens
  }

  private refill(nowMs: number): void {
    const elapsedMs = nowMs - this.lastMs
    if (elapsedMs <= 0) return
    this.lastMs = nowMs
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.perSecond) / 1000)
  }
}
