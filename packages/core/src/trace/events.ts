/**
 * The one typed event trace. State machines emit these; logs, metrics, the simulator's
 * invariant checkers and the inspector all read them, and nothing recomputes what the trace
 * says. Every event carries the emitting node and its local time; the simulator adds true time.
 *
 * Layers add their events here as a discriminated union on `kind` (colon names, js-libp2p
 * style). Keep them small: the simulator keeps a whole 1000-node trace in memory.
 */
import type { NodeId } from '../sans-io.js'

interface Base {
  /** The node that emitted the event. */
  readonly node: NodeId
  /** The emitting node's own clock, in ms. */
  readonly atMs: number
}

/** SWIM member states (SWIM §4.2 plus memberlist's `left`). */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'

export interface MemberStateEvent extends Base {
  readonly kind: 'member:state'
  readonly member: NodeId
  readonly state: MemberState
  readonly incarnation: number
  /** Who the news came from: the node itself for first-hand observation. */
  readonly via: NodeId
}

export interface MemberJoinEvent extends Base {
  readonly kind: 'member:join'
  readonly member: NodeId
  readonly incarnation: number
}

export interface RefuteEvent extends Base {
  readonly kind: 'member:refute'
  /** The new incarnation the node claimed to refute a suspicion of itself. */
  readonly incarnation: number
}

export interface HealthEvent extends Base {
  readonly kind: 'health:change'
  /** Lifeguard local health multiplier score, 0 = healthy. */
  readonly score: number
}

export interface RejectEvent extends Base {
  readonly kind: 'wire:reject'
  readonly from: NodeId
  readonly code: string
}

export type MembershipEvent = MemberStateEvent | MemberJoinEvent | RefuteEvent | HealthEvent | RejectEvent

// Election events are added by the shard and global layers.
export type TraceEvent = MembershipEvent
