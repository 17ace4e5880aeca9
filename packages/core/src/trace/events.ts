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
  /** The member's boot epoch (always set by Membership; invariant 7: a new epoch may come back). */
  readonly bootEpoch?: number
}

export interface MemberJoinEvent extends Base {
  readonly kind: 'member:join'
  readonly member: NodeId
  readonly incarnation: number
  /** The member's boot epoch (always set by Membership). */
  readonly bootEpoch?: number
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

// Election events (shard and global layers, owner: election engineer).

/** Raft roles of a shard voter; `observer` = not a voter of any shard (knows leaders, never votes). */
export type ShardRole = 'follower' | 'precandidate' | 'candidate' | 'leader' | 'observer'

/** This node's role in its shard changed (Raft §5.2; PreVote adds `precandidate`). */
export interface ShardRoleEvent extends Base {
  readonly kind: 'shard:role'
  readonly shard: number
  readonly term: number
  readonly role: ShardRole
}

/** This node learned who leads its shard in `term` (the leader itself emits it too). */
export interface ShardLeaderEvent extends Base {
  readonly kind: 'shard:leader'
  readonly shard: number
  readonly term: number
  readonly leader: NodeId
}

/** Which lease: a shard leader's lease in its shard, or the global leader's lease. */
export type LeaseScope = 'shard' | 'global'

/**
 * Emitted by the holder each time its lease starts or is extended: the node claims a valid
 * lease on [fromMs, untilMs] of its OWN clock (the simulator maps it to true time). For
 * scope 'global', `shard` is the holder's shard.
 */
export interface LeaseHoldEvent extends Base {
  readonly kind: 'lease:hold'
  readonly scope: LeaseScope
  readonly shard: number
  readonly term: number
  readonly fromMs: number
  readonly untilMs: number
}

/** The holder released its lease early (step-down, handover, leave): it claims nothing after atMs. */
export interface LeaseEndEvent extends Base {
  readonly kind: 'lease:end'
  readonly scope: LeaseScope
  readonly shard: number
  readonly term: number
}

/** A (real, not PreVote) vote left this node, after its persist op. */
export interface VoteCastEvent extends Base {
  readonly kind: 'vote:cast'
  readonly scope: LeaseScope
  readonly shard: number
  readonly term: number
  readonly candidate: NodeId
}

/** A shard's global vote was committed in the shard's control log and sent (by the shard leader). */
export interface GlobalVoteEvent extends Base {
  readonly kind: 'global:vote'
  readonly shard: number
  readonly term: number
  readonly candidate: NodeId
}

/** This node became global leader for `term` (a majority of shards granted). */
export interface GlobalLeaderEvent extends Base {
  readonly kind: 'global:leader'
  readonly term: number
  readonly leader: NodeId
}

/** This node learned the global leader of `term` (from a heartbeat, an announcement, or itself). */
export interface GlobalKnownEvent extends Base {
  readonly kind: 'global:known'
  readonly term: number
  readonly leader: NodeId
}

/** A shard-map change was committed in the global log at `index`; `change` is a short text form. */
export interface ShardMapCommitEvent extends Base {
  readonly kind: 'shardmap:commit'
  readonly index: number
  readonly change: string
}

export type ElectionEvent =
  | ShardRoleEvent
  | ShardLeaderEvent
  | LeaseHoldEvent
  | LeaseEndEvent
  | VoteCastEvent
  | GlobalVoteEvent
  | GlobalLeaderEvent
  | GlobalKnownEvent
  | ShardMapCommitEvent

export type TraceEvent = MembershipEvent | ElectionEvent
