/**
 * SWIM + Lifeguard membership as a sans-IO state machine.
 *
 * Guarantees (given the config's bounds):
 * - Failure detection (SWIM §3): each node probes its K ring successors round-robin, one per
 *   probe interval; a missing ack leads to indirect probes through k helpers (with Lifeguard
 *   nacks), then to a suspicion. A suspicion is sent straight to the suspect (buddy system) and to
 *   its other monitors, which probe it at once and confirm; the Lifeguard timeout shrinks with
 *   each independent confirmation, and on expiry the member is declared dead and gossiped.
 * - Only a member can claim it is alive or has left: those claims are signed (claim.ts) and every
 *   receiver verifies them before believing them. A failed verification is a counted
 *   `bad-signature` rejection.
 * - Precedence (SWIM §4.2 with boot epochs): updates are ordered by (bootEpoch, incarnation);
 *   at equal order alive < suspect < dead < left. A member declared dead or left comes back only
 *   with a higher incarnation or a new boot epoch (invariant 7).
 * - A node that hears itself suspected or declared dead refutes with a higher incarnation
 *   (SWIM §4.2); local health (Lifeguard §4.1) stretches its own timeouts when it is the slow one.
 *   A refuted suspicion reaches the nodes that hold it directly and is not broadcast; a refuted
 *   death is.
 * - A member held dead that sends us anything is told it is dead (as is one whose death reaches
 *   us by anti-entropy while we had it alive), so a member cut off by a partition refutes and
 *   rejoins once the partition heals.
 * - Dissemination: updates ride on pings and acks and on fast gossip rounds, λ·log(N) sends each;
 *   anti-entropy (digest, then a fingerprint round) repairs exactly the rows that differ; a
 *   joiner gets pages from its seed.
 * - Bounded: every frame ≤ frameBytesMax, the update queue, relays, members and pages are capped.
 *   Bad input is a counted rejection (and a rate-limited `wire:reject` event), never a throw.
 */
import type { Layer, Machine, NodeId, Outbound, PersistOp, Ready } from '../sans-io.js'
import { emptyReady } from '../sans-io.js'
import type { MemberState, MembershipEvent } from '../trace/events.js'
import { assert } from '../util/assert.js'
import type { Rng } from '../util/rng.js'
import { Writer } from '../wire/codec.js'
import { RejectionCounter, WireError } from '../wire/errors.js'
import { BroadcastQueue } from './broadcast-queue.js'
import { type Claim, type ClaimSigner, verifyClaim, writeClaimBody } from './claim.js'
import { type MembershipConfig, validateConfig } from './config.js'
import { Digest, fingerprint } from './digest.js'
import { keptClaim } from './kept-claims.js'
import { LocalHealth } from './local-health.js'
import {
  appendEntries,
  beginFrame,
  carriesEntries,
  claimEntryBytes,
  decodeFrame,
  type Entry,
  encodeEntry,
  FINGERPRINTS_MAX,
  type Frame,
  type FrameHead,
  frameHeadBytes,
} from './messages.js'
import { idHash, Ring } from './ring.js'
import { Suspicion, suspicionMinMs } from './suspicion.js'
import type { MemberMeta, MemberMetaInput, MembershipInit, MemberView } from './types.js'

/** A row of the member table; handed out read-only as MemberView. */
interface Member {
  readonly id: NodeId
  state: MemberState
  incarnation: number
  bootEpoch: number
  meta: MemberMeta
  stateSinceMs: number
  /**
   * The newest signed claim seen (alive or left), kept only as its wire entry (claimEntryBytes):
   * one exact-size buffer, relayed byte for byte; no decoded claim object is kept per row.
   */
  entry: Uint8Array
  readonly hash: number
  /** Current digest fingerprint, to subtract on change. */
  fp: number
}

interface Probe {
  readonly target: NodeId
  readonly seq: number
  phase: 'direct' | 'indirect'
  /** Direct re-pings left before asking helpers (config probeRetries). */
  retriesLeft: number
  deadlineMs: number
  helpers: NodeId[]
  nacks: number
}

interface Relay {
  readonly requester: NodeId
  readonly requestSeq: number
  nackAtMs: number
  readonly expiresAtMs: number
}

/** Digest rank: suspicion is local and transient, so suspect hashes as alive. */
function digestRank(s: MemberState): number {
  return s === 'alive' || s === 'suspect' ? 0 : s === 'dead' ? 1 : 2
}

function order(aBoot: number, aInc: number, bBoot: number, bInc: number): number {
  return aBoot !== bBoot ? aBoot - bBoot : aInc - bInc
}

/** A member row for a verified alive claim first seen at nowMs (fingerprint left for the caller). */
function aliveMemberFrom(c: Claim, nowMs: number): Member {
  const kept = keptClaim(c)
  return {
    id: c.id,
    state: 'alive',
    incarnation: c.incarnation,
    bootEpoch: c.bootEpoch,
    meta: kept.meta,
    stateSinceMs: nowMs,
    entry: kept.entry,
    hash: idHash(c.id),
    fp: 0,
  }
}

type Source = 'direct' | 'gossip' | 'sync'

/** What drain() returns when nothing was produced (frozen: a caller cannot add to it). */
const NOTHING: Ready<MembershipEvent> = Object.freeze({
  persist: Object.freeze([]) as unknown as PersistOp[],
  send: Object.freeze([]) as unknown as Outbound[],
  events: Object.freeze([]) as unknown as MembershipEvent[],
})

/** Bound on the members remembered as recently told they are dead (tellDead). */
const DEAD_NOTICES_MAX = 256

function varintBytes(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5
}

export class Membership implements Machine<MembershipEvent> {
  readonly id: NodeId
  readonly rejections = new RejectionCounter()
  private readonly admits: ((id: NodeId) => boolean) | undefined

  private readonly cfg: MembershipConfig
  private readonly rng: Rng
  private readonly signer: ClaimSigner
  private readonly table = new Map<NodeId, Member>()
  private readonly self: Member
  private readonly ring = new Ring()
  private readonly digest: Digest
  private readonly queue: BroadcastQueue
  private readonly suspicions = new Map<NodeId, Suspicion>()
  /** When this node next re-sends its own suspicion to each suspect it accused (buddy system). */
  private readonly notifyAtMs = new Map<NodeId, number>()
  private readonly relays = new Map<number, Relay>()
  private readonly healthScore: LocalHealth
  private out = emptyReady<MembershipEvent>()

  private seq = 0
  private probe: Probe | undefined
  private probeCursor = 0
  /** Subjects to probe out of turn (a suspicion of them arrived): confirm or refute fast. */
  private readonly urgent = new Set<NodeId>()
  private urgentAtMs = 0
  private nextProbeAtMs: number
  private nextGossipAtMs = Number.POSITIVE_INFINITY
  private nextAeAtMs: number
  /** When syncWithStranger may start its next exchange. */
  private nextStrangerSyncAtMs = 0
  private aeFast = false
  /** Rows anti-entropy repaired since the last round (aeFastRowsMin switches to fast rounds). */
  private aeRepairedRows = 0
  private nextReclaimAtMs: number
  private joining: { seeds: NodeId[]; attempt: number; nextAtMs: number } | undefined
  private lastTickMs: number
  private lastRejectEventMs = Number.NEGATIVE_INFINITY
  /** Per peer in an anti-entropy exchange: fingerprints of the rows it sent us (bounded). */
  private readonly syncedFrom = new Map<NodeId, Map<NodeId, number>>()
  /**
   * When this node last told each member it holds dead that it is dead (reply-to-the-dead and
   * stale deaths learned by anti-entropy), so a chatty sender is told once per notify interval.
   * Bounded by DEAD_NOTICES_MAX (oldest forgotten).
   */
  private readonly deadNoticeAtMs = new Map<NodeId, number>()
  /** Dead and left members by the time they became so, oldest first (for reclaiming). */
  private readonly tombstones = new Map<NodeId, number>()
  private subjectsCache: { version: number; ids: NodeId[] } = { version: -1, ids: [] }
  private peersCache: { version: number; ids: NodeId[] } = { version: -1, ids: [] }
  /** Gossip byte budget (token bucket, bytes) and when it was last refilled. */
  private gossipTokens: number
  private gossipRefillMs: number

