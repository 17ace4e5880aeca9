/**
 * The monitoring ring: live members (alive or suspect, this node included) sorted by a hash of
 * their id. Each node probes its K successors and is probed by its K predecessors, so every
 * member has K monitors, probes are spread evenly (each node receives about one per interval)
 * and connections stay few and long-lived (DESIGN.md: "monitors a few subjects over persistent
 * connections"). Views differ a little between nodes while news spreads; gossip to all and
 * anti-entropy cover the gaps. Lookups are O(log N); insert/remove O(N) memmove.
 */
import type { NodeId } from '../sans-io.js'
import { assert } from '../util/assert.js'
import type { Rng } from '../util/rng.js'

/** FNV-1a 32 over UTF-16 code units, then a murmur3 finaliser (ids share long prefixes). */
export function idHash(id: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  return fmix32(h)
}

/**
 * The symmetric score of a pair of members (their idHash values) that Ring.lowestPairScores ranks
 * by: murmur3's finaliser of the XOR, so a's score for b is b's for a.
 */
export function pairScore(a: number, b: number): number {
  return fmix32((a ^ b) >>> 0)
}

/** murmur3's 32-bit finaliser: every input bit flips about half of the output bits. */
function fmix32(x: number): number {
  let h = x
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Packing factor of addAll's sort keys; bounds a ring at 2^21 members (asserted). */
const INDEX_SPAN = 2 ** 21

export class Ring {
  /**
   * Parallel arrays sorted by (hash, id): hashes as doubles (unsigned 32-bit values, stored
   * unboxed) and ids. No per-slot object: at N=1000 a slot costs ~16 B instead of ~56 B.
   */
  private readonly hashes: number[] = []
  private readonly ids: NodeId[] = []
  /** Bumped on every change, so callers can cache what they derived from the ring. */
  version = 0

  get size(): number {
    return this.ids.length
  }

  /** Index of the first slot not before (hash, id). */
  private lowerBound(hash: number, id: NodeId): number {
    let lo = 0
    let hi = this.ids.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const h = this.hashes[mid] as number
      if (h < hash || (h === hash && (this.ids[mid] as NodeId) < id)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  add(id: NodeId, hash: number): void {
    const i = this.lowerBound(hash, id)
    if (this.ids[i] === id) return
    this.hashes.splice(i, 0, hash)
    this.ids.splice(i, 0, id)
    this.version++
  }

  /** Adds many members at once: one sort instead of one O(N) memmove each (a snapshot load). */
  addAll(members: Iterable<{ readonly id: NodeId; readonly hash: number }>): void {
    const ids = this.ids.slice()
    const hashes = this.hashes.slice()
    for (const m of members) {
      ids.push(m.id)
      hashes.push(m.hash)
    }
    const n = ids.length
    assert(n < INDEX_SPAN, () => `ring of ${n} members`)
    // Sort (hash, index) packed into one double (hash < 2^32, index < 2^21: exact below 2^53)
    // with the typed array's numeric sort: no comparator call, no object per slot.
    const keys = new Float64Array(n)
    for (let i = 0; i < n; i++) keys[i] = (hashes[i] as number) * INDEX_SPAN + i
    keys.sort()
    this.ids.length = 0
    this.hashes.length = 0
    const run: NodeId[] = []
    for (let k = 0; k < n; ) {
      const hash = Math.floor((keys[k] as number) / INDEX_SPAN)
      // Slots of one hash (rare beyond one) go in id order; duplicates collapse.
      run.length = 0
      for (; k < n && Math.floor((keys[k] as number) / INDEX_SPAN) === hash; k++) {
        run.push(ids[(keys[k] as number) - hash * INDEX_SPAN] as NodeId)
      }
      if (run.length > 1) run.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      for (const id of run) {
        if (this.ids[this.ids.length - 1] === id && this.hashes[this.hashes.length - 1] === hash) continue
        this.ids.push(id)
        this.hashes.push(hash)
      }
    }
    this.version++
  }

  remove(id: NodeId, hash: number): void {
    const i = this.lowerBound(hash, id)
    if (this.ids[i] === id) {
      this.hashes.splice(i, 1)
      this.ids.splice(i, 1)
      this.version++
    }
  }

  has(id: NodeId, hash: number): boolean {
    return this.ids[this.lowerBound(hash, id)] === id
  }

  /** Up to k members after (hash, id) clockwise, never `id` itself. */
  successors(id: NodeId, hash: number, k: number): NodeId[] {
    return this.walk(id, hash, k, 1)
  }

  /** Up to k members before (hash, id) counter-clockwise: the monitors of `id`. */
  predecessors(id: NodeId, hash: number, k: number): NodeId[] {
    return this.walk(id, hash, k, -1)
  }

  private walk(id: NodeId, hash: number, k: number, dir: 1 | -1): NodeId[] {
    const n = this.ids.length
    const out: NodeId[] = []
    if (n === 0) return out
    const at = this.lowerBound(hash, id)
    const present = this.ids[at] === id
    let i = dir === 1 ? (present ? at + 1 : at) : at - 1
    for (let step = 0; step < n && out.length < k; step++, i += dir) {
      const s = this.ids[((i % n) + n) % n] as NodeId
      if (s !== id) out.push(s)
    }
    return out
  }

  /** A uniformly random member other than those in `exclude` (undefined if none after a few tries). */
  random(rng: Rng, exclude: ReadonlySet<NodeId> | NodeId): NodeId | undefined {
    const n = this.ids.length
    if (n === 0) return undefined
    const excluded = (id: NodeId) => (typeof exclude === 'string' ? id === exclude : exclude.has(id))
    for (let tries = 0; tries < 8; tries++) {
      const s = this.ids[rng.int(n)] as NodeId
      if (!excluded(s)) return s
    }
    for (const s of this.ids) if (!excluded(s)) return s
    return undefined
  }

  /**
   * Up to k members other than `id` whose pair score with `hash` is lowest, lowest first. The
   * score fmix32(hash XOR h) is symmetric (a's score for b is b's for a), so the relation is
   * mostly mutual: when b is among a's lowest, a tends to be among b's. A member joining or
   * leaving changes a node's set only if it ranks among the k: the set is stable as the ring
   * grows (about k·ln(N/k) changes while it fills from k to N members). O(N·k).
   */
  lowestPairScores(id: NodeId, hash: number, k: number): NodeId[] {
    const best: NodeId[] = []
    const scores: number[] = []
    if (k <= 0) return best
    for (let i = 0; i < this.ids.length; i++) {
      const m = this.ids[i] as NodeId
      if (m === id) continue
      const s = pairScore(hash, this.hashes[i] as number)
      if (best.length === k && s >= (scores[k - 1] as number)) continue
      let j = best.length < k ? best.length : k - 1
      while (j > 0 && (scores[j - 1] as number) > s) {
        scores[j] = scores[j - 1] as number
        best[j] = best[j - 1] as NodeId
        j--
      }
      scores[j] = s
      best[j] = m
    }
    return best
  }

  /** The member at position i mod size (for paging from a random start). */
  at(i: number): NodeId | undefined {
    const n = this.ids.length
    return n === 0 ? undefined : this.ids[((i % n) + n) % n]
  }
}
