/** The typed events a Conclave node dispatches (js-libp2p style colon names). */
import type { NodeId } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'

export interface LeaderChange {
  /** The global leader this node now knows, or null while none is known. */
  leader: NodeId | null
  /** Its global term (0 while none is known). */
  term: number
  /** True when this node is the new global leader. */
  isSelf: boolean
  /** This node's shard, or null (observer, not yet placed). */
  shard: number | null
}

export interface ConclaveEvents {
  /** The global leader this node knows changed (new id or new term). */
  'leader:change': CustomEvent<LeaderChange>
  /** Every trace event the machine emitted (logs, metrics, the inspector). */
  trace: CustomEvent<TraceEvent>
  /** A dial or stream open to a peer failed (frames queued for it were dropped and counted). */
  'dial:error': CustomEvent<{ peer: NodeId; layer: string; error: string }>
  /** A peer was cut off for sending malformed frames. */
  'peer:cut-off': CustomEvent<{ peer: NodeId; layer: string; code: string }>
}