  constructor(init: MembershipInit, nowMs: number) {
    validateConfig(init.config)
    this.id = init.id
    this.cfg = init.config
    this.rng = init.rng
    this.signer = init.signer
    this.admits = init.admits
    this.digest = new Digest(this.cfg.aeBuckets)
    this.queue = new BroadcastQueue(this.cfg.broadcastQueueMax)
    this.healthScore = new LocalHealth(this.cfg.healthMax)
    const meta: MemberMeta = {
      priority: init.meta?.priority ?? 0,
      shard: init.meta?.shard ?? null,
      roles: [...(init.meta?.roles ?? [])],
      addrs: [...(init.meta?.addrs ?? [])],
      version: 0,
    }
    const claim = this.signClaim(init.bootEpoch, 0, false, meta)
    this.self = {
      id: init.id,
      state: 'alive',
      incarnation: 0,
      bootEpoch: init.bootEpoch,
      meta,
      stateSinceMs: nowMs,
      entry: claimEntryBytes(claim),
      hash: idHash(init.id),
      fp: 0,
    }
    this.insert(this.self)
    // Spread first rounds so a cluster started at once does not probe in lockstep.
    this.nextProbeAtMs = nowMs + this.rng.int(this.cfg.probeIntervalMs)
    this.nextAeAtMs = nowMs + this.cfg.aeIntervalMs / 2 + this.rng.int(this.cfg.aeIntervalMs)
    this.nextReclaimAtMs = nowMs + this.cfg.aeIntervalMs
    this.lastTickMs = nowMs
    this.gossipTokens = this.cfg.gossipBytesPerSecMax
    this.gossipRefillMs = nowMs
  }

  // ---------------------------------------------------------------- public API

  /** Joins through `seeds` (tried in turn until one answers). No seeds: this node starts alone. */
  join(seeds: NodeId[], nowMs: number): void {
    const others = seeds.filter((s) => s !== this.id)
    if (this.self.state === 'left') this.reclaimSelf(nowMs)
    this.enqueueBytes(this.id, this.self.entry, nowMs, this.cfg.claimGossipSendsMax)
    if (others.length === 0) return
    this.joining = { seeds: others, attempt: 0, nextAtMs: nowMs }
  }

  /** Graceful leave: a signed `left` claim at a new incarnation, gossiped; then this node goes quiet. */
  leave(nowMs: number): void {
    if (this.self.state === 'left') return
    this.bumpSelf(nowMs, true, this.cfg.claimGossipSendsMax)
    this.setState(this.self, 'left', nowMs, this.id)
    this.probe = undefined
    this.joining = undefined
    this.suspicions.clear()
    this.notifyAtMs.clear()
    // Tell the monitors directly too: they would otherwise start suspecting at once.
    const entry = this.self.entry
    for (const to of this.monitorsOf(this.self))
      this.sendFrame(to, { type: 'gossip' }, 'leave', [entry], false)
  }

  /** Changes this node's metadata: a new signed claim at a new incarnation, gossiped. */
  setMeta(patch: Partial<MemberMetaInput>, nowMs: number): void {
    if (this.self.state === 'left') return
    const m = this.self.meta
    this.self.meta = {
      priority: patch.priority ?? m.priority,
      shard: patch.shard !== undefined ? patch.shard : m.shard,
      roles: [...(patch.roles ?? m.roles)],
      addrs: [...(patch.addrs ?? m.addrs)],
      version: m.version + 1,
    }
    this.bumpSelf(nowMs, false, this.cfg.claimGossipSendsMax)
  }

  /** Lifeguard: this process stalled for durationMs. Raises health and forgives what the stall hid. */
  notePause(durationMs: number, nowMs: number): void {
    if (durationMs <= 0) return
    this.lastTickMs = Math.max(this.lastTickMs, nowMs)
    // One step, plus one per doubling of the stall in probe intervals (a 2 s stall at 200 ms: +4).
    this.raiseHealth(1 + Math.floor(Math.log2(1 + durationMs / this.cfg.probeIntervalMs)), nowMs)
    // Acks and refutations may have been waiting in our own inbox: give them time to land.
    for (const s of this.suspicions.values()) s.postpone(durationMs)
    if (this.probe) {
      this.probe.deadlineMs = nowMs + this.healthScore.scale(this.cfg.probeTimeoutMs)
    }
    this.relays.clear()
  }

  /** This node's current signed claim as a wire entry: what a snapshot of a converged view holds of it. */
  ownClaimEntry(): Uint8Array {
    return this.self.entry
  }

  /**
   * Adopts a converged view instead of learning it through join pages and anti-entropy: each
   * claim (decoded once by the caller, e.g. with `decodeClaimEntry`) is verified like any other
   * and, if unknown, becomes an alive row. It is a state load, not news: nothing is gossiped and
   * no `member:join` events are emitted. The simulator uses it to start scenarios that are not
   * about joining from the state a real join converges to; a persisted view could use it too.
   * Returns the number of rows added.
   */
  adoptView(claims: readonly Claim[], nowMs: number): number {
    const fresh: Member[] = []
    for (const c of claims) {
      if (c.id === this.id || c.left || this.table.has(c.id)) continue
      if (this.table.size >= this.cfg.membersMax) {
        this.rejections.add('members-full')
        break
      }
      if (!this.verify(c, c.id, nowMs)) continue
      const m = aliveMemberFrom(c, nowMs)
      m.fp = fingerprint(m.hash, m.bootEpoch, m.incarnation, digestRank(m.state))
      this.table.set(m.id, m)
      this.digest.add(m.hash, m.fp)
      fresh.push(m)
    }
    this.ring.addAll(fresh)
    return fresh.length
  }

  member(id: NodeId): MemberView | undefined {
    return this.table.get(id)
  }

  members(): Iterable<MemberView> {
    return this.table.values()
  }

  /** Members believed up (alive or suspect), this node included. */
  aliveCount(): number {
    return this.ring.size
  }

  /** Lifeguard local health score, 0 = healthy, up to healthMax. */
  health(): number {
    return this.healthScore.score
  }

  // ---------------------------------------------------------------- Machine

  tick(nowMs: number): void {
    const due = this.nextTickAtMs()
    if (nowMs - due > this.cfg.stallDetectMs && nowMs - this.lastTickMs > this.cfg.stallDetectMs) {
      this.notePause(nowMs - Math.max(due, this.lastTickMs), nowMs)
    }
    this.lastTickMs = nowMs
    if (this.self.state !== 'left') {
      this.tickJoin(nowMs)
      this.tickProbe(nowMs)
      this.tickRelays(nowMs)
      this.tickSuspicions(nowMs)
      this.tickAntiEntropy(nowMs)
      if (nowMs >= this.nextReclaimAtMs) this.reclaimTombstones(nowMs)
    }
    this.tickGossip(nowMs)
  }

