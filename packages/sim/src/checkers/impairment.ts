/**
 * When was a node legitimately unreachable? From the fault log: crashed (until restart), paused
 * (until resume), or on either side of a partition (until heal), plus — from the trace — after it
 * announced that it left. And which pairs of nodes were cut off from each other (`separated`):
 * on opposite sides of a partition, in either direction. Membership checkers excuse an
 * accusation when the accused was down, paused or gone, or cut off from its accuser, at any time
 * in the `graceMs` before it (timers started before a fault ends still fire after it).
 */
import type { NodeId } from '@conclave/core'
import type { FaultRecord, TraceRecord } from '../trace.js'

export interface Interval {
  readonly fromMs: number
  toMs: number
}

interface Cut extends Interval {
  readonly a: ReadonlySet<NodeId>
  readonly b: ReadonlySet<NodeId>
}

export class Impairments {
  private readonly byNode = new Map<NodeId, Interval[]>()
  /** The same intervals without partitions: down, paused or left. */
  private readonly downByNode = new Map<NodeId, Interval[]>()
  private readonly cuts: Cut[] = []

  constructor(faults: readonly FaultRecord[], trace: readonly TraceRecord[] = []) {
    const open = new Map<string, Interval>()
    const begin = (node: NodeId, why: string, atMs: number) => {
      const key = `${why}|${node}`
      if (open.has(key)) return
      const iv: Interval = { fromMs: atMs, toMs: Number.POSITIVE_INFINITY }
      open.set(key, iv)
      const list = this.byNode.get(node) ?? []
      list.push(iv)
      this.byNode.set(node, list)
      if (why !== 'partitioned') {
        const down = this.downByNode.get(node) ?? []
        down.push(iv)
        this.downByNode.set(node, down)
      }
    }
    const end = (node: NodeId, why: string, atMs: number) => {
      const key = `${why}|${node}`
      const iv = open.get(key)
      if (iv === undefined) return
      iv.toMs = atMs
      open.delete(key)
    }
    for (const f of faults) {
      switch (f.kind) {
        case 'crash':
          if (f.node !== undefined) begin(f.node, 'down', f.trueMs)
          break
        case 'restart':
          if (f.node !== undefined) end(f.node, 'down', f.trueMs)
          break
        case 'pause':
          if (f.node !== undefined) begin(f.node, 'paused', f.trueMs)
          break
        case 'resume':
          if (f.node !== undefined) end(f.node, 'paused', f.trueMs)
          break
        case 'partition':
          for (const n of [...(f.groupA ?? []), ...(f.groupB ?? [])]) begin(n, 'partitioned', f.trueMs)
          this.cuts.push({
            fromMs: f.trueMs,
            toMs: Number.POSITIVE_INFINITY,
            a: new Set(f.groupA ?? []),
            b: new Set(f.groupB ?? []),
          })
          break
        case 'heal':
          for (const c of this.cuts) if (c.toMs === Number.POSITIVE_INFINITY) c.toMs = f.trueMs
          for (const key of [...open.keys()]) {
            if (key.startsWith('partitioned|')) end(key.slice('partitioned|'.length), 'partitioned', f.trueMs)
          }
          break
        default:
          break
      }
    }
    // Only a node itself can announce that it left; from then on it is gone for good.
    for (const r of trace) {
      const e = r.event
      if (e.kind === 'member:state' && e.state === 'left') begin(e.member, 'left', r.trueMs)
    }
  }

  /** Was the node impaired (down, paused, left, or on either side of a partition) at any moment of [fromMs, toMs]? */
  impairedDuring(node: NodeId, fromMs: number, toMs: number): boolean {
    return overlaps(this.byNode.get(node), fromMs, toMs)
  }

  /** Was the node down, paused or gone (partitions aside) at any moment of [fromMs, toMs]? */
  downDuring(node: NodeId, fromMs: number, toMs: number): boolean {
    return overlaps(this.downByNode.get(node), fromMs, toMs)
  }

  /** Were x and y on opposite sides of a partition (either direction) at any moment of [fromMs, toMs]? */
  separated(x: NodeId, y: NodeId, fromMs: number, toMs: number): boolean {
    for (const c of this.cuts) {
      if (c.fromMs > toMs || c.toMs < fromMs) continue
      if ((c.a.has(x) && c.b.has(y)) || (c.b.has(x) && c.a.has(y))) return true
    }
    return false
  }
}

function overlaps(list: readonly Interval[] | undefined, fromMs: number, toMs: number): boolean {
  if (list === undefined) return false
  for (const iv of list) if (iv.fromMs <= toMs && iv.toMs >= fromMs) return true
  return false
}
