/**
 * Message and byte accounting: per node, per `layer/type`, what was sent and what was received,
 * plus what the network dropped and why. Sent counts every message a node handed to the network
 * (even if the network then lost it); received counts what was delivered to its machine.
 */
import type { NodeId } from '@conclave/core'

export interface Traffic {
  sentMsgs: number
  sentBytes: number
  recvMsgs: number
  recvBytes: number
}

export interface NodeTraffic extends Traffic {
  /** Keyed by `${layer}/${type}`. */
  readonly byType: Map<string, Traffic>
  /** The same counters by key index (`Accounting.key`), for the per-message path. */
  readonly byKey: Array<Traffic | undefined>
}

export type DropReason = 'loss' | 'partition' | 'down' | 'restarted' | 'inbox-full'

/** Node indices stay below this (pair keys are exact doubles: index² < 2^53). */
const DIAL_INDEX_SPAN = 1 << 24

/** Pairs tracked at most (a Set of 1 M numbers is ≈ 50 MB): beyond, dialsUncounted. */
const DIAL_PAIRS_MAX = 1_000_000

export function emptyTraffic(): Traffic {
  return { sentMsgs: 0, sentBytes: 0, recvMsgs: 0, recvBytes: 0 }
}

export class Accounting {
  readonly perNode = new Map<NodeId, NodeTraffic>()
  readonly dropped: Record<DropReason, number> = {
    loss: 0,
    partition: 0,
    down: 0,
    restarted: 0,
    'inbox-full': 0,
  }
  private readonly keys = new Map<string, Map<string, number>>()
  /** `layer/type` by key index. */
  private readonly keyNames: string[] = []

  node(id: NodeId): NodeTraffic {
    let t = this.perNode.get(id)
    if (t === undefined) {
      t = { ...emptyTraffic(), byType: new Map(), byKey: [] }
      this.perNode.set(id, t)
    }
    return t
  }

  /**
   * The index of `layer/type` (interned: no string is built and no per-node map is searched per
   * message on the hot path). Bounded by the message types the machines have.
   */
  key(layer: string, type: string): number {
    let types = this.keys.get(layer)
    if (types === undefined) {
      types = new Map()
      this.keys.set(layer, types)
    }
    let key = types.get(type)
    if (key === undefined) {
      key = this.keyNames.length
      this.keyNames.push(`${layer}/${type}`)
      types.set(type, key)
    }
    return key
  }

  sent(t: NodeTraffic, key: number, bytes: number): void {
    t.sentMsgs++
    t.sentBytes += bytes
    const k = t.byKey[key] ?? this.typeEntry(t, key)
    k.sentMsgs++
    k.sentBytes += bytes
  }

  received(t: NodeTraffic, key: number, bytes: number): void {
    t.recvMsgs++
    t.recvBytes += bytes
    const k = t.byKey[key] ?? this.typeEntry(t, key)
    k.recvMsgs++
    k.recvBytes += bytes
  }

  private typeEntry(t: NodeTraffic, key: number): Traffic {
    const name = this.keyNames[key] as string
    let k = t.byType.get(name)
    if (k === undefined) {
      k = emptyTraffic()
      t.byType.set(name, k)
    }
    t.byKey[key] = k
    return k
  }

  drop(reason: DropReason): void {
    this.dropped[reason]++
  }

  /**
   * Dials, as a real node would make them: the first message between two nodes (either way)
   * opens their connection, which then carries both directions. `trackDials(true)` starts
   * counting (from no connection at all), `trackDials(false)` stops and forgets the pairs (the
   * counts stay until the next start); the count is per `layer/type` of that first message. Off
   * by default: its set of pairs is N².
   */
  trackDials(on: boolean): void {
    this.dialPairs = on ? new Set() : undefined
    if (on) {
      this.dialsByKey = []
      this.dialsUncounted = 0
    }
  }

  /** A message from node index `a` to node index `b` (Simulation.send, only while tracking). */
  noteSend(a: number, b: number, key: number): void {
    const pairs = this.dialPairs
    if (pairs === undefined) return
    const pair = a < b ? a * DIAL_INDEX_SPAN + b : b * DIAL_INDEX_SPAN + a
    if (pairs.has(pair)) return
    if (pairs.size >= DIAL_PAIRS_MAX) {
      this.dialsUncounted++
      return
    }
    pairs.add(pair)
    this.dialsByKey[key] = (this.dialsByKey[key] ?? 0) + 1
  }

  get isTrackingDials(): boolean {
    return this.dialPairs !== undefined
  }

  /** Dials since trackDials(true), per `layer/type` of the message that made them. */
  dials(): Map<string, number> {
    const out = new Map<string, number>()
    this.dialsByKey.forEach((n, key) => {
      if (n > 0) out.set(this.keyNames[key] as string, n)
    })
    return new Map([...out].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
  }

  /** Messages between pairs not counted because DIAL_PAIRS_MAX pairs were held (an upper bound on missed dials). */
  dialsUncounted = 0
  private dialPairs: Set<number> | undefined
  private dialsByKey: number[] = []

  /** Totals per node (without the per-type breakdown), to diff two moments of a run. */
  snapshot(): Map<NodeId, Traffic> {
    const out = new Map<NodeId, Traffic>()
    for (const [id, t] of this.perNode) {
      out.set(id, {
        sentMsgs: t.sentMsgs,
        sentBytes: t.sentBytes,
        recvMsgs: t.recvMsgs,
        recvBytes: t.recvBytes,
      })
    }
    return out
  }

  /** Whole-run totals per `layer/type`, over all nodes. */
  byType(): Map<string, Traffic> {
    const out = new Map<string, Traffic>()
    for (const t of this.perNode.values()) {
      for (const [key, k] of t.byType) {
        const sum = out.get(key) ?? emptyTraffic()
        sum.sentMsgs += k.sentMsgs
        sum.sentBytes += k.sentBytes
        sum.recvMsgs += k.recvMsgs
        sum.recvBytes += k.recvBytes
        out.set(key, sum)
      }
    }
    return new Map([...out].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
  }
}