  receive(from: NodeId, layer: Layer, bytes: Uint8Array, nowMs: number): void {
    if (layer !== 'membership' || from === this.id) {
      this.reject(from, 'bad-value', nowMs)
      return
    }
    let frame: Frame
    try {
      frame = decodeFrame(bytes, this.cfg.frameBytesMax)
    } catch (err) {
      if (err instanceof WireError) {
        this.reject(from, err.code, nowMs)
        return
      }
      throw err
    }
    if (this.self.state === 'left') return
    switch (frame.type) {
      case 'ping':
        this.applyEntries(frame.entries, from, 'gossip', nowMs)
        this.sendFrame(from, { type: 'ack', seq: frame.seq }, 'ack', [], true)
        break
      case 'ack':
        this.applyEntries(frame.entries, from, 'gossip', nowMs)
        this.onAck(from, frame.seq, nowMs)
        break
      case 'ping-req':
        this.onPingReq(from, frame.seq, frame.target, nowMs)
        break
      case 'nack':
        if (this.probe?.seq === frame.seq && this.probe.phase === 'indirect') this.probe.nacks++
        break
      case 'gossip':
        this.applyEntries(frame.entries, from, 'gossip', nowMs)
        break
      case 'join':
        this.applyEntries(frame.entries, from, 'gossip', nowMs)
        this.sendSync(from, this.joinPageIds(), [])
        break
      case 'sync': {
        this.aeRepairedRows += this.applyEntries(frame.entries, from, 'sync', nowMs)
        if (this.joining) this.onJoined(nowMs)
        const seen = this.noteSynced(from, frame.entries)
        if (frame.buckets.length > 0) {
          this.syncedFrom.delete(from)
          this.sendSync(from, this.bucketIds(frame.buckets), [], seen)
        }
        break
      }
      case 'digest':
        this.onDigest(from, frame.hashes, nowMs)
        break
      case 'fingerprints':
        this.onFingerprints(from, frame.buckets, frame.fps)
        break
      case 'want':
        this.onWant(from, frame.fps)
        break
    }
    // A member we hold dead is talking to us: it was only cut off (a healed partition) or was
    // declared dead falsely. Tell it, so it refutes with a new incarnation and comes back
    // (memberlist gossips to the dead for the same reason). Frames that carried its refutation
    // made it alive above, so this costs nothing once it has refuted.
    if (this.table.get(from)?.state === 'dead') this.tellDead(from, nowMs)
  }

  nextTickAtMs(): number {
    let t = this.nextGossipAtMs
    if (this.self.state === 'left') return t
    t = Math.min(t, this.nextProbeAtMs, this.nextAeAtMs, this.nextReclaimAtMs)
    if (this.probe) t = Math.min(t, this.probe.deadlineMs)
    else if (this.urgent.size > 0) t = Math.min(t, this.urgentAtMs)
    if (this.joining) t = Math.min(t, this.joining.nextAtMs)
    for (const s of this.suspicions.values()) t = Math.min(t, s.deadlineMs)
    for (const at of this.notifyAtMs.values()) t = Math.min(t, at)
    for (const r of this.relays.values()) t = Math.min(t, r.nackAtMs, r.expiresAtMs)
    return t
  }

  drain(): Ready<MembershipEvent> {
    const r = this.out
    // Many inputs produce nothing (an ack, most ticks): hand out the shared empty Ready then.
    if (r.send.length === 0 && r.events.length === 0 && r.persist.length === 0) return NOTHING
    this.out = emptyReady()
    return r
  }

  // ---------------------------------------------------------------- probing (SWIM §3.1)

  private tickProbe(nowMs: number): void {
    const p = this.probe
    if (p && nowMs >= p.deadlineMs) {
      if (p.phase === 'direct') this.onProbeTimeout(p, nowMs)
      else this.onIndirectTimeout(p, nowMs)
    }
    if (this.urgent.size > 0 && !this.probe) {
      const target = this.urgent.values().next().value as NodeId
      this.urgent.delete(target)
      const m = this.table.get(target)
      if (m && (m.state === 'alive' || m.state === 'suspect')) this.startProbe(target, nowMs)
    }
    if (nowMs >= this.nextProbeAtMs) {
      this.nextProbeAtMs = nowMs + this.healthScore.scale(this.cfg.probeIntervalMs)
      if (this.probe) return // the previous round (stretched by health) is still running
      const subjects = this.subjectsOf()
      if (subjects.length === 0) return
      const target = subjects[this.probeCursor++ % subjects.length] as NodeId
      this.startProbe(target, nowMs)
    }
  }

  private startProbe(target: NodeId, nowMs: number): void {
    const seq = ++this.seq
    this.probe = {
      target,
      seq,
      phase: 'direct',
      retriesLeft: this.cfg.probeRetries,
      deadlineMs: nowMs + this.healthScore.scale(this.cfg.probeTimeoutMs),
      helpers: [],
      nacks: 0,
    }
    this.sendFrame(target, { type: 'ping', seq }, 'ping', [], true)
  }

  private onProbeTimeout(p: Probe, nowMs: number): void {
    if (p.retriesLeft > 0) {
      // A lost ping or ack is the common case under loss: one more direct try costs 2 frames,
      // the indirect round about 15 (config probeRetries).
      p.retriesLeft--
      p.deadlineMs = nowMs + this.healthScore.scale(this.cfg.probeTimeoutMs)
      this.sendFrame(p.target, { type: 'ping', seq: p.seq }, 'ping', [], true)
      return
    }
    // SWIM §3.1: ask k helpers; Lifeguard §4.3: they nack if they get no answer either. Also
    // re-ping directly, in case only the first ping or its ack was lost.
    const exclude = new Set<NodeId>([this.id, p.target])
    for (let i = 0; i < this.cfg.indirectProbes; i++) {
      const h = this.randomPeer(exclude)
      if (h === undefined) break
      exclude.add(h)
      p.helpers.push(h)
      this.sendFrame(h, { type: 'ping-req', seq: p.seq, target: p.target }, 'ping-req', [], false)
    }
    this.sendFrame(p.target, { type: 'ping', seq: p.seq }, 'ping', [], true)
    p.phase = 'indirect'
    p.deadlineMs = nowMs + this.healthScore.scale(this.cfg.indirectTimeoutMs)
  }

  private onIndirectTimeout(p: Probe, nowMs: number): void {
    this.probe = undefined
    // Lifeguard §4.3: every expected nack that did not come hints that we are the slow one.
    // When the helpers all nacked, they could not reach the target either: no blame on us.
    this.raiseHealth(p.helpers.length - Math.min(p.nacks, p.helpers.length), nowMs)
    const m = this.table.get(p.target)
    if (!m || (m.state !== 'alive' && m.state !== 'suspect')) return
    this.accuse(m, nowMs)
  }

  private onAck(from: NodeId, seq: number, nowMs: number): void {
    const relay = this.relays.get(seq)
    if (relay) {
      this.relays.delete(seq)
      this.sendFrame(relay.requester, { type: 'ack', seq: relay.requestSeq }, 'ack', [], true)
      return
    }
    const p = this.probe
    if (!p || p.seq !== seq || (from !== p.target && !p.helpers.includes(from))) return
    this.probe = undefined
    if (this.healthScore.apply(-1)) this.emitHealth(nowMs)
  }

