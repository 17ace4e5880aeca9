/**
 * ConclaveMachine: one node, all three layers (membership, shard group, global group) behind
 * the sans-IO Machine contract. Safety lives in shard/ and global/; this file routes frames,
 * bootstraps the shard map, and answers the public queries. Observers (not in any shard) learn
 * the leaders from the leader of the shard they are attached to (shard-map.ts attachedShard).
 */
import type { GlobalElectionStats } from '../global/election-stats.js'
import { type GlobalBreak, GlobalGroup } from '../global/global-group.js'
import { isKnownShard, isMapAtLeast, type MapState, mapStateOf, withMapState } from '../global/global-log.js'
import { decodeGlobalMessage } from '../global/global-wire.js'
import { type ClaimSigner, type MemberMetaInput, Membership, type MemberView } from '../membership/index.js'
import type { Layer, Machine, NodeId, Ready } from '../sans-io.js'
import { emptyReady } from '../sans-io.js'
import { leaseDurationMs } from '../shard/shard-config.js'
import { type ShardBreak, ShardGroup, type ShardHooks, type Sink } from '../shard/shard-group.js'
import { readHardState } from '../shard/shard-store.js'
import {
  type Announce,
  decodeShardMessage,
  encodeShardMessage,
  type ShardMessage,
} from '../shard/shard-wire.js'
import type { MembershipEvent, TraceEvent } from '../trace/events.js'
import type { Rng } from '../util/rng.js'
import { RejectionCounter, WireError } from '../wire/errors.js'
import type { ConclaveConfig } from './conclave-config.js'
import {
  announcerShard,
  bootstrapShardMap,
  readShardMap,
  type ShardMap,
  shardCountFor,
  shardMapOp,
  shardOf,
} from './shard-map.js'

/** The membership contract the election layers use (the real `Membership` satisfies it). */
export interface MembershipLike extends Machine<MembershipEvent> {
  join(seeds: NodeId[], nowMs: number): void
  leave(nowMs: number): void
  setMeta(patch: Partial<MemberMetaInput>, nowMs: number): void
  member(id: NodeId): MemberView | undefined
  members(): Iterable<MemberView>
  aliveCount(): number
  health(): number
  /** Pull what a stranger that sent us a shard/global frame holds (its own claim first of all). */
  syncWithStranger(peer: NodeId, nowMs: number): void
  readonly rejections: RejectionCounter
}

export interface ConclaveInit {
  id: NodeId
  bootEpoch: number
  rng: Rng
  signer: ClaimSigner
  config: ConclaveConfig
  /** Leader preference: higher wins, ties by id. Default 0. */
  priority?: number
  addrs?: string[]
  /** What persist ops wrote before a restart (keys under `shard/` and `global/`). */
  stored: ReadonlyMap<string, Uint8Array>
  bootstrap: { init?: boolean; bootstrapExpect?: number; seeds: NodeId[] }
  /** Never votes, never in a shard; learns the leaders. */
  observer?: boolean
  /** Which node ids may become members (the allow-list); default every id. See MembershipInit. */
  admits?(id: NodeId): boolean
  /** Tests only: replace the membership layer (e.g. a fixed member list). Default `new Membership(...)`. */
  membershipFactory?: (init: ConclaveInit, nowMs: number) => MembershipLike
}

/**
 * How often a shard leader looks for members to re-admit; it also looks at its next tick whenever
 * the number of members up changes (a removed voter back: a restart after a graceful leave, or
 * the far side of a healed partition), so such a member waits a heartbeat, not up to a second.
 */
