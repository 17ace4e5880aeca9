/**
 * When was a node legitimately unreachable? From the fault log: crashed (until restart), paused
 * (until resume), or on either side of a partition (until heal), plus — from the trace — after it
 * announced that it left. Membership checkers excuse suspicions and deaths of a node that was
 * impaired at any time in the `graceMs` before the accusation (news takes time to spread and to
 * be corrected).
 */
import type { NodeId } from '@conclave/core'
import type { FaultRecord, TraceRecord } from '../trace.js'

export interface Interval {
  readonly fromMs: number
  toMs: number
}

export class Impairments {
  private readonly byNode = new Map<NodeId, Interval[]>()

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
          break
        case 'heal':
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

  /** Was the node impaired at any moment of [fromMs, toMs]? */
  impairedDuring(node: NodeId, fromMs: number, toMs: number): boolean {
    const list = this.byNode.get(node)
    if (list === undefined) return false
    for (const iv of list) if (iv.fromMs <= toMs && iv.toMs >= fromMs) return true
    return false
  }
}