  private onPingReq(from: NodeId, requestSeq: number, target: NodeId, nowMs: number): void {
    if (target === this.id) {
      this.sendFrame(from, { type: 'ack', seq: requestSeq }, 'ack', [], true)
      return
    }
    if (this.relays.size >= this.cfg.relaysMax) {
      this.rejections.add('relays-full')
      return
    }
    const seq = ++this.seq
    const timeoutMs = this.cfg.indirectTimeoutMs
    this.relays.set(seq, {
      requester: from,
      requestSeq,
      nackAtMs: nowMs + timeoutMs * this.cfg.nackFraction,
      expiresAtMs: nowMs + timeoutMs,
    })
    this.sendFrame(target, { type: 'ping', seq }, 'ping', [], true)
  }

  private tickRelays(nowMs: number): void {
    for (const [seq, r] of this.relays) {
      if (nowMs >= r.expiresAtMs) this.relays.delete(seq)
      else if (nowMs >= r.nackAtMs) {
        r.nackAtMs = Number.POSITIVE_INFINITY
        this.sendFrame(r.requester, { type: 'nack', seq: r.requestSeq }, 'nack', [], false)
      }
    }
  }

  /** The K ring successors this node monitors. */
  private subjectsOf(): NodeId[] {
    if (this.subjectsCache.version !== this.ring.version) {
      this.subjectsCache = {
        version: this.ring.version,
        ids: this.ring.successors(this.id, this.self.hash, this.cfg.monitorSubjects),
      }
    }
    return this.subjectsCache.ids
  }

  /**
   * A random member for gossip, anti-entropy or a ping-req, other than `exclude`: any live member
   * (gossipPeers 0, or no more members than the bound), else one of this node's gossip peers
   * (config.ts gossipPeers), with the same tries-then-scan as Ring.random.
   */
  private randomPeer(exclude: ReadonlySet<NodeId> | NodeId): NodeId | undefined {
    const p = this.cfg.gossipPeers
    if (p === 0 || this.ring.size <= p + 2 * this.cfg.monitorSubjects + 1)
      return this.ring.random(this.rng, exclude)
    const peers = this.gossipPeerIds()
    const excluded = (id: NodeId) => (typeof exclude === 'string' ? id === exclude : exclude.has(id))
    for (let tries = 0; tries < 8; tries++) {
      const s = peers[this.rng.int(peers.length)] as NodeId
      if (!excluded(s)) return s
    }
    for (const s of peers) if (!excluded(s)) return s
    return undefined
  }

  /** This node's gossip peers (gossipPeers > 0): ring neighbours and lowest pair scores, cached per ring version. */
  gossipPeerIds(): readonly NodeId[] {
    if (this.peersCache.version !== this.ring.version) {
      const k = this.cfg.monitorSubjects
      const ids = new Set<NodeId>([
        ...this.ring.successors(this.id, this.self.hash, k),
        ...this.ring.predecessors(this.id, this.self.hash, k),
        ...this.ring.lowestPairScores(this.id, this.self.hash, this.cfg.gossipPeers),
      ])
      this.peersCache = { version: this.ring.version, ids: [...ids] }
    }
    return this.peersCache.ids
  }

  /** The K ring predecessors that monitor m (never this node... unless it is one). */
  private monitorsOf(m: Member): NodeId[] {
    return this.ring.predecessors(m.id, m.hash, this.cfg.monitorSubjects)
  }

  // ---------------------------------------------------------------- suspicion (Lifeguard §4.2)

  /** This node's own probe of m failed: suspect it, or confirm an existing suspicion. */
  private accuse(m: Member, nowMs: number): void {
    const entry: Entry = {
      kind: 'suspect',
      id: m.id,
      bootEpoch: m.bootEpoch,
      incarnation: m.incarnation,
      accuser: this.id,
    }
    this.applySuspect(entry, this.id, nowMs)
    if (!this.suspicions.has(m.id)) return
    this.notifyAtMs.set(m.id, nowMs + this.cfg.suspectNotifyIntervalMs)
    const bytes = encodeEntry(entry, this.cfg.frameBytesMax)
    // Buddy system: the suspect hears at once and can refute; the other monitors probe and confirm.
    this.sendFrame(m.id, { type: 'gossip' }, 'suspect', [bytes], false)
    for (const to of this.monitorsOf(m)) {
      if (to !== this.id) this.sendFrame(to, { type: 'gossip' }, 'suspect', [bytes], false)
    }
  }

  private tickSuspicions(nowMs: number): void {
    for (const [id, s] of this.suspicions) {
      const m = this.table.get(id)
      if (m?.state !== 'suspect') {
        this.suspicions.delete(id)
        this.notifyAtMs.delete(id)
        continue
      }
      if (nowMs >= s.deadlineMs) {
        this.declareDead(m, nowMs)
        continue
      }
      const at = this.notifyAtMs.get(id)
      if (at !== undefined && nowMs >= at) {
        this.notifyAtMs.set(id, nowMs + this.cfg.suspectNotifyIntervalMs)
        const bytes = this.suspectEntryBytes(m)
        this.sendFrame(m.id, { type: 'gossip' }, 'suspect', [bytes], false)
      }
    }
  }

  private declareDead(m: Member, nowMs: number): void {
    const entry: Entry = { kind: 'dead', id: m.id, bootEpoch: m.bootEpoch, incarnation: m.incarnation }
    this.applyDead(entry, this.id, nowMs)
    this.enqueue(m.id, entry, nowMs)
  }

  private isUp(id: NodeId): boolean {
    const st = this.table.get(id)?.state
    return st === 'alive' || st === 'suspect'
  }

  /** Sends a member we hold dead that belief (at most once per notify interval per member). */
  private tellDead(id: NodeId, nowMs: number): void {
    const m = this.table.get(id)
    if (m?.state !== 'dead') return
    const last = this.deadNoticeAtMs.get(id)
    if (last !== undefined && nowMs - last < this.cfg.suspectNotifyIntervalMs) return
    this.deadNoticeAtMs.delete(id)
    if (this.deadNoticeAtMs.size >= DEAD_NOTICES_MAX) {
      this.deadNoticeAtMs.delete(this.deadNoticeAtMs.keys().next().value as NodeId)
    }
    this.deadNoticeAtMs.set(id, nowMs)
    const bytes = encodeEntry(
      { kind: 'dead', id: m.id, bootEpoch: m.bootEpoch, incarnation: m.incarnation },
      this.cfg.frameBytesMax,
    )
    this.sendFrame(id, { type: 'gossip' }, 'dead-notice', [bytes], false)
  }

  private suspectEntryBytes(m: Member): Uint8Array {
    return encodeEntry(
      { kind: 'suspect', id: m.id, bootEpoch: m.bootEpoch, incarnation: m.incarnation, accuser: this.id },
      this.cfg.frameBytesMax,
    )
  }

  // ---------------------------------------------------------------- applying news

