/**
 * A tiny deterministic network for scripted membership scenarios (tests only): fixed one-way
 * latency, optional drop rules, crash and pause. Time is virtual; nothing sleeps.
 */
import type { NodeId } from '../sans-io.js'
import type { MembershipEvent } from '../trace/events.js'
import { createRng } from '../util/rng.js'
import { simSigner } from './claim.js'
import { lanConfig, type MembershipConfig } from './config.js'
import { Membership } from './membership.js'

interface InFlight {
  readonly atMs: number
  readonly from: NodeId
  readonly to: NodeId
  readonly type: string
  readonly bytes: Uint8Array
}

export interface Recorded {
  readonly atMs: number
  readonly event: MembershipEvent
}

export class TestNet {
  nowMs = 0
  readonly nodes = new Map<NodeId, Membership>()
  readonly events: Recorded[] = []
  readonly sent: { atMs: number; from: NodeId; to: NodeId; type: string; bytes: number }[] = []
  private inFlight: InFlight[] = []
  private readonly down = new Set<NodeId>()
  private readonly pausedUntil = new Map<NodeId, number>()
  private readonly pausedFrom = new Map<NodeId, number>()
  /** Return true to drop a message. */
  drop: (m: { from: NodeId; to: NodeId; type: string }) => boolean = () => false
  private seed = 1

  constructor(
    readonly latencyMs = 1,
    readonly config: () => MembershipConfig = lanConfig,
  ) {}

  add(id: NodeId, bootEpoch = 1): Membership {
    const m = new Membership(
      { id, bootEpoch, rng: createRng(this.seed++), config: this.config(), signer: simSigner() },
      this.nowMs,
    )
    this.nodes.set(id, m)
    this.down.delete(id)
    return m
  }

  node(id: NodeId): Membership {
    const m = this.nodes.get(id)
    if (!m) throw new Error(`no node ${id}`)
    return m
  }

  crash(id: NodeId): void {
    this.down.add(id)
  }

  pause(id: NodeId, ms: number): void {
    this.pausedUntil.set(id, this.nowMs + ms)
    this.pausedFrom.set(id, this.nowMs)
  }

  /** Everything that machine produced so far goes out (persist is empty for membership). */
  flush(id: NodeId): void {
    const m = this.node(id)
    const r = m.drain()
    for (const e of r.events) this.events.push({ atMs: this.nowMs, event: e })
    if (this.down.has(id)) return
    for (const o of r.send) {
      this.sent.push({ atMs: this.nowMs, from: id, to: o.to, type: o.type, bytes: o.bytes.length })
      if (this.drop({ from: id, to: o.to, type: o.type })) continue
      this.inFlight.push({
        atMs: this.nowMs + this.latencyMs,
        from: id,
        to: o.to,
        type: o.type,
        bytes: o.bytes,
      })
    }
  }

  private live(id: NodeId): boolean {
    return !this.down.has(id) && (this.pausedUntil.get(id) ?? 0) <= this.nowMs
  }

  /** Runs until untilMs: deliveries and ticks in time order. */
  run(untilMs: number): void {
    for (const id of this.nodes.keys()) this.flush(id)
    for (let steps = 0; steps < 10_000_000; steps++) {
      let next = untilMs
      for (const f of this.inFlight) next = Math.min(next, Math.max(f.atMs, this.pausedUntil.get(f.to) ?? 0))
      for (const [id, m] of this.nodes) {
        if (this.down.has(id)) continue
        const p = this.pausedUntil.get(id)
        next = Math.min(next, p !== undefined && p > this.nowMs ? p : m.nextTickAtMs())
      }
      if (next > untilMs) next = untilMs
      this.nowMs = Math.max(this.nowMs, next)
      // Resume paused nodes: tell them how long they stalled.
      for (const [id, p] of this.pausedUntil) {
        if (p <= this.nowMs) {
          this.pausedUntil.delete(id)
          if (!this.down.has(id)) {
            this.node(id).notePause?.(p - (this.pausedFrom.get(id) ?? p), this.nowMs)
          }
        }
      }
      const due = this.inFlight.filter((f) => f.atMs <= this.nowMs)
      // A paused node's inbox fills up and is read when it resumes; a crashed node's is lost.
      this.inFlight = this.inFlight.filter(
        (f) => f.atMs > this.nowMs || (!this.live(f.to) && !this.down.has(f.to)),
      )
      for (const f of due) {
        if (!this.live(f.to)) continue
        const m = this.nodes.get(f.to)
        if (!m) continue
        m.receive(f.from, 'membership', f.bytes, this.nowMs)
        this.flush(f.to)
      }
      for (const [id, m] of this.nodes) {
        if (!this.live(id)) continue
        if (m.nextTickAtMs() <= this.nowMs) {
          m.tick(this.nowMs)
          this.flush(id)
        }
      }
      if (this.nowMs >= untilMs) return
    }
    throw new Error('TestNet.run: step bound reached (a machine keeps asking for ticks in the past?)')
  }

  /** Events of a kind, optionally filtered. */
  find<K extends MembershipEvent['kind']>(
    kind: K,
    pred: (e: Extract<MembershipEvent, { kind: K }>) => boolean = () => true,
  ): { atMs: number; event: Extract<MembershipEvent, { kind: K }> }[] {
    return this.events.filter(
      (r): r is { atMs: number; event: Extract<MembershipEvent, { kind: K }> } =>
        r.event.kind === kind && pred(r.event as Extract<MembershipEvent, { kind: K }>),
    )
  }
}

/** Ids shaped a little like peer ids, distinct and stable. */
export function testIds(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => `12D3KooWtest${String(i).padStart(4, '0')}`)
}

/** Starts n nodes, all joining through the first, and runs until they converged (or untilMs). */
export function cluster(n: number, untilMs = 3000, config: () => MembershipConfig = lanConfig): TestNet {
  const net = new TestNet(1, config)
  const ids = testIds(n)
  for (const id of ids) net.add(id)
  const seed = ids[0] as NodeId
  for (const id of ids) net.node(id).join(id === seed ? [] : [seed], 0)
  net.run(untilMs)
  return net
}
