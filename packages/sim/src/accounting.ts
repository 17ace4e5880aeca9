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