  /** Applies entries in order; returns how many changed this node's table. */
  private applyEntries(entries: readonly Entry[], from: NodeId, source: Source, nowMs: number): number {
    let changed = 0
    for (const e of entries) {
      let did = false
      let quiet = false
      let frames = this.cfg.gossipSendsMax
      switch (e.kind) {
        case 'claim': {
          const before = this.table.get(e.claim.id)
          const wasUp = before !== undefined && (before.state === 'alive' || before.state === 'suspect')
          const metaVersion = before?.meta.version
          const bootEpoch = before?.bootEpoch
          // A refutation of a death (same life, a member we held dead) undoes news that reached
          // everyone, as fast: full gossip. Any other claim (a member joined, restarted, left or
          // changed its metadata) gets claimGossipSendsMax dedicated frames, then rides on probes.
          const refutesDeath = before?.state === 'dead' && !e.claim.left && e.claim.bootEpoch === bootEpoch
          if (!refutesDeath) frames = this.cfg.claimGossipSendsMax
          did = this.applyClaim(e.claim, from, nowMs)
          // A refutation of a suspicion (same life, same metadata, a member we had up) is news
          // only to those who suspect it, and they hear it directly (onAccused): do not
          // broadcast it. Anti-entropy brings the new incarnation to the rest, lazily.
          quiet =
            wasUp && !e.claim.left && e.claim.bootEpoch === bootEpoch && e.claim.meta.version === metaVersion
          break
        }
        case 'suspect':
          did = this.applySuspect(e, from, nowMs)
          break
        case 'dead': {
          const wasUp = this.isUp(e.id)
          did = this.applyDead(e, from, nowMs)
          // Anti-entropy brought the death of a member we had up: old news from the other side
          // of a healed partition, most likely. If the member is in fact alive it hears at once
          // and refutes, instead of waiting until it happens to talk to a node holding it dead.
          if (did && wasUp && source === 'sync') this.tellDead(e.id, nowMs)
          break
        }
      }
      if (did) {
        changed++
        // Infection-style: pass on what was news (SWIM §4.1). State learned by anti-entropy is
        // not re-gossiped (it is old news to most), and suspicions travel only to the monitors.
        if (source === 'gossip' && e.kind !== 'suspect' && !quiet) {
          // A claim is relayed as the row's own entry buffer (no second copy in the queue).
          const row = e.kind === 'claim' ? this.table.get(e.claim.id) : undefined
          if (row) this.enqueueBytes(row.id, row.entry, nowMs, frames)
          else this.enqueue(e.kind === 'claim' ? e.claim.id : e.id, e, nowMs, frames)
        }
      }
    }
    return changed
  }

  private applyClaim(c: Claim, from: NodeId, nowMs: number): boolean {
    if (c.id === this.id) {
      // Only we sign our claims; an older one of ours is stale news, nothing to do.
      return false
    }
    const m = this.table.get(c.id)
    if (!m) {
      if (c.left) return false // never knew it; nothing to forget
      if (this.admits && !this.admits(c.id)) {
        this.reject(from, 'not-admitted', nowMs)
        return false
      }
      if (this.table.size >= this.cfg.membersMax) {
        this.rejections.add('members-full')
        return false
      }
      if (!this.verify(c, from, nowMs)) return false
      const fresh = aliveMemberFrom(c, nowMs)
      this.insert(fresh)
      this.emit({
        kind: 'member:join',
        node: this.id,
        atMs: nowMs,
        member: c.id,
        incarnation: c.incarnation,
        bootEpoch: c.bootEpoch,
      })
      return true
    }
    const cmp = order(c.bootEpoch, c.incarnation, m.bootEpoch, m.incarnation)
    if (cmp < 0) return false
    if (cmp === 0) {
      // Same incarnation: only a leave adds anything (alive needs a higher one: invariant 7).
      if (!c.left || m.state === 'left') return false
      if (!this.verify(c, from, nowMs)) return false
      this.update(m, c, 'left', from, nowMs)
      return true
    }
    if (!this.verify(c, from, nowMs)) return false
    this.update(m, c, c.left ? 'left' : 'alive', from, nowMs)
    return true
  }

  private applySuspect(
    s: { id: NodeId; bootEpoch: number; incarnation: number; accuser: NodeId },
    from: NodeId,
    nowMs: number,
  ): boolean {
    if (s.id === this.id) {
      this.onAccused('suspect', s.bootEpoch, s.incarnation, [from, s.accuser], nowMs)
      return false
    }
    const m = this.table.get(s.id)
    // Only a suspicion of the incarnation we know counts; a newer one means we lack its claim
    // (anti-entropy brings it), an older one was refuted already.
    if (!m || order(s.bootEpoch, s.incarnation, m.bootEpoch, m.incarnation) !== 0) return false
    if (m.state === 'suspect') {
      const sus = this.suspicions.get(m.id)
      return sus ? sus.confirm(s.accuser) : false
    }
    if (m.state !== 'alive') return false
    const n = Math.max(this.ring.size, 1)
    const minMs = suspicionMinMs(this.cfg.suspicionMinMult, n, this.cfg.probeIntervalMs)
    const expected = Math.max(0, Math.min(this.cfg.monitorSubjects, n - 1) - 1)
    this.suspicions.set(
      m.id,
      new Suspicion(nowMs, minMs, minMs * this.cfg.suspicionMaxMult, expected, s.accuser),
    )
    this.setState(m, 'suspect', nowMs, from)
    // Probe it now (the accuser sent this to the monitors in its view, which may differ from
    // ours): our failure confirms quickly, and our ping carries the suspicion, so a live suspect
    // that already refuted answers with its current claim and our suspicion ends.
    if (s.accuser !== this.id) {
      if (this.urgent.size < this.cfg.monitorSubjects) {
        if (this.urgent.size === 0) this.urgentAtMs = nowMs
        this.urgent.add(m.id)
      }
    }
    return true
  }

  private applyDead(
    d: { id: NodeId; bootEpoch: number; incarnation: number },
    from: NodeId,
    nowMs: number,
  ): boolean {
    if (d.id === this.id) {
      this.onAccused('dead', d.bootEpoch, d.incarnation, [from], nowMs)
      return false
    }
    const m = this.table.get(d.id)
    if (!m) return false
    const cmp = order(d.bootEpoch, d.incarnation, m.bootEpoch, m.incarnation)
    if (cmp < 0) return false
    if (cmp === 0 && (m.state === 'dead' || m.state === 'left')) return false
    const wasUp = m.state === 'alive' || m.state === 'suspect'
    this.reindex(m, () => {
      m.bootEpoch = d.bootEpoch
      m.incarnation = d.incarnation
    })
    if (wasUp || m.state === 'left') this.setState(m, 'dead', nowMs, from)
    return true
  }

  /**
   * Someone says we are suspect or dead: refute with a higher incarnation (SWIM §4.2). The new
   * claim goes straight to the teller(s) and our monitors. A suspicion is known only to the
   * accuser and the monitors it told (suspicions are not gossiped), and each of them pings us
   * while it lasts with the suspicion attached, so each gets the claim in answer: the refutation
   * of a suspicion is not broadcast. A death was gossiped to everyone: that refutation is.
   */
  private onAccused(
    kind: 'suspect' | 'dead',
    bootEpoch: number,
    incarnation: number,
    tell: NodeId[],
    nowMs: number,
  ): void {
    if (this.self.state === 'left') return
    if (bootEpoch !== this.self.bootEpoch || incarnation < this.self.incarnation) {
      // About an older life or incarnation: make sure the teller learns the current claim.
      const bytes = this.self.entry
      const first = tell[0]
      if (first) this.sendFrame(first, { type: 'gossip' }, 'refute', [bytes], false)
      return
    }
    this.self.incarnation = Math.max(this.self.incarnation, incarnation)
    this.bumpSelf(nowMs, false, kind === 'dead' ? this.cfg.gossipSendsMax : 0)
    this.emit({ kind: 'member:refute', node: this.id, atMs: nowMs, incarnation: this.self.incarnation })
    this.raiseHealth(1, nowMs)
    const bytes = this.self.entry
    const to = new Set<NodeId>([...tell, ...this.monitorsOf(this.self)])
    to.delete(this.id)
    for (const t of to) this.sendFrame(t, { type: 'gossip' }, 'refute', [bytes], false)
  }

