/**
 * The bounded queue of updates waiting to be gossiped (SWIM §4.1 "infection-style
 * dissemination", memberlist's TransmitLimitedQueue).
 *
 * Guarantees: at most one pending update per member (a newer one replaces it); frames are filled
 * with the least-transmitted updates first; an update is sent at most `limit` times (the caller
 * passes λ·ceil(log10(N + 1))); at most `itemsMax` updates are held, and on overflow the most
 * transmitted one is dropped (anti-entropy repairs what it would have told). Each update also
 * carries how many of its sends may go in dedicated gossip frames (`framesMax`: the rest ride on
 * probes). Taking is O(items visited), never a sort.
 */
import { assert } from '../util/assert.js'

interface Item {
  readonly key: string
  readonly bytes: Uint8Array
  /** Sends allowed in dedicated gossip frames (take with `frames`); piggyback is not limited by it. */
  readonly framesMax: number
  sent: number
}

export class BroadcastQueue {
  private readonly byKey = new Map<string, Item>()
  /** tiers[t] holds the items sent exactly t times, in insertion order. */
  private readonly tiers: Set<Item>[] = []

  constructor(private readonly itemsMax: number) {
    assert(itemsMax >= 1, 'broadcast queue needs room for one item')
  }

  get size(): number {
    return this.byKey.size
  }

  /**
   * Queues `bytes` as the pending update about `key`, replacing any older one; at most
   * `framesMax` of its sends go in dedicated gossip frames.
   */
  enqueue(key: string, bytes: Uint8Array, framesMax = Number.POSITIVE_INFINITY): void {
    const old = this.byKey.get(key)
    if (old) this.remove(old)
    if (this.byKey.size >= this.itemsMax) this.dropMostSent()
    const item: Item = { key, bytes, framesMax, sent: 0 }
    this.byKey.set(key, item)
    this.tier(0).add(item)
  }

  has(key: string): boolean {
    return this.byKey.has(key)
  }

  /**
   * Takes the least-sent updates that fit in roomBytes (at most countMax), counts one
   * transmission for each, and forgets those that reached `limit`. For a dedicated gossip frame
   * (`frames`) only updates sent fewer than their `framesMax` times are eligible (gossip frames
   * stop early; piggyback takes the rest).
   */
  take(roomBytes: number, countMax: number, limit: number, frames = false): Uint8Array[] {
    const chosen: Item[] = []
    let used = 0
    let misses = 0 // a frame nearly full of similar-sized updates: stop looking after a few misses
    // Piggyback takes only updates sent fewer than `limit` times so far (the limit falls with N).
    const tiers = frames ? this.tiers.length : Math.min(this.tiers.length, limit)
    outer: for (let t = 0; t < tiers; t++) {
      const tier = this.tiers[t]
      if (!tier) continue
      for (const item of tier) {
        if (chosen.length >= countMax || roomBytes - used < 16) break outer
        if (frames && item.sent >= item.framesMax) continue
        if (item.bytes.length <= roomBytes - used) {
          chosen.push(item)
          used += item.bytes.length
        } else if (++misses >= 8) break outer
      }
    }
    const out: Uint8Array[] = []
    for (const item of chosen) {
      out.push(item.bytes)
      this.tiers[item.sent]?.delete(item)
      item.sent++
      if (item.sent >= limit) this.byKey.delete(item.key)
      else this.tier(item.sent).add(item)
    }
    return out
  }

  private tier(t: number): Set<Item> {
    let s = this.tiers[t]
    while (this.tiers.length <= t) this.tiers.push(new Set())
    s = this.tiers[t] as Set<Item>
    return s
  }

  private remove(item: Item): void {
    this.tiers[item.sent]?.delete(item)
    this.byKey.delete(item.key)
  }

  private dropMostSent(): void {
    for (let t = this.tiers.length - 1; t >= 0; t--) {
      const tier = this.tiers[t]
      if (!tier || tier.size === 0) continue
      const first = tier.values().next().value as Item
      this.remove(first)
      return
    }
  }
}
