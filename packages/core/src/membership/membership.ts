/**
 * SWIM + Lifeguard membership (API skeleton; behaviour lands in the following commits).
 */
import type { Layer, Machine, NodeId, Ready } from '../sans-io.js'
import { emptyReady } from '../sans-io.js'
import type { MembershipEvent } from '../trace/events.js'
import { RejectionCounter } from '../wire/errors.js'
import { validateConfig } from './config.js'
import type { MemberMeta, MemberMetaInput, MembershipInit, MemberView } from './types.js'

export class Membership implements Machine<MembershipEvent> {
  readonly id: NodeId
  readonly rejections = new RejectionCounter()
  private out = emptyReady<MembershipEvent>()
  private readonly self: { -readonly [K in keyof MemberView]: MemberView[K] }

  constructor(
    private readonly init: MembershipInit,
    nowMs: number,
  ) {
    validateConfig(init.config)
    this.id = init.id
    const meta: MemberMeta = { priority: 0, shard: null, roles: [], addrs: [], version: 0, ...init.meta }
    this.self = {
      id: init.id,
      state: 'alive',
      incarnation: 0,
      bootEpoch: init.bootEpoch,
      meta,
      stateSinceMs: nowMs,
    }
  }

  join(_seeds: NodeId[], _nowMs: number): void {}
  leave(_nowMs: number): void {}
  setMeta(patch: Partial<MemberMetaInput>, _nowMs: number): void {
    this.self.meta = { ...this.self.meta, ...patch, version: this.self.meta.version + 1 }
  }
  notePause(_durationMs: number, _nowMs: number): void {}
  member(id: NodeId): MemberView | undefined {
    return id === this.id ? this.self : undefined
  }
  *members(): Iterable<MemberView> {
    yield this.self
  }
  aliveCount(): number {
    return 1
  }
  health(): number {
    return 0
  }
  tick(_nowMs: number): void {}
  receive(_from: NodeId, _layer: Layer, _bytes: Uint8Array, _nowMs: number): void {}
  nextTickAtMs(): number {
    return Number.POSITIVE_INFINITY
  }
  drain(): Ready<MembershipEvent> {
    const r = this.out
    this.out = emptyReady()
    return r
  }
}