  private verify(c: Claim, from: NodeId, nowMs: number): boolean {
    if (verifyClaim(this.signer, c)) return true
    this.reject(from, 'bad-signature', nowMs)
    return false
  }

  // ---------------------------------------------------------------- table upkeep

  private insert(m: Member): void {
    m.fp = fingerprint(m.hash, m.bootEpoch, m.incarnation, digestRank(m.state))
    this.table.set(m.id, m)
    this.digest.add(m.hash, m.fp)
    if (m.state === 'alive' || m.state === 'suspect') this.ring.add(m.id, m.hash)
  }

  /** Runs `change` on m keeping the digest and ring consistent. */
  private reindex(m: Member, change: () => void): void {
    this.digest.remove(m.hash, m.fp)
    change()
    m.fp = fingerprint(m.hash, m.bootEpoch, m.incarnation, digestRank(m.state))
    this.digest.add(m.hash, m.fp)
    if (m.state === 'alive' || m.state === 'suspect') this.ring.add(m.id, m.hash)
    else this.ring.remove(m.id, m.hash)
  }

  private update(m: Member, c: Claim, state: MemberState, via: NodeId, nowMs: number): void {
    this.reindex(m, () => {
      m.bootEpoch = c.bootEpoch
      m.incarnation = c.incarnation
      const kept = keptClaim(c)
      m.meta = kept.meta
      m.entry = kept.entry
    })
    if (m.state !== state) this.setState(m, state, nowMs, via)
  }

  private setState(m: Member, state: MemberState, nowMs: number, via: NodeId): void {
    this.reindex(m, () => {
      m.state = state
    })
    m.stateSinceMs = nowMs
    this.tombstones.delete(m.id)
    if (state === 'dead' || state === 'left') this.tombstones.set(m.id, nowMs)
    if (state !== 'suspect') {
      this.suspicions.delete(m.id)
      this.notifyAtMs.delete(m.id)
    }
    this.emit({
      kind: 'member:state',
      node: this.id,
      atMs: nowMs,
      member: m.id,
      state,
      incarnation: m.incarnation,
      via,
      bootEpoch: m.bootEpoch,
    })
  }

  /**
   * New incarnation for ourselves, signed and gossiped with `frames` dedicated gossip sends
   * (0: not gossiped).
   */
  private bumpSelf(nowMs: number, left: boolean, frames: number): void {
    const s = this.self
    const claim = this.signClaim(s.bootEpoch, s.incarnation + 1, left, s.meta)
    this.reindex(s, () => {
      s.incarnation = claim.incarnation
      s.entry = claimEntryBytes(claim)
    })
    if (frames > 0) this.enqueueBytes(this.id, s.entry, nowMs, frames)
  }

  /** join() after leave(): come back at a higher incarnation. */
  private reclaimSelf(nowMs: number): void {
    this.bumpSelf(nowMs, false, this.cfg.claimGossipSendsMax)
    this.setState(this.self, 'alive', nowMs, this.id)
    this.nextProbeAtMs = nowMs
  }

  private signClaim(bootEpoch: number, incarnation: number, left: boolean, meta: MemberMeta): Claim {
    const w = new Writer(this.cfg.frameBytesMax / 2)
    writeClaimBody(w, { id: this.id, bootEpoch, incarnation, left, meta })
    const body = w.finish()
    const sig = this.signer.sign(body)
    return { id: this.id, bootEpoch, incarnation, left, meta, body, sig }
  }

  private reclaimTombstones(nowMs: number): void {
    this.nextReclaimAtMs = nowMs + this.cfg.aeIntervalMs
    // Oldest first (insertion order = time of death), so stop at the first one still young.
    for (const [id, sinceMs] of this.tombstones) {
      if (nowMs - sinceMs < this.cfg.tombstoneRetentionMs) break
      this.tombstones.delete(id)
      const m = this.table.get(id)
      if (m && m !== this.self && (m.state === 'dead' || m.state === 'left')) {
        this.digest.remove(m.hash, m.fp)
        this.table.delete(m.id)
      }
    }
  }

  private raiseHealth(delta: number, nowMs: number): void {
    if (this.healthScore.apply(delta)) this.emitHealth(nowMs)
  }

  private emitHealth(nowMs: number): void {
    this.emit({ kind: 'health:change', node: this.id, atMs: nowMs, score: this.healthScore.score })
  }

  // ---------------------------------------------------------------- dissemination (SWIM §4.1)

  /** Queues an update; `frames` of its sends may use dedicated gossip frames (default: a death's). */
  private enqueue(key: NodeId, e: Entry, nowMs: number, frames = this.cfg.gossipSendsMax): void {
    this.enqueueBytes(key, encodeEntry(e, this.cfg.frameBytesMax), nowMs, frames)
  }

  private enqueueBytes(key: NodeId, bytes: Uint8Array, nowMs: number, frames: number): void {
    if (bytes.length > this.entryBytesMax()) {
      this.rejections.add('entry-too-big')
      return
    }
    // News on a node with no gossip round pending goes out at once.
    if (this.nextGossipAtMs === Number.POSITIVE_INFINITY) this.nextGossipAtMs = nowMs
    this.queue.enqueue(key, bytes, frames)
  }

  /** Largest entry any frame can carry: a gossip or plain sync frame's room. */
  private entryBytesMax(): number {
    return this.cfg.frameBytesMax - 4
  }

  private retransmitLimit(): number {
    return this.cfg.retransmitMult * Math.ceil(Math.log10(this.ring.size + 1))
  }

  private tickGossip(nowMs: number): void {
    if (nowMs < this.nextGossipAtMs) return
    if (this.queue.size === 0) {
      this.nextGossipAtMs = Number.POSITIVE_INFINITY
      return
    }
    this.nextGossipAtMs = nowMs + this.cfg.gossipIntervalMs
    // Token bucket: under a storm of news (a mass join) gossip is capped at gossipBytesPerSecMax
    // and anti-entropy carries the bulk; normal news (a death, a refutation) never hits the cap.
    const budget = this.cfg.gossipBytesPerSecMax
    this.gossipTokens = Math.min(budget, this.gossipTokens + ((nowMs - this.gossipRefillMs) * budget) / 1000)
    this.gossipRefillMs = nowMs
    const exclude = new Set<NodeId>([this.id])
    let sent = 0
    let starved = false
    for (let i = 0; i < this.cfg.gossipFanout && this.queue.size > 0; i++) {
      const room = Math.min(this.cfg.frameBytesMax - 3, Math.floor(this.gossipTokens)) // - version, type, count
      if (room < 128) {
        starved = true
        break
      }
      const to = this.randomPeer(exclude)
      if (to === undefined) break
      exclude.add(to)
      const entries = this.queue.take(room, 64, this.retransmitLimit(), true)
      if (entries.length === 0) break
      for (const e of entries) this.gossipTokens -= e.length
      this.sendFrame(to, { type: 'gossip' }, 'gossip', entries, false)
      sent++
    }
    if (starved) return // keep the round scheduled; the budget refills
    // Nothing left for gossip frames (the rest rides on probes): stop until the next news.
    // A node that left sends its leave to a few members, then goes quiet.
    if (sent === 0) this.nextGossipAtMs = Number.POSITIVE_INFINITY
  }

