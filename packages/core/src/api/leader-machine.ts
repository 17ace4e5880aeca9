/**
 * What the runtime needs from the machine it drives: the Machine contract plus the leader
 * queries of ConclaveMachine. ConclaveMachine satisfies it; so does the FlatRaft baseline (used by
 * the benchmark's `--engine flat-raft` comparison and by plumbing tests).
 */
import type { GlobalElectionStats } from '../global/election-stats.js'
import type { Machine, NodeId } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'

export interface LeaderMachine extends Machine<TraceEvent> {
  isLeader(nowMs: number): boolean
  leader(): { id: NodeId; term: number } | undefined
  fencingToken(nowMs: number): number | undefined
  shardLeader?(): { shard: number; id: NodeId; term: number } | undefined
  transferLeadership?(nowMs: number): boolean
  leave?(nowMs: number): void
  status?(nowMs: number): object
  /** Frames this machine rejected, by code (shard and global layers for ConclaveMachine). */
  readonly rejections?: RejectionCounterView
  /** Counters of this node's part in the global election (global/election-stats.ts). */
  globalElectionStats?(): GlobalElectionStats
  membership?: {
    /** Membership frames and claims rejected, by code (e.g. `bad-signature`). */
    readonly rejections?: RejectionCounterView
    member(id: NodeId): { meta: { addrs: string[] } } | undefined
    setMeta?(patch: { addrs?: string[] }, nowMs: number): void
    members(): Iterable<{ id: NodeId; state: string; meta: { addrs: string[]; shard: number | null } }>
    /** Lifeguard local health (0 = healthy): probes run every (1 + health) probe intervals. */
    health?(): number
  }
}

export interface RejectionCounterView {
  get(code: string): number
  snapshot(): Record<string, number>
  /**
   * All rejections so far (any code), read twice per received frame: keep it O(1). Without it the
   * runtime sums `snapshot()` each time.
   */
  total?(): number
}

export interface MachineContext {
  id: NodeId
  bootEpoch: number
  /** This node's own listen addresses (multiaddr strings), to gossip in member metadata. */
  addrs: string[]
  stored: ReadonlyMap<string, Uint8Array>
  /** Peer ids of the bootstrap nodes. */
  seeds: NodeId[]
  signer: {
    sign(payload: Uint8Array): Uint8Array
    verify(node: NodeId, payload: Uint8Array, sig: Uint8Array): boolean
  }
  nowMs: number
}
