/**
 * ConclaveMachine: one node, all three layers (membership, shard group, global group) behind
 * the sans-IO Machine contract. Safety lives in shard/ and global/; this file only routes.
 */
import type { Layer, Machine, NodeId, Ready } from '../sans-io.js'
import { emptyReady } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'
import type { Rng } from '../util/rng.js'
import type { ClaimSignerPort } from './claim-signer-port.js'
import type { ConclaveConfig } from './conclave-config.js'
import type { MembershipPort } from './membership-port.js'

export interface ConclaveInit {
  id: NodeId
  bootEpoch: number
  rng: Rng
  signer: ClaimSignerPort
  config: ConclaveConfig
  priority?: number
  addrs?: string[]
  /** What persist ops wrote before a restart (keys under `shard/` and `global/`). */
  stored: ReadonlyMap<string, Uint8Array>
  bootstrap: { init?: boolean; bootstrapExpect?: number; seeds: NodeId[] }
  /** Never votes, never in a shard; learns the leaders. */
  observer?: boolean
  /** Build the membership layer (defaults to `new Membership(...)` once it exists). */
  membershipFactory?: (init: ConclaveInit, nowMs: number) => MembershipPort
}

export type NodeRole =
  | 'observer'
  | 'follower'
  | 'precandidate'
  | 'candidate'
  | 'shard-leader'
  | 'global-leader'

/** JSON-able status snapshot (admin API, inspector). */
export interface NodeStatus {
  id: NodeId
  role: NodeRole
  shard: number | null
  globalLeader: NodeId | null
  globalTerm: number
  shardLeader: NodeId | null
  shardTerm: number
  /** Milliseconds left on this node's own valid lease (global if global leader, else shard), 0 if none. */
  leaseLeftMs: number
  members: { alive: number; suspect: number; dead: number; left: number }
}

export class ConclaveMachine implements Machine<TraceEvent> {
  readonly id: NodeId
  readonly membership: MembershipPort
  private out = emptyReady<TraceEvent>()

  constructor(
    readonly init: ConclaveInit,
    nowMs: number,
  ) {
    this.id = init.id
    if (!init.membershipFactory)
      throw new Error('ConclaveMachine: membershipFactory required until Membership lands')
    this.membership = init.membershipFactory(init, nowMs)
  }

  tick(nowMs: number): void {
    this.membership.tick(nowMs)
  }

  receive(from: NodeId, layer: Layer, bytes: Uint8Array, nowMs: number): void {
    if (layer === 'membership') this.membership.receive(from, layer, bytes, nowMs)
  }

  nextTickAtMs(): number {
    return this.membership.nextTickAtMs()
  }

  drain(): Ready<TraceEvent> {
    const m = this.membership.drain()
    const out = this.out
    this.out = emptyReady<TraceEvent>()
    return {
      persist: [...m.persist, ...out.persist],
      send: [...m.send, ...out.send],
      events: [...m.events, ...out.events],
    }
  }

  notePause(durationMs: number, nowMs: number): void {
    this.membership.notePause?.(durationMs, nowMs)
  }

  /** True only while this node holds a valid GLOBAL lease. */
  isLeader(_nowMs: number): boolean {
    return false
  }

  leader(): { id: NodeId; term: number } | undefined {
    return undefined
  }

  shardLeader(): { shard: number; id: NodeId; term: number } | undefined {
    return undefined
  }

  /** The global term, only while isLeader(nowMs). */
  fencingToken(nowMs: number): number | undefined {
    return this.isLeader(nowMs) ? 0 : undefined
  }

  transferLeadership(_nowMs: number): boolean {
    return false
  }

  leave(nowMs: number): void {
    this.membership.leave(nowMs)
  }

  status(_nowMs: number): NodeStatus {
    let alive = 0
    let suspect = 0
    let dead = 0
    let left = 0
    for (const m of this.membership.members()) {
      if (m.state === 'alive') alive++
      else if (m.state === 'suspect') suspect++
      else if (m.state === 'dead') dead++
      else left++
    }
    return {
      id: this.id,
      role: 'observer',
      shard: null,
      globalLeader: null,
      globalTerm: 0,
      shardLeader: null,
      shardTerm: 0,
      leaseLeftMs: 0,
      members: { alive, suspect, dead, left },
    }
  }
}