  /**
   * Encodes and queues one frame: `required` entries first, then (if piggyback) a buddy notice
   * when `to` is suspect or dead in our view, then queued updates, all within frameBytesMax.
   */
  private sendFrame(
    to: NodeId,
    head: FrameHead,
    type: string,
    required: Uint8Array[],
    piggyback: boolean,
  ): void {
    // Choose the entries first, then encode into a buffer of exactly the right size.
    const headBytes = frameHeadBytes(head)
    let entries = required
    let used = 0
    for (const e of required) used += e.length
    if (piggyback && carriesEntries(head.type)) {
      const m = this.table.get(to)
      const notify = m !== undefined && m.state !== 'alive' && m.state !== 'left' && m.id !== this.id
      // Copy the required list only when something is added to it (most pings and acks add nothing).
      if (notify || this.queue.size > 0) entries = [...required]
      if (notify && m) {
        // Tell a member what we believe of it, so it can refute (memberlist: "notify the suspect").
        const notice =
          m.state === 'suspect'
            ? this.suspectEntryBytes(m)
            : encodeEntry(
                { kind: 'dead', id: m.id, bootEpoch: m.bootEpoch, incarnation: m.incarnation },
                this.cfg.frameBytesMax,
              )
        entries.push(notice)
        used += notice.length
      }
      const room = this.cfg.frameBytesMax - headBytes - 1 - used
      if (room > 16 && this.queue.size > 0) {
        for (const e of this.queue.take(room, 64, this.retransmitLimit())) {
          entries.push(e)
          used += e.length
        }
      }
    }
    const w = beginFrame(head, this.cfg.frameBytesMax, headBytes + 1 + used)
    if (carriesEntries(head.type)) {
      const n = appendEntries(w, entries)
      assert(n >= required.length, () => `required entries do not fit a frame (${required.length}, ${n} fit)`)
    }
    this.out.send.push({ to, layer: 'membership', type, bytes: w.finish() } satisfies Outbound)
  }

  // ---------------------------------------------------------------- join and anti-entropy

  private tickJoin(nowMs: number): void {
    const j = this.joining
    if (!j || nowMs < j.nextAtMs) return
    const seed = j.seeds[j.attempt % j.seeds.length] as NodeId
    j.attempt++
    j.nextAtMs = nowMs + this.cfg.joinRetryMs
    const bytes = this.self.entry
    this.sendFrame(seed, { type: 'join' }, 'join', [bytes], false)
  }

  private onJoined(nowMs: number): void {
    this.joining = undefined
    this.aeFast = true
    this.nextAeAtMs = Math.min(this.nextAeAtMs, nowMs + this.cfg.aeFastIntervalMs)
    this.nextProbeAtMs = Math.min(this.nextProbeAtMs, nowMs + this.rng.int(this.cfg.probeIntervalMs))
  }

  /**
   * A shard or global frame came from `peer`, whom we hold no claim of (the machine refuses it as
   * not-a-member): start an anti-entropy exchange with it, so that its signed claim, and whatever
   * else our view lacks and it holds, reaches us. Swarm seeds 805 and 1013: joiners whose view missed
   * their announcer refused its announcements for 10 s and never learned the leader. At most one
   * such exchange per aeFastIntervalMs (a stranger cannot make us send more).
   */
  syncWithStranger(peer: NodeId, nowMs: number): void {
    if (peer === this.id || nowMs < this.nextStrangerSyncAtMs) return
    this.nextStrangerSyncAtMs = nowMs + this.cfg.aeFastIntervalMs
    this.sendFrame(peer, { type: 'digest', hashes: Array.from(this.digest.hashes) }, 'digest', [], false)
  }

  private tickAntiEntropy(nowMs: number): void {
    if (nowMs < this.nextAeAtMs) return
    // Pages of one exchange arrive within a round trip; older notes are of finished exchanges.
    this.syncedFrom.clear()
    this.aeFast = this.aeRepairedRows >= this.cfg.aeFastRowsMin
    this.aeRepairedRows = 0
    const base = this.aeFast ? this.cfg.aeFastIntervalMs : this.cfg.aeIntervalMs
    this.nextAeAtMs = nowMs + base / 2 + this.rng.int(base)
    const peer = this.deadPeerForAntiEntropy(nowMs) ?? this.randomPeer(this.id)
    if (peer === undefined) return
    this.sendFrame(peer, { type: 'digest', hashes: Array.from(this.digest.hashes) }, 'digest', [], false)
  }

  /**
   * Now and then a member we recently declared dead (memberlist's "gossip to the dead"): if it
   * was only cut off, the exchange tells it so, it refutes, and a healed partition merges
   * instead of staying split (ring, gossip and anti-entropy otherwise only reach live members).
   * A node that holds every other member dead (the ring is only itself) asks a dead one every
   * round: it has no one else to ask, and when the other side has forgotten it (those that held
   * it dead restarted with empty tables), its own rounds are the only way back (swarm seed 278).
   */
  private deadPeerForAntiEntropy(nowMs: number): NodeId | undefined {
    if (this.tombstones.size === 0) return undefined
    const chosen = this.rng.float() < this.cfg.aeDeadPeerChance
    if (!chosen && this.ring.size > 1) return undefined
    let pick = this.rng.int(Math.min(this.tombstones.size, 64))
    // Newest tombstones are at the end of the map; walk from the end of a bounded window.
    const skip = Math.max(0, this.tombstones.size - 64)
    let i = 0
    for (const [id, sinceMs] of this.tombstones) {
      if (i++ < skip) continue
      if (pick-- > 0) continue
      const m = this.table.get(id)
      if (m?.state !== 'dead' || nowMs - sinceMs > this.cfg.deadContactMs) return undefined
      return id
    }
    return undefined
  }

  private onDigest(from: NodeId, hashes: readonly number[], nowMs: number): void {
    if (hashes.length !== this.cfg.aeBuckets) {
      this.reject(from, 'digest-buckets', nowMs)
      return
    }
    const buckets = this.digest.mismatched(hashes)
    if (buckets.length === 0) return
    this.sendFingerprints(from, buckets)
  }

