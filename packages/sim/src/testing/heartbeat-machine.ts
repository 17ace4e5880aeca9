/**
 * A deliberately small failure detector for testing the simulator itself (and for the
 * simulator's users to test harnesses) without the real membership protocol: every node sends
 * a heartbeat to every peer each `intervalMs`, and reports a peer suspect after `suspectAfterMs`
 * of silence and dead after `deadAfterMs`. A peer's incarnation is its boot epoch, so a restart
 * is a new incarnation. It persists its boot count (to exercise persist-before-send and restart),
 * encodes real bytes with the core Writer/Reader, and counts malformed frames.
 *
 * `reviveWithoutIncarnation` breaks invariant 7 on purpose, to show that the checker catches it.
 */
import {
  type Layer,
  type Machine,
  type MembershipEvent,
  type NodeId,
  Reader,
  type Ready,
  RejectionCounter,
  type Rng,
  WireError,
  Writer,
} from '@conclave/core'
import type { NodeContext } from '../simulation.js'

export interface HeartbeatConfig {
  intervalMs: number
  suspectAfterMs: number
  deadAfterMs: number
  /** Test-only bug switch: a dead peer comes back alive at the same incarnation. */
  reviveWithoutIncarnation?: boolean
}

export const heartbeatDefaults: HeartbeatConfig = { intervalMs: 100, suspectAfterMs: 350, deadAfterMs: 1000 }

interface PeerView {
  lastHeardMs: number
  incarnation: number
  state: 'alive' | 'suspect' | 'dead'
}

export class HeartbeatMachine implements Machine<MembershipEvent> {
  readonly rejections = new RejectionCounter()
  pausesNoted = 0
  private readonly peers = new Map<NodeId, PeerView>()
  private nextBeatMs: number
  private out: { persist: Ready['persist']; send: Ready['send']; events: MembershipEvent[] } = {
    persist: [],
    send: [],
    events: [],
  }

  constructor(
    readonly id: NodeId,
    peers: readonly NodeId[],
    private readonly bootEpoch: number,
    private readonly rng: Rng,
    nowMs: number,
    private readonly config: HeartbeatConfig = heartbeatDefaults,
  ) {
    for (const p of peers)
      if (p !== id) this.peers.set(p, { lastHeardMs: nowMs, incarnation: 0, state: 'alive' })
    // Spread the first beat so nodes do not all beat in lockstep.
    this.nextBeatMs = nowMs + rng.int(config.intervalMs)
    this.out.persist.push({ key: 'hb/boots', value: Uint8Array.of(bootEpoch + 1) })
  }

  static factory(peers: readonly NodeId[], config?: HeartbeatConfig) {
    return (ctx: NodeContext) =>
      new HeartbeatMachine(ctx.id, peers, ctx.bootEpoch, ctx.rng, ctx.nowMs, config)
  }

  tick(nowMs: number): void {
    if (nowMs >= this.nextBeatMs) {
      const bytes = new Writer(64).u8(1).varint(this.bootEpoch).finish()
      for (const p of this.peers.keys())
        this.out.send.push({ to: p, layer: 'membership', type: 'beat', bytes })
      this.nextBeatMs = nowMs + this.config.intervalMs
    }
    for (const [p, v] of this.peers) {
      // Compare against the same sums nextTickAtMs() returns (a + b - a may be below b in floats).
      if (v.state === 'alive' && nowMs >= v.lastHeardMs + this.config.suspectAfterMs)
        this.setState(p, v, 'suspect', nowMs)
      if (v.state === 'suspect' && nowMs >= v.lastHeardMs + this.config.deadAfterMs)
        this.setState(p, v, 'dead', nowMs)
    }
  }

  receive(from: NodeId, _layer: Layer, bytes: Uint8Array, nowMs: number): void {
    let incarnation: number
    try {
      const r = new Reader(bytes)
      if (r.u8() !== 1) throw new WireError('unknown-type', 'not a beat')
      incarnation = r.varint()
      r.end()
    } catch (err) {
      if (!(err instanceof WireError)) throw err
      this.rejections.add(err.code)
      this.out.events.push({ kind: 'wire:reject', node: this.id, atMs: nowMs, from, code: err.code })
      return
    }
    const v = this.peers.get(from)
    if (v === undefined) return
    v.lastHeardMs = nowMs
    if (v.state === 'dead' && incarnation <= v.incarnation && !this.config.reviveWithoutIncarnation) return
    v.incarnation = Math.max(v.incarnation, incarnation)
    if (v.state !== 'alive') this.setState(from, v, 'alive', nowMs)
  }

  nextTickAtMs(): number {
    let next = this.nextBeatMs
    for (const v of this.peers.values()) {
      if (v.state === 'alive') next = Math.min(next, v.lastHeardMs + this.config.suspectAfterMs)
      else if (v.state === 'suspect') next = Math.min(next, v.lastHeardMs + this.config.deadAfterMs)
    }
    return next
  }

  drain(): Ready<MembershipEvent> {
    const ready = this.out
    this.out = { persist: [], send: [], events: [] }
    return ready
  }

  notePause(_durationMs: number, _nowMs: number): void {
    this.pausesNoted++
  }

  stateOf(peer: NodeId): PeerView['state'] | undefined {
    return this.peers.get(peer)?.state
  }

  private setState(peer: NodeId, v: PeerView, state: PeerView['state'], nowMs: number): void {
    v.state = state
    this.out.events.push({
      kind: 'member:state',
      node: this.id,
      atMs: nowMs,
      member: peer,
      state,
      incarnation: v.incarnation,
      via: this.id,
    })
  }
}
