/**
 * The simulator's agenda: a binary min-heap of entries keyed by (atMs, seq).
 *
 * Guarantees: entries come out in true-time order, and entries due at the same instant come out
 * in the order they were pushed (seq is a strictly increasing insertion counter). That total
 * order is what makes a run replayable: no ordering ever depends on object identity, hash-map
 * iteration or the wall clock.
 *
 * An entry knows its heap slot while it is queued, so it can be moved (`reschedule`, which
 * counts as a fresh push: new seq) or taken out (`remove`) in O(log n) instead of being left in
 * the heap as a stale entry for the consumer to skip. The simulator keeps one timer entry per
 * node this way.
 */

export interface QueueEntry {
  /** True (simulated) time at which the entry is due, in ms. */
  atMs: number
  /** Insertion order; assigned by the queue. */
  seq: number
  /** Heap slot while queued, -1 otherwise; kept by the queue (start it at -1). */
  slot: number
}

export class EventQueue<T extends QueueEntry> {
  private readonly heap: T[] = []
  private seqNext = 0

  get size(): number {
    return this.heap.length
  }

  /** Queues `entry` (which must not be queued already). */
  push(entry: T): void {
    entry.seq = this.seqNext++
    const heap = this.heap
    heap.push(entry)
    this.up(entry, heap.length - 1)
  }

  /**
   * Queues `entry` at atMs as if pushed now (a fresh seq), moving it if it is queued already.
   */
  reschedule(entry: T, atMs: number): void {
    if (entry.slot < 0) {
      entry.atMs = atMs
      this.push(entry)
      return
    }
    const earlier = atMs < entry.atMs
    entry.atMs = atMs
    entry.seq = this.seqNext++
    // A fresh seq puts the entry after others due at the same time: only an earlier time moves it up.
    if (earlier) this.up(entry, entry.slot)
    else this.down(entry, entry.slot)
  }

  /** Takes `entry` out of the queue if it is queued. */
  remove(entry: T): void {
    const i = entry.slot
    if (i < 0) return
    entry.slot = -1
    const heap = this.heap
    const last = heap.pop() as T
    if (last === entry) return
    heap[i] = last
    last.slot = i
    if (i > 0 && before(last, heap[(i - 1) >> 1] as T)) this.up(last, i)
    else this.down(last, i)
  }

  peek(): T | undefined {
    return this.heap[0]
  }

  pop(): T | undefined {
    const heap = this.heap
    const top = heap[0]
    if (top === undefined) return undefined
    top.slot = -1
    const last = heap.pop() as T
    if (heap.length > 0) this.down(last, 0)
    return top
  }

  /** Puts `entry` at slot i or above it. */
  private up(entry: T, i: number): void {
    const heap = this.heap
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = heap[parent] as T
      if (!before(entry, p)) break
      heap[i] = p
      p.slot = i
      i = parent
    }
    heap[i] = entry
    entry.slot = i
  }

  /** Puts `entry` at slot i or below it. */
  private down(entry: T, i: number): void {
    const heap = this.heap
    const n = heap.length
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      let c = l
      if (r < n && before(heap[r] as T, heap[l] as T)) c = r
      const child = heap[c] as T
      if (!before(child, entry)) break
      heap[i] = child
      child.slot = i
      i = c
    }
    heap[i] = entry
    entry.slot = i
  }
}

function before(a: QueueEntry, b: QueueEntry): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq)
}