  /**
   * Fingerprint round, step 2 (after the peer's digest): the fingerprints of all our rows in
   * the mismatched buckets, whole buckets only, from a random one on (so that when they do not
   * all fit in syncPagesMax frames, successive rounds cover different buckets).
   */
  private sendFingerprints(to: NodeId, buckets: readonly number[]): void {
    const slot = new Int32Array(this.digest.buckets).fill(-1)
    const start = this.rng.int(buckets.length)
    const order: number[] = []
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[(start + i) % buckets.length] as number
      slot[b] = i
      order.push(b)
    }
    const fpsOf: number[][] = order.map(() => [])
    for (const m of this.table.values()) {
      const i = slot[this.digest.bucketOf(m.hash)] as number
      if (i >= 0) fpsOf[i]?.push(m.fp)
    }
    let frames = 0
    let head: { buckets: number[]; fps: number[] } = { buckets: [], fps: [] }
    let bytes = 8 // version, type, two counts (≤ 2 B each), slack
    const flush = () => {
      if (head.buckets.length === 0) return
      this.sendFrame(to, { type: 'fingerprints', ...head }, 'fingerprints', [], false)
      frames++
      head = { buckets: [], fps: [] }
      bytes = 8
    }
    for (const [i, b] of order.entries()) {
      const fps = fpsOf[i] as number[]
      let size = varintBytes(b)
      for (const f of fps) size += varintBytes(f)
      if (fps.length > FINGERPRINTS_MAX || size + 8 > this.cfg.frameBytesMax) {
        this.rejections.add('bucket-too-big') // this bucket never fits: configure more buckets
        continue
      }
      if (head.fps.length + fps.length > FINGERPRINTS_MAX || bytes + size > this.cfg.frameBytesMax) {
        flush()
        if (frames >= this.cfg.syncPagesMax) return
      }
      head.buckets.push(b)
      for (const f of fps) head.fps.push(f)
      bytes += size
    }
    if (frames < this.cfg.syncPagesMax) flush()
  }

  /**
   * Fingerprint round, step 3: the peer listed every row it has in `buckets`. Send it our rows
   * that it lacks or holds differently, and ask for the rows of its that we lack or hold
   * differently: only rows that differ cross the wire (a newer row on either side wins on
   * arrival by the usual precedence; the older copy is ignored).
   */
  private onFingerprints(from: NodeId, buckets: readonly number[], fps: readonly number[]): void {
    const listed = new Uint8Array(this.digest.buckets)
    for (const b of buckets) if (b < listed.length) listed[b] = 1
    const theirs = new Set(fps)
    const mine = new Set<number>()
    const push: NodeId[] = []
    for (const m of this.table.values()) {
      if (listed[this.digest.bucketOf(m.hash)] !== 1) continue
      mine.add(m.fp)
      if (!theirs.has(m.fp)) push.push(m.id)
    }
    const want = fps.filter((f) => !mine.has(f)).slice(0, FINGERPRINTS_MAX)
    if (push.length > 0) this.sendSync(from, push, [])
    if (want.length > 0) this.sendFrame(from, { type: 'want', fps: want }, 'want', [], false)
  }

  /** Fingerprint round, step 4: send the rows the peer asked for. */
  private onWant(from: NodeId, fps: readonly number[]): void {
    const wanted = new Set(fps)
    const ids: NodeId[] = []
    for (const m of this.table.values()) if (wanted.has(m.fp)) ids.push(m.id)
    if (ids.length > 0) this.sendSync(from, ids, [])
  }

  /** Member ids in the given buckets (one O(N) pass: cheaper in memory than per-bucket sets). */
  private *bucketIds(buckets: readonly number[]): Generator<NodeId> {
    const wanted = new Uint8Array(this.digest.buckets)
    for (const b of buckets) if (b < wanted.length) wanted[b] = 1
    for (const m of this.table.values()) if (wanted[this.digest.bucketOf(m.hash)] === 1) yield m.id
  }

  /** A seed's first pages for a joiner: ourselves, then live members from a random ring offset. */
  private *joinPageIds(): Generator<NodeId> {
    yield this.id
    const n = this.ring.size
    const start = this.rng.int(Math.max(1, n))
    for (let i = 0; i < n; i++) {
      const id = this.ring.at(start + i)
      if (id !== undefined && id !== this.id) yield id
    }
  }

  /**
   * Sends up to syncPagesMax sync frames holding our rows for `ids`, skipping rows the peer is
   * known to hold already (`skip`: fingerprints of what it just sent us). The LAST frame carries
   * `askBuckets` (the peer answers with its rows of those buckets: push-pull), so the peer has
   * seen all our pages before it answers and can leave out what we sent.
   */
  private sendSync(
    to: NodeId,
    ids: Iterable<NodeId>,
    askBuckets: readonly number[],
    skip?: ReadonlyMap<NodeId, number>,
  ): void {
    const roomPlain = this.cfg.frameBytesMax - 4 // version, type, bucket count 0, entry count
    const roomLast =
      askBuckets.length > 0
        ? beginFrame({ type: 'sync', buckets: askBuckets }, this.cfg.frameBytesMax).remaining() - 1
        : roomPlain
    const pages: Uint8Array[][] = []
    let page: Uint8Array[] = []
    let used = 0
    for (const id of ids) {
      const m = this.table.get(id)
      if (!m || skip?.get(id) === m.fp) continue
      const bytes = this.entryOf(m)
      if (bytes.length > roomLast) continue // cannot be sent in any frame (see entryBytesMax)
      if (used + bytes.length > roomLast || page.length >= 100) {
        pages.push(page)
        page = []
        used = 0
        if (pages.length >= this.cfg.syncPagesMax) break
      }
      page.push(bytes)
      used += bytes.length
    }
    if (page.length > 0 && pages.length < this.cfg.syncPagesMax) pages.push(page)
    if (pages.length === 0 && askBuckets.length === 0) return
    if (pages.length === 0) pages.push([])
    pages.forEach((entries, i) => {
      const last = i === pages.length - 1
      this.sendFrame(to, { type: 'sync', buckets: last ? askBuckets : [] }, 'sync', entries, false)
    })
  }

  /**
   * Remembers what `from` just sent us in sync pages, so our push-back leaves it out. Bounded:
   * at most 16 peers (oldest forgotten), 1024 rows each, and cleared at every anti-entropy round.
   */
  private noteSynced(from: NodeId, entries: readonly Entry[]): Map<NodeId, number> {
    let seen = this.syncedFrom.get(from)
    if (!seen) {
      if (this.syncedFrom.size >= 16) {
        const oldest = this.syncedFrom.keys().next().value as NodeId
        this.syncedFrom.delete(oldest)
      }
      seen = new Map()
      this.syncedFrom.set(from, seen)
    }
    for (const e of entries) {
      if (seen.size >= 1024) break
      const id = e.kind === 'claim' ? e.claim.id : e.id
      const boot = e.kind === 'claim' ? e.claim.bootEpoch : e.bootEpoch
      const inc = e.kind === 'claim' ? e.claim.incarnation : e.incarnation
      const rank = e.kind === 'dead' ? 1 : e.kind === 'claim' && e.claim.left ? 2 : 0
      if (e.kind !== 'suspect')
        seen.set(id, fingerprint(this.table.get(id)?.hash ?? idHash(id), boot, inc, rank))
    }
    return seen
  }

  /** What we know of m as one entry: its claim while up or left, a dead notice once dead. */
  private entryOf(m: Member): Uint8Array {
    if (m.state === 'dead') {
      return encodeEntry(
        { kind: 'dead', id: m.id, bootEpoch: m.bootEpoch, incarnation: m.incarnation },
        this.cfg.frameBytesMax,
      )
    }
    return m.entry
  }

  // ---------------------------------------------------------------- outputs

  private emit(e: MembershipEvent): void {
    this.out.events.push(e)
  }

  /** Counts a rejection; at most one `wire:reject` event per rejectEventIntervalMs. */
  private reject(from: NodeId, code: string, nowMs: number): void {
    this.rejections.add(code)
    if (nowMs - this.lastRejectEventMs < this.cfg.rejectEventIntervalMs) return
    this.lastRejectEventMs = nowMs
    this.emit({ kind: 'wire:reject', node: this.id, atMs: nowMs, from, code })
  }
}
