/**
 * The monitoring ring: live members (alive or suspect, this node included) sorted by a hash of
 * their id. Each node probes its K successors and is probed by its K predecessors, so every
 * member has K monitors, probes are spread evenly (each node receives about one per interval)
 * and connections stay few and long-lived (DESIGN.md: "monitors a few subjects over persistent
 * connections"). Views differ a little between nodes while news spreads; gossip to all and
 * anti-entropy cover the gaps. Lookups are O(log N); insert/remove O(N) memmove.
 */
import type { NodeId } from '../sans-io.js'
import type { Rng } from '../util/rng.js'

/** FNV-1a 32 over UTF-16 code units, then a murmur3 finaliser (ids share long prefixes). */
export function idHash(id: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

interface Slot {
  readonly hash: number
  readonly id: NodeId
}

function before(a: Slot, hash: number, id: NodeId): boolean {
  return a.hash < hash || (a.hash === hash && a.id < id)
}

export class Ring {
  private readonly slots: Slot[] = []
  /** Bumped on every change, so callers can cache what they derived from the ring. */
  version = 0

  get size(): number {
    return this.slots.length
  }

  /** Index of the first slot not before (hash, id). */
  private lowerBound(hash: number, id: NodeId): number {
    let lo = 0
    let hi = this.slots.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (before(this.slots[mid] as Slot, hash, id)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  add(id: NodeId, hash: number): void {
    const i = this.lowerBound(hash, id)
    const s = this.slots[i]
    if (s && s.id === id) return
    this.slots.splice(i, 0, { hash, id })
    this.version++
  }

  remove(id: NodeId, hash: number): void {
    const i = this.lowerBound(hash, id)
    if (this.slots[i]?.id === id) {
      this.slots.splice(i, 1)
      this.version++
    }
  }

  has(id: NodeId, hash: number): boolean {
    return this.slots[this.lowerBound(hash, id)]?.id === id
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
    const n = this.slots.length
    const out: NodeId[] = []
    if (n === 0) return out
    const at = this.lowerBound(hash, id)
    const present = this.slots[at]?.id === id
    // Clockwise starts after `id` (or at the insertion point); counter-clockwise just before it.
    let i = dir === 1 ? (present ? at + 1 : at) : at - 1
    for (let step = 0; step < n && out.length < k; step++, i += dir) {
      const s = this.slots[((i % n) + n) % n] as Slot
      if (s.id !== id) out.push(s.id)
    }
    return out
  }

  /** A uniformly random member other than those in `exclude` (undefined if none after a few tries). */
  random(rng: Rng, exclude: ReadonlySet<NodeId> | NodeId): NodeId | undefined {
    const n = this.slots.length
    if (n === 0) return undefined
    const excluded = (id: NodeId) => (typeof exclude === 'string' ? id === exclude : exclude.has(id))
    for (let tries = 0; tries < 8; tries++) {
      const s = this.slots[rng.int(n)] as Slot
      if (!excluded(s.id)) return s.id
    }
    for (const s of this.slots) if (!excluded(s.id)) return s.id
    return undefined
  }

  /** The member at position i mod size (for paging from a random start). */
  at(i: number): NodeId | undefined {
    const n = this.slots.length
    return n === 0 ? undefined : this.slots[((i % n) + n) % n]?.id
  }
}
