/**
 * Seeded pseudo-random numbers. Protocol code never calls Math.random: every state machine
 * takes an Rng, so the simulator can replay any run from its seed. xoshiro128** (Blackman and
 * Vigna) seeded through splitmix32: fast, 2^128-1 period, good enough for timeouts and
 * sampling (not for keys).
 */
export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number
  /** Uniform float in [0, 1). */
  float(): number
  /** Uniform integer in [0, n). n must be a positive integer below 2^32. */
  int(n: number): number
  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number
  /** A new, independent generator derived from this one (for per-node streams). */
  fork(): Rng
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

class Xoshiro128 implements Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    const sm = splitmix32(seed)
    this.a = sm()
    this.b = sm()
    this.c = sm()
    this.d = sm()
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0
    const t = (this.b << 9) >>> 0
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return result
  }

  float(): number {
    return this.nextU32() / 4294967296
  }

  int(n: number): number {
    if (!(n > 0 && n <= 4294967296 && Number.isInteger(n))) throw new RangeError(`rng.int(${n})`)
    // Lemire-style rejection to avoid modulo bias.
    const limit = 4294967296 - (4294967296 % n)
    for (;;) {
      const x = this.nextU32()
      if (x < limit) return x % n
    }
  }

  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  fork(): Rng {
    return new Xoshiro128(this.nextU32() ^ 0x5bd1e995)
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

export function createRng(seed: number): Rng {
  return new Xoshiro128(seed)
}

/** Fisher–Yates shuffle in place with the given generator. */
export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const tmp = items[i] as T
    items[i] = items[j] as T
    items[j] = tmp
  }
  return items
}
