/**
 * The part of the Membership contract (owner: membership engineer) that the election layers
 * use. ConclaveMachine codes against this shape so it compiles before and after `Membership`
 * lands; the real class satisfies it structurally.
 */
import type { Machine, NodeId } from '../sans-io.js'
import type { MemberState, MembershipEvent } from '../trace/events.js'
import type { RejectionCounter } from '../wire/errors.js'

export interface MemberMetaPort {
  priority: number
  shard: number | null
  roles: string[]
  addrs: string[]
  version: number
}

export interface MemberViewPort {
  id: NodeId
  state: MemberState
  incarnation: number
  bootEpoch: number
  meta: MemberMetaPort
  stateSinceMs: number
}

export interface MembershipPort extends Machine<MembershipEvent> {
  join(seeds: NodeId[], nowMs: number): void
  leave(nowMs: number): void
  setMeta(patch: Partial<Omit<MemberMetaPort, 'version'>>, nowMs: number): void
  member(id: NodeId): MemberViewPort | undefined
  members(): Iterable<MemberViewPort>
  aliveCount(): number
  health(): number
  readonly rejections: RejectionCounter
}
