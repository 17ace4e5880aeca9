/**
 * What the inspector reads: one trace record = one typed trace event plus the true time at which
 * it happened (`{ trueMs, ...event }`, one JSON object per line in a trace file). The event kinds
 * are the ones in @conclave/core's trace/events.ts (membership + election); two inspector-side
 * kinds carry what the protocol trace does not: `sim:fault` (a fault the driver injected: crash,
 * restart, pause, partition, heal, loss) and `net:sample` (messages a node sent + received over
 * a window, from the simulator's accounting or a live node's metrics), plus `node:meta`.
 *
 * The types here are structural (the fields the model reads), so that core's TraceEvent stays
 * assignable to them (checked in trace-record.test.ts) while a trace file, which is untrusted
 * input, is validated field by field by parse-trace-line.ts.
 */

export type NodeId = string
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'
export type ShardRole = 'follower' | 'precandidate' | 'candidate' | 'leader' | 'observer'
export type LeaseScope = 'shard' | 'global'

interface Base {
  readonly node: NodeId
  /** The emitting node's own clock, ms. */
  readonly atMs: number
}

export type ProtocolEvent =
  | (Base & {
      readonly kind: 'member:state'
      readonly member: NodeId
      readonly state: MemberState
      readonly incarnation: number
      readonly via: NodeId
    })
  | (Base & { readonly kind: 'member:join'; readonly member: NodeId; readonly incarnation: number })
  | (Base & { readonly kind: 'member:refute'; readonly incarnation: number })
  | (Base & { readonly kind: 'health:change'; readonly score: number })
  | (Base & { readonly kind: 'wire:reject'; readonly from: NodeId; readonly code: string })
  | (Base & {
      readonly kind: 'shard:role'
      readonly shard: number
      readonly term: number
      readonly role: ShardRole
    })
  | (Base & {
      readonly kind: 'shard:leader'
      readonly shard: number
      readonly term: number
      readonly leader: NodeId
    })
  | (Base & {
      readonly kind: 'lease:hold'
      readonly scope: LeaseScope
      readonly shard: number
      readonly term: number
      readonly fromMs: number
      readonly untilMs: number
    })
  | (Base & {
      readonly kind: 'lease:end'
      readonly scope: LeaseScope
      readonly shard: number
      readonly term: number
    })
  | (Base & {
      readonly kind: 'vote:cast'
      readonly scope: LeaseScope
      readonly shard: number
      readonly term: number
      readonly candidate: NodeId
    })
  | (Base & {
      readonly kind: 'global:vote'
      readonly shard: number
      readonly term: number
      readonly candidate: NodeId
    })
  | (Base & { readonly kind: 'global:leader'; readonly term: number; readonly leader: NodeId })
  | (Base & { readonly kind: 'global:known'; readonly term: number; readonly leader: NodeId })
  | (Base & { readonly kind: 'shardmap:commit'; readonly index: number; readonly change: string })

export type FaultKind = 'crash' | 'restart' | 'pause' | 'resume' | 'partition' | 'heal' | 'loss' | 'add'

/** A fault the driver injected (simulator schedule, or the demo killing a process). */
export interface FaultRecord {
  readonly kind: 'sim:fault'
  readonly fault: FaultKind
  /** The node it hit, when it hit one node. */
  readonly node?: NodeId
  readonly detail?: string
}

/** Messages (sent + received) and bytes one node handled during the windowMs ending at trueMs. */
export interface NetSampleRecord {
  readonly kind: 'net:sample'
  readonly node: NodeId
  readonly windowMs: number
  readonly msgs: number
  readonly bytes: number
}

/** Static facts about a node that the protocol trace does not carry (live status, sim setup). */
export interface NodeMetaRecord {
  readonly kind: 'node:meta'
  readonly node: NodeId
  readonly priority?: number
  readonly addrs?: readonly string[]
  readonly roles?: readonly string[]
  readonly observer?: boolean
}

export type InspectedEvent = ProtocolEvent | FaultRecord | NetSampleRecord | NodeMetaRecord

/** One line of a trace file: the event plus the true (simulated or wall) time it happened at. */
export type TraceRecord = InspectedEvent & { readonly trueMs: number }

export type EventKind = InspectedEvent['kind']