const READMIT_CHECK_MS = 1000

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
  readonly membership: MembershipLike
  /** Rejected shard/global frames by code (membership counts its own). */
  readonly rejections = new RejectionCounter()
  private out = emptyReady<TraceEvent>()
  private readonly sink: Sink
  private readonly global: GlobalGroup
  private shardGroup: ShardGroup | undefined
  private map: ShardMap | undefined
  /** Observers: the shard leader that last announced to us. */
  private observedShardLeader: { shard: number; id: NodeId; term: number } | undefined
  private nextAnnounceMs = 0
  /** The shard group and commit index whose committed map syncMapFromLog last adopted. */
  private mapSynced: { group: ShardGroup; commit: number } | undefined
  private orphan = false
  /** Our map is only the shard count a first announcement told us (no voter lists, not bootstrapped). */
  private mapFromAnnounce = false
  private nextReadmitMs = 0
  /** membership.aliveCount() at the last re-admission check. */
  private readmitAliveCount = -1
  /** What is durable now: `init.stored` plus every persist op since (a shard joined later reads it). */
  private readonly persisted: Map<string, Uint8Array>

  constructor(
    readonly init: ConclaveInit,
    nowMs: number,
  ) {
    this.id = init.id
    this.persisted = new Map(init.stored)
    this.sink = {
      persist: (op) => {
        this.persisted.set(op.key, op.value)
        this.out.persist.push(op)
      },
      send: (msg) => this.out.send.push(msg),
      event: (e) => this.out.events.push(e),
    }
    this.membership = init.membershipFactory
      ? init.membershipFactory(init, nowMs)
      : new Membership(
          {
            id: init.id,
            bootEpoch: init.bootEpoch,
            rng: init.rng.fork(),
            config: init.config.membership,
            meta: {
              priority: init.priority ?? 0,
              addrs: init.addrs ?? [],
              roles: init.observer ? ['observer'] : [],
              shard: null,
            },
            signer: init.signer,
            admits: init.admits,
          },
          nowMs,
        )
    const brk = init.config.unsafe?.break
    this.global = new GlobalGroup({
      id: init.id,
      config: init.config.global,
      rng: init.rng.fork(),
      sink: this.sink,
      shardLeaseMs: leaseDurationMs(
        init.config.shard.electionTimeoutMinMs,
        init.config.shard.driftBound,
        init.config.shard.leaseMarginMs,
      ),
      unsafeBreak: brk === 'vote-commit' || brk === 'lease' ? (brk as GlobalBreak) : undefined,
      targetsOf: (shard) => this.membersOfShard(shard),
      unassigned: () => this.unassignedMembers(),
      onAssign: (node, t) => {
        // The shard's own bound: the global leader's view of its size may lag by a round.
        const sg = this.shardGroup
        if (sg && sg.voters().length + sg.learners().length < init.config.shardMap.shardSizeMax)
          sg.proposeConfig('add', node, t)
      },
      shardSizeMax: init.config.shardMap.shardSizeMax,
      shardSizeMin: init.config.shardMap.shardSizeMin,
      shardSizeTarget: init.config.shardMap.shardSizeTarget,
      deadGraceMs: init.config.shardMap.deadGraceMs,
      shardGone: (shard, t) => this.shardGone(shard, t),
      stranded: (map) => this.strandedMembers(map),
      onCommittedMap: (state, t) => this.adoptMapState(state, t, true),
      onKnownChange: (t) => {
        if (this.shardGroup?.role !== 'leader') return
        this.shardGroup.heartbeatNow(t)
        this.nextAnnounceMs = t // observers too
      },
    })
    const stored = readShardMap(init.stored.get('global/map'))
    if (stored) this.adoptMap(stored, nowMs, false)
    // A seed of a shard still forming (not in map.shards yet) that restarts resumes it: its stored
    // map says it seeded the shard, and the shard's persisted state is its own (swarm seed 1513: a
    // seed that crashed and restarted refused its shard's appends as not-in-shard for good, and
    // with no shard and a map that places it in one, no one announced the leader to it).
    if (stored && !init.observer) this.maybeSeed(nowMs)
    else if (init.bootstrap.init && !init.observer)
      this.adoptMap(bootstrapShardMap([init.id], init.config.shardMap), nowMs, true)
    if (init.bootstrap.seeds.length > 0) this.membership.join(init.bootstrap.seeds, nowMs)
    this.maybeBootstrap(nowMs)
  }

  // --- Machine ---------------------------------------------------------------------------

  tick(nowMs: number): void {
    this.membership.tick(nowMs)
    this.maybeBootstrap(nowMs)
    this.shardGroup?.tick(nowMs)
    this.syncMapFromLog(nowMs)
    this.global.tick(nowMs)
    this.announceToObservers(nowMs)
    this.updateOrphan(nowMs)
    this.readmitClaimants(nowMs)
  }

  receive(from: NodeId, layer: Layer, bytes: Uint8Array, nowMs: number): void {
    if (layer === 'membership') {
      this.membership.receive(from, layer, bytes, nowMs)
      this.maybeBootstrap(nowMs)
      return
    }
    try {
      if (layer === 'shard') {
        const m = decodeShardMessage(bytes)
        if (this.isStranger(from, nowMs)) return
        this.onShardFrame(from, m, nowMs)
        if (m.type === 'prevote') this.tellLeader(from, nowMs)
      } else {
        const m = decodeGlobalMessage(bytes)
        if (this.isStranger(from, nowMs)) return
        this.global.receive(from, m, nowMs)
        if (m.type === 'gprevote') this.tellLeader(from, nowMs)
      }
    } catch (err) {
      if (!(err instanceof WireError)) throw err
      this.rejections.add(err.code)
      this.sink.event({ kind: 'wire:reject', node: this.id, atMs: nowMs, from, code: err.code })
    }
  }

  /**
   * Shard and global messages come from members only: every honest sender joined through SWIM
   * with a signed claim before it could be a voter, a leader or a candidate. A peer we hold no
   * claim of is refused (counted `not-a-member`) before any election rule sees its message. Found
   * by the fuzz run: a stranger replaying another cluster's `append` for the leader's own term
   * tripped the two-leaders assertion and crashed the node.
   */
  private isStranger(from: NodeId, nowMs: number): boolean {
    if (from === this.id || this.membership.member(from) !== undefined) return false
    this.rejections.add('not-a-member')
    this.membership.syncWithStranger(from, nowMs)
    return true
  }

  nextTickAtMs(): number {
    let t = Math.min(this.membership.nextTickAtMs(), this.global.nextTickAtMs())
    if (this.shardGroup) t = Math.min(t, this.shardGroup.nextTickAtMs())
    // Every global heartbeat, even when the last scan found nobody to tell: a scan that rode only
    // on ticks the node makes anyway left joiners waiting seconds for their first announcement
    // (swarm seeds 835 and 1998, from c6df9aa), for ~0.09 ms of CPU per wake-up saved.
    if (this.shardGroup?.role === 'leader') t = Math.min(t, this.nextAnnounceMs)
    return t
  }

  drain(): Ready<TraceEvent> {
    const m = this.membership.drain()
    const out = this.out
    this.out = emptyReady<TraceEvent>()
    // Persist everything (both layers) before any send: the driver performs them in this order.
    return {
      persist: [...m.persist, ...out.persist],
      send: [...m.send, ...out.send],
      events: [...m.events, ...out.events],
    }
  }

  notePause(durationMs: number, nowMs: number): void {
    this.membership.notePause?.(durationMs, nowMs)
  }

  // --- public API ------------------------------------------------------------------------

  /** True only while this node holds a valid GLOBAL lease. */
  isLeader(nowMs: number): boolean {
    return this.global.hasLease(nowMs)
  }

  /** The global leader this node knows. */
  leader(): { id: NodeId; term: number } | undefined {
    const id = this.global.knownLeader
    return id === undefined ? undefined : { id, term: this.global.knownTerm }
  }

  /** Counters of this node's part in the global election (global/election-stats.ts). */
  globalElectionStats(): GlobalElectionStats {
    return this.global.electionStats
  }

  shardLeader(): { shard: number; id: NodeId; term: number } | undefined {
    const sg = this.shardGroup
    if (sg) return sg.leader === undefined ? undefined : { shard: sg.shard, id: sg.leader, term: sg.term }
    return this.observedShardLeader
  }

  /** Fencing token = global term, only while isLeader(nowMs). */
  fencingToken(nowMs: number): number | undefined {
    return this.isLeader(nowMs) ? this.global.leaderTerm() : undefined
  }

  /** Hand shard (and with it global) leadership to the best caught-up live voter. */
  transferLeadership(nowMs: number): boolean {
    return this.shardGroup?.transferLeadership(nowMs) ?? false
  }

  /** Graceful leave: hand over any leadership first, then announce the leave. */
  leave(nowMs: number): void {
    this.transferLeadership(nowMs)
    this.membership.leave(nowMs)
  }

  status(nowMs: number): NodeStatus {
    const counts = { alive: 0, suspect: 0, dead: 0, left: 0 }
    for (const m of this.membership.members()) counts[m.state]++
    const sg = this.shardGroup
    const sl = this.shardLeader()
    let role: NodeRole = 'observer'
    if (this.isLeader(nowMs)) role = 'global-leader'
    else if (sg) role = sg.role === 'leader' ? 'shard-leader' : sg.role === 'observer' ? 'observer' : sg.role
    const lease = this.isLeader(nowMs) ? this.global.leaseLeftMs(nowMs) : (sg?.leaseLeftMs(nowMs) ?? 0)
    return {
      id: this.id,
      role,
      shard: sg?.shard ?? null,
      globalLeader: this.global.knownLeader ?? null,
      globalTerm: this.global.knownTerm,
      shardLeader: sl?.id ?? null,
      shardTerm: sg ? sg.term : (sl?.term ?? 0),
      leaseLeftMs: Math.round(lease),
      members: counts,
    }
  }

  /** The voters of this node's shard per its control log (committed or not), undefined if in none. */
  shardVoters(): NodeId[] | undefined {
    return this.shardGroup?.voters()
  }

  /** Shard leader only: the newcomers it is catching up before they become voters. */
  shardLearners(): NodeId[] {
    return this.shardGroup?.learners() ?? []
  }

  /** The committed shard map this node follows (undefined before bootstrap). */
  shardMap(): ShardMap | undefined {
    return this.map
  }

  // --- internals -------------------------------------------------------------------------

  private onShardFrame(from: NodeId, m: ShardMessage, nowMs: number): void {
    if (m.type === 'announce') {
      // Also useful to a member that is not a voter yet (just assigned, catching up).
      if (this.shardGroup) {
        this.learn(m.announce, nowMs)
        return
      }
      const prev = this.observedShardLeader
      if (!prev || prev.id !== from || prev.term !== m.term) {
        this.observedShardLeader = { shard: m.shard, id: from, term: m.term }
        this.sink.event({
          kind: 'shard:leader',
          node: this.id,
          atMs: nowMs,
          shard: m.shard,
          term: m.term,
          leader: from,
        })
      }
      this.learn(m.announce, nowMs)
      return
    }
    if (
      !this.shardGroup &&
      !this.init.observer &&
      (m.type === 'append' || m.type === 'snapshot') &&
      (this.map === undefined ||
        this.map.shards.has(m.shard) ||
        m.shard >= (this.map.shardsTotal ?? this.map.shards.size))
    ) {
      // (A shard id above every id we know was made by a split after we learned the map.)
      // A shard leader replicating to us: the global leader assigned us to its shard. We join
      // as a non-voter and become a voter when the config entry that adds us reaches our log.
      this.joinShard(m.shard, [], nowMs)
    }
    if (!this.shardGroup) {
      this.rejections.add('not-in-shard')
      return
    }
    this.shardGroup.receive(from, m, nowMs)
    this.syncMapFromLog(nowMs)
  }

  /** The latest global-log entry committed in our shard's log becomes our map (routing, persisted). */
  private syncMapFromLog(nowMs: number): void {
    const sg = this.shardGroup
    if (!sg || !this.map) return
    // Committed entries never change (Log Matching), so the same commit index folds to the same
    // map: refolding the log on every frame and tick was ≈ 1 % of an idle node's main thread.
    if (this.mapSynced?.group === sg && this.mapSynced.commit === sg.commit) return
    this.mapSynced = { group: sg, commit: sg.commit }
    const committed = sg.log.committedMap(sg.commit)
    if (committed) this.adoptMapState(committed, nowMs, false)
  }

  /**
   * Adopt a newer global-log state. `globallyCommitted`: the global leader told us (we are in a
   * dissolved shard); only then do we leave a shard the map no longer has — a removal committed
   * globally is never undone, so the old shard (and its persisted votes) is never needed again.
   */
  private adoptMapState(state: MapState, nowMs: number, globallyCommitted: boolean): void {
    if (this.init.observer) return
    // A member that never learned a map (it joined before any announcement reached it).
    const map = this.map ?? { version: 0, term: 0, shards: new Map(), shardsTotal: 0, removed: [] }
    if (isMapAtLeast(mapStateOf(map), state)) {
      if (globallyCommitted) this.maybeSeed(nowMs)
      return
    }
    this.map = withMapState(map, state)
    this.sink.persist(shardMapOp(this.map))
    if (globallyCommitted) this.maybeSeed(nowMs)
    const sg = this.shardGroup
    if (globallyCommitted && sg && !isKnownShard(state, sg.shard)) {
      sg.stop(nowMs)
      this.shardGroup = undefined
      this.global.attach(undefined, this.map)
      this.global.onShardRoleChange(nowMs)
      this.membership.setMeta({ shard: null }, nowMs)
      this.sink.event({
        kind: 'shardmap:commit',
        node: this.id,
        atMs: nowMs,
        index: state.version,
        change: `left dissolved shard ${sg.shard}`,
      })
      return
    }
    this.global.attach(sg, this.map)
  }

  /**
   * A split committed a new shard with us among its seeds (global-log.ts): start it, the seeds as
   * its voters. We were in no shard (the global leader picks unassigned members), so we hold no
   * vote anywhere, and the shard id was never used before (the reservation is committed).
   */
  private maybeSeed(nowMs: number): void {
    const f = this.map?.forming
    if (this.shardGroup || !f || !f.seeds.includes(this.id)) return
    this.joinShard(f.shard, f.seeds, nowMs)
    this.global.onShardRoleChange(nowMs)
  }

  /** Every member that says it votes in `shard` is dead or left for the grace period (or none does). */
  private shardGone(shard: number, nowMs: number): boolean {
    for (const m of this.membership.members()) {
      if (m.meta.shard !== shard) continue
      if (m.state !== 'dead' && m.state !== 'left') return false
      if (nowMs - m.stateSinceMs < this.init.config.shardMap.deadGraceMs) return false
    }
    return true
  }

  /** Alive members that say they vote in a shard `map` no longer has. */
  private strandedMembers(map: ShardMap): NodeId[] {
    const out: NodeId[] = []
    for (const m of this.membership.members()) {
      if (m.state !== 'alive' || m.meta.shard === null || map.shards.has(m.meta.shard)) continue
      if (map.forming?.shard === m.meta.shard) continue // a seed of the shard being formed
      out.push(m.id)
    }
    return out
  }

  /**
   * `bootstrapExpect: N`: once N non-observer members are alive, all compute the same map.
   *
   * A founder may hear the first leader (an announcement, a global heartbeat) before its own
   * membership view reaches N: at 1000 nodes ≈ 12 % of the founders did, stayed observers that
   * their bootstrap shard still listed as voters, and ≈ 40 shards with 3 such ghosts of 5 never
   * elected a leader (their members kept sending PreVotes and the global leader kept probing
   * them: ≈ 16 of 58 msgs/s/node). So a node that learned only the shard count from an
   * announcement (or only the leader, from a global heartbeat) still bootstraps, if the running
   * cluster has the shard count its own bootstrap would give (a late joiner that finds a grown or
   * shrunk cluster stays an observer) and it is in no shard yet. A late joiner should not be
   * given `bootstrapExpect` (operations: seeds only); one that is, and sees N members before any
   * announcement, computes a map of its own as before.
   *
   * A founder whose shard mates formed the map first joins that shard from its leader's appends
   * (onShardFrame) while its own view is short of N, with no map; it takes the map when its view
   * reaches N. It used to stay without one: as that shard's leader it refused every global
   * PreVote (`no-map`) and started none, and a real 100-node launch with 3 of 5 founding shards
   * led so never elected a global leader (performance.md, "Session 11").
   *
   * With `shardMap.bootstrapFoundersMax` F < N, only the F smallest of the N ids found the map;
   * the others wait as late joiners do and are assigned by the global leader. All N still wait
   * for N alive, so every founder picks the same F.
   */
  private maybeBootstrap(nowMs: number): void {
    const expect = this.init.bootstrap.bootstrapExpect
    if ((this.map && !this.mapFromAnnounce) || expect === undefined || this.init.observer) return
    if (this.shardGroup && this.map) return
    const founders = Math.min(expect, this.init.config.shardMap.bootstrapFoundersMax ?? expect)
    if (this.map && this.map.shardsTotal !== shardCountFor(founders, this.init.config.shardMap)) return
    if (this.membership.aliveCount() < expect) return
    const ids: NodeId[] = []
    for (const m of this.membership.members()) {
      if (m.state === 'alive' && !m.meta.roles.includes('observer')) ids.push(m.id)
    }
    if (ids.length < expect) return
    ids.sort()
    const chosen = ids.slice(0, founders)
    if (!chosen.includes(this.id)) return // a late joiner or not a founder: joins as a newcomer
    const map = bootstrapShardMap(chosen, this.init.config.shardMap)
    if (this.shardGroup && shardOf(map, this.id) !== this.shardGroup.shard) return
    this.adoptMap(map, nowMs, true)
  }

  private adoptMap(map: ShardMap, nowMs: number, persist: boolean): void {
    this.map = map
    this.mapFromAnnounce = false
    if (persist) this.sink.persist(shardMapOp(map))
    const storedShard = readHardState(this.init.stored.get('shard/hard'))?.shard
    const shard = this.init.observer ? undefined : (shardOf(map, this.id) ?? storedShard)
    if (shard !== undefined && map.shards.has(shard))
      this.joinShard(shard, map.shards.get(shard) ?? [], nowMs)
    this.global.attach(this.shardGroup, map)
  }

  /** Become a member of `shard` (a voter once the shard's log lists us). */
  private joinShard(shard: number, voters: readonly NodeId[], nowMs: number): void {
    if (this.shardGroup?.shard === shard) return
    const brk = this.init.config.unsafe?.break
    this.shardGroup = new ShardGroup(
      {
        id: this.id,
        shard,
        voters,
        config: this.init.config.shard,
        rng: this.init.rng.fork(),
        stored: this.persisted,
        sink: this.sink,
        rejections: this.rejections,
        unsafeBreak: brk === 'lease' || brk === 'persist' ? (brk as ShardBreak) : undefined,
        learnerGraceMs: this.init.config.shardMap.deadGraceMs,
        hooks: this.shardHooks(),
      },
      nowMs,
    )
    this.membership.setMeta({ shard }, nowMs)
    this.global.attach(this.shardGroup, this.map)
  }

  private shardHooks(): ShardHooks {
    return {
      announce: (t) => this.global.announce(t),
      onAnnounce: (a, t) => this.learn(a, t),
      onCommit: (entries, t) => this.global.onShardCommit(entries, t),
      onRoleChange: (t) => this.global.onShardRoleChange(t),
      isLive: (id) => this.membership.member(id)?.state === 'alive',
      priorityOf: (id) =>
        id === this.id ? (this.init.priority ?? 0) : (this.membership.member(id)?.meta.priority ?? 0),
      isGone: (id, t) => {
        const m = this.membership.member(id)
        if (!m || (m.state !== 'dead' && m.state !== 'left')) return false
        return t - m.stateSinceMs >= this.init.config.shardMap.deadGraceMs
      },
    }
  }

  /** A late joiner learns how many shards there are from its first announcement. */
  private learn(a: Announce | undefined, nowMs: number): void {
    if (a && !this.map && a.shardCount > 0) {
      const shards = new Map<number, NodeId[]>()
      for (let i = 0; i < a.shardCount; i++) shards.set(i, [])
      this.adoptMap({ version: 1, shards, term: 0, removed: [], shardsTotal: a.shardCount }, nowMs, true)
      this.mapFromAnnounce = true
    }
    this.global.learn(a, nowMs)
  }

  /** Alive members whose membership meta says they vote in `shard` (routing only, never safety). */
  private membersOfShard(shard: number): NodeId[] {
    const out: NodeId[] = []
    for (const m of this.membership.members()) {
      if (m.meta.shard === shard && m.state === 'alive' && m.id !== this.id) out.push(m.id)
    }
    return out
  }

  /** Alive members that are in no shard and not observers, smallest id first. */
  private unassignedMembers(): NodeId[] {
    const map = this.map
    const out: NodeId[] = []
    for (const m of this.membership.members()) {
      if (m.state !== 'alive' || m.meta.shard !== null || m.meta.roles.includes('observer')) continue
      if (map && shardOf(map, m.id) !== undefined) continue
      out.push(m.id)
    }
    return out.sort()
  }

  /**
   * A voter whose shard has had no leader for 3 election timeouts (its shard lost its quorum)
   * says so in its membership roles ('orphan'); another shard's leader then announces to it, so
   * it still learns the global leader (invariant 6).
   */
  private updateOrphan(nowMs: number): void {
    const sg = this.shardGroup
    if (!sg) return
    const orphan = sg.sinceLeaderMs(nowMs) > 3 * this.init.config.shard.electionTimeoutMaxMs
    if (orphan === this.orphan) return
    this.orphan = orphan
    const roles = this.init.observer ? ['observer'] : []
    if (orphan) roles.push('orphan')
    this.membership.setMeta({ roles }, nowMs)
  }

  /**
   * A shard leader re-admits an alive member that belongs to this shard but is neither a voter nor
   * a learner: one that says so (meta.shard), a voter removed while it was wrongly reported dead,
   * back again; or one that the committed map lists here but that holds no shard (meta.shard null):
   * picked for the shard, it crashed before it ever joined, the shard removed it after the grace
   * period, and it came back with no shard state. Nobody else would take it in: the global leader
   * assigns only members the map lists nowhere, and shard leaders announce only to those (swarm
   * seed 556: such a node never learned the leader).
   */
  private readmitClaimants(nowMs: number): void {
    const sg = this.shardGroup
    if (sg?.role !== 'leader') return
    const alive = this.membership.aliveCount()
    if (nowMs < this.nextReadmitMs && alive === this.readmitAliveCount) return
    this.readmitAliveCount = alive
    this.nextReadmitMs = nowMs + READMIT_CHECK_MS
    const voters = sg.voters()
    if (voters.length + sg.learners().length >= this.init.config.shardMap.shardSizeMax) return
    const outside = (id: NodeId) => id !== this.id && !voters.includes(id) && !sg.isLearner(id)
    const claimant = this.membersOfShard(sg.shard).find(outside) ?? this.listedStrays(sg.shard).find(outside)
    if (claimant !== undefined) sg.proposeConfig('add', claimant, nowMs)
  }

  /** Alive members the committed map lists in `shard` that say they vote in no shard. */
  private listedStrays(shard: number): NodeId[] {
    const listed = this.map?.shards.get(shard)
    if (!listed || listed.length === 0) return []
    const ids = new Set(listed)
    const out: NodeId[] = []
    for (const m of this.membership.members()) {
      if (m.state === 'alive' && m.meta.shard === null && ids.has(m.id)) out.push(m.id)
    }
    return out
  }

  /**
   * A member that asks us for a PreVote (shard or global) has not heard its leader within an
   * election timeout; if we know a global leader whose lease has not run out as far as we know, we
   * tell it at once with an announcement (as a shard leader tells its observers and orphans), so a
   * node cut off from its own leader learns who leads from any peer it can still reach. After a
   * partition heals, TCP's retransmission backoff can hold the links from a leader for seconds
   * while other links already carry (docs/testing.md, Session 5). One frame per PreVote request
   * (each asker sends one per election timeout); informational only: `learn` never lowers a term,
   * and what a follower knows of the leader grants no lease and no vote.
   */
  private tellLeader(to: NodeId, nowMs: number): void {
    const sg = this.shardGroup
    if (!sg || to === this.id) return
    const announce = this.global.announce(nowMs)
    if (!announce || announce.leaseLeftMs <= 0 || announce.globalLeader === to) return
    const bytes = encodeShardMessage({ type: 'announce', shard: sg.shard, term: sg.term, announce })
    this.sink.send({ to, layer: 'shard', type: 'announce', bytes })
  }

  /** Shard leaders tell the observers attached to their shard who leads, every global heartbeat. */
  private announceToObservers(nowMs: number): void {
    const sg = this.shardGroup
    const map = this.map
    if (sg?.role !== 'leader' || nowMs < this.nextAnnounceMs) return
    this.nextAnnounceMs = nowMs + this.init.config.global.heartbeatIntervalMs
    if (!map) return
    let bytes: Uint8Array | undefined
    for (const m of this.membership.members()) {
      if (m.id === this.id || m.state !== 'alive') continue
      const orphan = m.meta.roles.includes('orphan')
      if (!orphan && (m.meta.shard !== null || shardOf(map, m.id) !== undefined)) continue
      if (announcerShard(map, m.id, orphan ? m.meta.shard : null) !== sg.shard) continue
      bytes ??= encodeShardMessage({
        type: 'announce',
        shard: sg.shard,
        term: sg.term,
        announce: this.global.announce(nowMs),
      })
      this.sink.send({ to: m.id, layer: 'shard', type: 'announce', bytes })
    }
  }
}
