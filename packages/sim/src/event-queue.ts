/**
 * The simulator's agenda: a binary min-heap of entries keyed by (atMs, seq).
 *
 * Guarantees: entries come out in true-time order, and entries due at the same instant come out
 * in the order they were pushed (seq is a strictly increasing insertion counter). That total
 * order is what makes a run replayable: no ordering ever depends on object identity, hash-map
 * iteration or the wall clock.
 */

export interface QueueEntry {
  /** True (simulated) time at which the entry is due, in ms. */
  atMs: number
  /** Insertion order; assigned by the queue. */
  seq: number
}

export class EventQueue<T extends QueueEntry> {
  private readonly heap: T[] = []
  private seqNext = 0

  get size(): number {
    return this.heap.length
  }

  push(entry: T): void {
    entry.seq = this.seqNext++
    const heap = this.heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = heap[parent] as T
      if (!before(entry, p)) break
      heap[i] = p
      i = parent
    }
    heap[i] = entry
  }

  peek(): T | undefined {
    return this.heap[0]
  }

  pop(): T | undefined {
    const heap = this.heap
    const top = heap[0]
    if (top === undefined) return undefined
    const last = heap.pop() as T
    if (heap.length === 0) return top
    // Sift `last` down from the root.
    let i = 0
    const n = heap.length
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      let c = l
      if (r < n && before(heap[r] as T, heap[l] as T)) c = r
      const child = heap[c] as T
      if (!before(child, last)) break
      heap[i] = child
      i = c
    }
    heap[i] = last
    return top
  }
}

function before(a: QueueEntry, b: QueueEntry): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq)
}
