/**
 * The machines' network: one long-lived, length-prefixed outbound stream per peer and layer
 * (reused for every frame: a reused stream costs ~0.1 ms per message against ~0.8 ms for a new
 * stream, see shared/notes/libp2p-on-node20.md), and inbound streams read frame by frame.
 *
 * Guarantees and bounds:
 * - Frames leave in the order `send` was called, per peer and layer.
 * - Each peer/layer send queue holds at most `queueFramesMax` frames while a stream is being
 *   opened or is congested; beyond it the oldest frame is dropped and counted (the protocols
 *   tolerate loss: SWIM retries probes, elections retry votes).
 * - A peer may hold at most `streamsPerPeerMax` inbound streams per layer (libp2p enforces it
 *   per connection, we re-check per peer) and `peersMax` channels exist at once.
 * - A frame above `frameBytesMax` or a malformed length is a counted rejection; the peer's
 *   connections are closed and it is refused for `banMs`.
 * - Inbound frames are rate-limited per peer and layer by two token buckets (frames and bytes):
 *   a frame over the limit is dropped and counted (`rate-limited`); opening an inbound stream
 *   costs one frame token too; a peer that keeps sending over
 *   the limit (more than `excessFramesBurst` dropped frames, refilled at `excessFramesPerSecond`)
 *   is cut off (`flood`). Frames the machine rejects as malformed are reported back through
 *   `strike()`: past `malformedBurst` (refilled at `malformedPerSecond`) the peer is cut off
 *   (`malformed`). Cut-offs are counted by reason and reported to `onBan` (the connection gater
 *   then refuses the peer for `banMs`); every other peer is served as before.
 * - The buckets belong to the peer, not to its streams: closing or resetting a stream and opening
 *   a new one does not refill them. A peer's rate state is forgotten only once it has been idle
 *   long enough for every bucket to be full again (so forgetting it changes nothing), or, when
 *   `rateStatesMax` states exist, oldest first.
 * - A failed dial drops that channel's queue (counted) and backs off before the next attempt.
 * - A connection the kernel has retransmitted on `stallRetransmitsMin` times without an ACK
 *   (tcp-stalls.ts: a partition that drops packets leaves TCP retransmitting with exponential
 *   backoff, seconds apart) is aborted, checked every `stallCheckMs` (off by default); counted in `stalls`. A dial
 *   whose SYN the kernel had to retransmit (unanswered for 1 s; the next retransmissions would
 *   come 2, 4, 8 s later) is aborted the same way and the next send dials again at once, so a
 *   fresh SYN leaves about once a second and the first one after a heal connects; counted in
 *   `synAborts`. Only the stalled connection goes: a fresh one to the same peer stays.
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import type { Layer, NodeId, Outbound } from '../sans-io.js'
import { RejectionCounter, WireError } from '../wire/errors.js'
import type { Clock } from './clock.js'
import { type Chunk, directReceive, isMessageStream } from './direct-path.js'
import { encodeFrame, FrameDecoder } from './frame-decoder.js'
import { LAYERS, PROTOCOLS } from './protocols.js'
import { endpointKey, rtoExpiries, stalledRemotes, unansweredSyns } from './tcp-stalls.js'
import { TokenBucket } from './token-bucket.js'

/** The slice of libp2p's components this transport uses (works for a service and standalone). */
export interface PeerStreamsComponents {
  peerId: PeerId
  registrar: {
    handle(
      protocol: string,
      handler: (stream: Stream, connection: Connection) => void | Promise<void>,
      options?: { maxInboundStreams?: number; maxOutboundStreams?: number },
    ): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
  connectionManager: {
    openConnection(
      peer: PeerId | Multiaddr | Multiaddr[],
      options?: { signal?: AbortSignal; onProgress?: (ev: { type: string }) => void },
    ): Promise<Connection>
    closeConnections(peer: PeerId): Promise<void>
    getConnections(peer?: PeerId): Connection[]
  }
  peerStore: { merge(id: PeerId, data: { multiaddrs?: Multiaddr[] }): Promise<unknown> }
}

export interface PeerStreamsLimits {
  /** Largest frame accepted or sent. Default 256 KiB: above the largest control-log snapshot. */
  frameBytesMax: number
  /** Frames queued per peer and layer while the stream opens. Default 256. */
  queueFramesMax: number
  /** Inbound streams one peer may hold per layer. Default 4 (one is normal; reconnects overlap). */
  streamsPerPeerMax: number
  /** Peers with an outbound channel at once. Default 4096. */
  peersMax: number
  /**
   * Inbound rate states (peer × layer) remembered at once. Default 12288 (peersMax × 3 layers),
   * ~2 MB at most. A state idle long enough to have refilled is dropped first; beyond that the
   * oldest is forgotten (that peer starts with full buckets again). Lower = less memory; too low
   * lets an attacker with many identities churn out a flooder's state.
   */
  rateStatesMax: number
  /**
   * Dial + stream-open timeout. Default 30 s (libp2p's own dial timeouts are raised to match). A Noise handshake takes ~10 ms on an idle host, but
   * when dozens of nodes start on 2 cores, handshakes queue for seconds; a short timeout throws
   * away handshakes that were nearly done and the retries livelock (measured: 25 nodes never
   * converged with 2 s). Frames wait in the bounded queue meanwhile.
   */
  dialTimeoutMs: number
  /** First retry delay after a failed dial, doubled per failure up to 8x. Default 250 ms. */
  redialBackoffMs: number
  /**
   * How often a stall is looked for (Linux only; 0 = never). Default 0: OFF. Each look reads the
   * kernel's count of RTO expiries (/proc/net/netstat, ~0.1 ms), and only when it moved the
   * TCP table (/proc/net/tcp{,6}: ~8-12 ms of kernel CPU here whatever the number of sockets, as
   * the kernel walks its whole connection hash table). Off because with it on (250 ms) 25-node
   * chaos clusters re-agreed later after partitions, not sooner: same commit, same schedules, back
   * to back (docs/testing.md, 2026-11-27 evening): off p50/p99 2476/3318 ms, 2 of 4 schedules lost
   * agreement; on 6592/9932 ms, 4 of 4, leaderless up to 20 s. At 9 nodes it helped (isolate-leader
   * re-agreement 0.35-0.74 s instead of 1.3-3.3 s). Why it hurts at 25 is not established.
   */
  stallCheckMs: number
  /**
   * RTO expiries without an ACK after which a connection counts as black-holed. Default 3: its
   * unacknowledged data has waited 0.2 + 0.4 + 0.8 = 1.4 s (at the 200 ms minimum RTO), and the
   * next retransmission would come 1.6 s later, then 3.2 s. Random loss rarely gives 3 in a row
   * (30 % loss: 2.7 % of lost segments), and a fresh connection over a lossy link is no worse.
   * Lower = faster recovery after a heal; too low replaces connections on a lossy link.
   */
  stallRetransmitsMin: number
  /** How long a peer that sent garbage is refused. Default 60 s. */
  banMs: number
  /**
   * Sustained inbound frames per second accepted from one peer on one layer. Default 200. The
   * busiest honest sender is a shard leader: heartbeats every 50 ms (20/s) plus appends and acks,
   * and the membership layer sends a peer a few frames per probe interval; 200/s is ~10x that.
   * Lower = a flooder costs less CPU; too low drops honest bursts (the protocols retry).
   */
  inFramesPerSecond: number
  /** Inbound frames one peer may send at once on one layer. Default 400: above a full send queue (256) flushed on reconnect. */
  inFramesBurst: number
  /** Sustained inbound bytes per second from one peer on one layer. Default 1 MiB. */
  inBytesPerSecond: number
  /** Inbound bytes one peer may send at once on one layer; at least frameBytesMax. Default 2 MiB. */
  inBytesBurst: number
  /**
   * Frames over the rate limit tolerated from one peer and layer before it is cut off (`flood`).
   * Default 100, refilled at `excessFramesPerSecond` (default 10): a short honest burst only
   * loses frames; a sender that stays over the limit for ~1 s is disconnected and banned.
   */
  excessFramesBurst: number
  excessFramesPerSecond: number
  /**
   * Frames the machine rejected as malformed tolerated from one peer and layer before it is cut
   * off (`malformed`). Default 20, refilled at `malformedPerSecond` (default 1): an honest peer of
   * another version may send the odd frame we cannot read; a fuzzer or a broken peer is cut off.
   */
  malformedBurst: number
  malformedPerSecond: number
}

export const DEFAULT_PEER_STREAMS_LIMITS: PeerStreamsLimits = {
  frameBytesMax: 256 * 1024,
  queueFramesMax: 256,
  streamsPerPeerMax: 4,
  peersMax: 4096,
  rateStatesMax: 3 * 4096,
  dialTimeoutMs: 30_000,
  redialBackoffMs: 250,
  stallCheckMs: 0,
  stallRetransmitsMin: 3,
  banMs: 60_000,
  inFramesPerSecond: 200,
  inFramesBurst: 400,
  inBytesPerSecond: 1024 * 1024,
  inBytesBurst: 2 * 1024 * 1024,
  excessFramesBurst: 100,
  excessFramesPerSecond: 10,
  malformedBurst: 20,
  malformedPerSecond: 1,
}

export interface PeerStreamsInit {
  clock: Clock
  limits?: Partial<PeerStreamsLimits>
  /** One complete frame from a peer, for the machine. */
  onFrame(from: NodeId, layer: Layer, bytes: Uint8Array): void
  /** Known multiaddrs of a member (from its gossiped metadata), used to dial it. */
  addrsOf(id: NodeId): readonly string[]
  /** A dial or stream open failed (for debug logs). */
  onDialError?(peer: NodeId, layer: Layer, error: string): void
  /** A peer was cut off for sending garbage (for logs). */
  onCutOff?(peer: NodeId, layer: Layer, reason: string): void
  /** A peer was cut off: refuse its connections until `untilMs` (the connection gater). */
  onBan?(peer: NodeId, untilMs: number): void
  /**
   * The kernel's TCP table (`/proc/net/tcp` and `tcp6` concatenated). Default: read them on
   * Linux; elsewhere stalled connections are not detected (TCP's own backoff applies).
   */
  readTcpTable?(): Promise<string>
  /**
   * The kernel's count of TCP RTO expiries (tcp-stalls.ts rtoExpiries); the TCP table is read
   * only when it moved. Default: from /proc/net/netstat on Linux; undefined (count unknown) reads
   * the table at every check.
   */
  readRtoExpiries?(): number | undefined
}

/** Counters, exported as metrics. */
export interface TrafficStats {
  sentMsgs: Map<string, number>
  sentBytes: Map<string, number>
  recvMsgs: Map<string, number>
  recvBytes: Map<string, number>
  /** Frames dropped before leaving: `queue-full`, `dial-failed`, `send-failed`, `banned`. */
  dropped: Map<string, number>
  /**
   * Connections this node opened (it had none to the peer), by the `layer/type` of the frame
   * that made it dial: who connects a cluster (docs/performance.md, session 6).
   */
  dialsByFrame: Map<string, number>
  /** Times a peer's black-holed connections were aborted and redialled (tcp-stalls.ts). */
  stalls: number
  /** Dials aborted because their SYN went unanswered (retried at once with a fresh SYN). */
  synAborts: number
  /** Reads of the kernel's TCP table (only after an RTO expiry, see stallCheckMs). */
  tcpTableReads: number
}

/** Inbound rate state of one peer on one layer (outlives its streams, see the file comment). */
interface InboundRate {
  frames: TokenBucket
  bytes: TokenBucket
  excess: TokenBucket
  malformed: TokenBucket
  /** Last time a token was asked of any bucket. */
  lastUsedMs: number
}

interface PendingDial {
  abort: AbortController
  /** `ip:port` of the addresses dialled (tcp-stalls.ts keys). */
  endpoints: Set<string>
  /** Aborted because the kernel had to retransmit its SYN. */
  synUnanswered: boolean
}

interface Channel {
  stream: Stream | undefined
  /** The connection `stream` runs on. */
  conn: Connection | undefined
  queue: Uint8Array[]
  opening: boolean
  failures: number
  retryAtMs: number
}

export class PeerStreams {
  readonly rejections = new RejectionCounter()
  /** Peers cut off, by reason (`flood`, `malformed`, or the frame error code). */
  readonly cutOffs = new RejectionCounter()
  readonly stats: TrafficStats = {
    sentMsgs: new Map(),
    sentBytes: new Map(),
    recvMsgs: new Map(),
    recvBytes: new Map(),
    dropped: new Map(),
    dialsByFrame: new Map(),
    stalls: 0,
    synAborts: 0,
    tcpTableReads: 0,
  }
  private readonly limits: PeerStreamsLimits
  /** Dials in progress (one per peer, see connect): their abort switch and TCP endpoints. */
  private readonly dials = new Map<NodeId, PendingDial>()
  /** The kernel's RTO expiry count at the last look (see stallPossible). */
  private lastRtoExpiries: number | undefined
  private stallTimer: ReturnType<typeof setInterval> | undefined
  private checkingStalls = false
  private readonly channels = new Map<string, Channel>()
  private readonly inbound = new Map<string, Set<Stream>>()
  private readonly rates = new Map<string, InboundRate>()
  private readonly bannedUntilMs = new Map<NodeId, number>()
  private readonly dialing = new Map<NodeId, Promise<Connection>>()
  private running = false

  constructor(
    private readonly components: PeerStreamsComponents,
    private readonly init: PeerStreamsInit,
  ) {
    this.limits = { ...DEFAULT_PEER_STREAMS_LIMITS, ...init.limits }
  }

  async start(): Promise<void> {
    this.running = true
    const linux = process.platform === 'linux' || this.init.readTcpTable !== undefined
    if (this.limits.stallCheckMs > 0 && linux) {
      this.lastRtoExpiries = (this.init.readRtoExpiries ?? readProcRtoExpiries)()
      this.stallTimer = setInterval(() => {
        if (!this.checkingStalls && this.stallPossible()) void this.checkStalls()
      }, this.limits.stallCheckMs)
      this.stallTimer.unref?.()
    }
    for (const layer of LAYERS) {
      await this.components.registrar.handle(
        PROTOCOLS[layer],
        (stream, connection) => this.onInbound(layer, stream, connection),
        {
          maxInboundStreams: this.limits.streamsPerPeerMax,
          maxOutboundStreams: this.limits.streamsPerPeerMax,
        },
      )
    }
  }

  async stop(): Promise<void> {
    this.running = false
    clearInterval(this.stallTimer)
    for (const layer of LAYERS) await this.components.registrar.unhandle(PROTOCOLS[layer])
    for (const ch of this.channels.values()) ch.stream?.abort(new Error('conclave stopping'))
    this.channels.clear()
    for (const set of this.inbound.values()) for (const s of set) s.abort(new Error('conclave stopping'))
    this.inbound.clear()
    this.rates.clear()
  }

  /** Queue one frame; never blocks and never throws for network reasons. */
  send(out: Outbound): void {
    if (!this.running || out.to === this.components.peerId.toString()) return
    if (out.bytes.length > this.limits.frameBytesMax)
      throw new WireError('oversized', `outbound ${out.layer}/${out.type} ${out.bytes.length} B`)
    if (this.isBanned(out.to)) {
      this.drop('banned')
      return
    }
    const key = `${out.to}\n${out.layer}`
    let ch = this.channels.get(key)
    if (!ch) {
      if (this.channels.size >= this.limits.peersMax) this.evictIdleChannel()
      ch = this.addChannel(key)
    }
    const frame = encodeFrame(out.bytes)
    const statKey = this.statKey(out.layer, out.type)
    bump(this.stats.sentMsgs, statKey, 1)
    bump(this.stats.sentBytes, statKey, frame.length)
    const stream = ch.stream
    if (stream && stream.status === 'open' && ch.queue.length === 0 && !stream.writableNeedsDrain) {
      try {
        stream.send(frame)
      } catch {
        ch.stream = undefined
        this.drop('send-failed')
      }
      return
    }
    ch.queue.push(frame)
    if (ch.queue.length > this.limits.queueFramesMax) {
      ch.queue.shift()
      this.drop('queue-full')
    }
    if (!stream && !ch.opening) void this.open(out.to, out.layer, ch, key, statKey)
  }

  /** `layer/type` names of the sent-frame counters, built once per pair (not once per frame). */
  private readonly statKeys = new Map<string, Map<string, string>>()

  private statKey(layer: Layer, type: string): string {
    let byType = this.statKeys.get(layer)
    if (!byType) {
      byType = new Map()
      this.statKeys.set(layer, byType)
    }
    let key = byType.get(type)
    if (key === undefined) {
      key = `${layer}/${type}`
      // Frame types are a fixed set per layer (wire codecs); the bound only guards a caller bug.
      if (byType.size < 64) byType.set(type, key)
    }
    return key
  }

  /**
   * Open the `layer` channel to `to` (a connection if there is none, and the stream) before any
   * frame needs it, so that the first frame sent later does not wait for a Noise handshake. A
   * dial it makes is counted in `dialsByFrame` as `<layer>/warm`. True when it started opening;
   * false when the channel exists, is opening, or backs off after a failed dial, or `to` is us.
   */
  warm(to: NodeId, layer: Layer): boolean {
    if (!this.running || to === this.components.peerId.toString() || this.isBanned(to)) return false
    const key = `${to}\n${layer}`
    let ch = this.channels.get(key)
    if (ch && (ch.stream || ch.opening || this.init.clock.nowMs() < ch.retryAtMs)) return false
    if (!ch) {
      if (this.channels.size >= this.limits.peersMax) return false
      ch = this.addChannel(key)
    }
    void this.open(to, layer, ch, key, `${layer}/warm`)
    return true
  }

  /** A new, closed channel under `key` (the caller has made room for it). */
  private addChannel(key: string): Channel {
    const ch: Channel = {
      stream: undefined,
      conn: undefined,
      queue: [],
      opening: false,
      failures: 0,
      retryAtMs: 0,
    }
    this.channels.set(key, ch)
    return ch
  }

  /** Number of open outbound channels (a gauge). */
  get channelCount(): number {
    return this.channels.size
  }

  private async open(to: NodeId, layer: Layer, ch: Channel, key: string, frameKey: string): Promise<void> {
    const nowMs = this.init.clock.nowMs()
    if (nowMs < ch.retryAtMs) {
      this.drop('dial-failed', ch.queue.length)
      ch.queue.length = 0
      return
    }
    ch.opening = true
    const dialStartMs = this.init.clock.nowMs()
    if (!this.dialing.has(to) && !this.connectedTo(to)) bump(this.stats.dialsByFrame, frameKey, 1)
    const attempt = this.connect(to)
    const dial = this.dials.get(to)
    try {
      const connection = await attempt
      await this.attach(connection, layer, ch, key, this.limits.dialTimeoutMs)
    } catch (err) {
      this.init.onDialError?.(
        to,
        layer,
        `${String(err)} (after ${Math.round(this.init.clock.nowMs() - dialStartMs)} ms)`,
      )
      ch.failures = Math.min(ch.failures + 1, 3)
      // A dial whose SYN went unanswered is retried at once: the point is a fresh SYN.
      ch.retryAtMs = dial?.synUnanswered
        ? 0
        : this.init.clock.nowMs() + this.limits.redialBackoffMs * 2 ** (ch.failures - 1)
      this.drop('dial-failed', ch.queue.length)
      ch.queue.length = 0
    } finally {
      ch.opening = false
    }
  }

  /** Open the channel's stream on `connection` and flush its queue. */
  private async attach(
    connection: Connection,
    layer: Layer,
    ch: Channel,
    key: string,
    timeoutMs: number,
  ): Promise<void> {
    const stream = await connection.newStream(PROTOCOLS[layer], {
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (!this.running || this.channels.get(key) !== ch) {
      stream.abort(new Error('channel gone'))
      return
    }
    stream.addEventListener('close', () => {
      if (ch.stream === stream) {
        ch.stream = undefined
        ch.conn = undefined
      }
    })
    stream.addEventListener('drain', () => this.flush(ch))
    ch.stream = stream
    ch.conn = connection
    ch.failures = 0
    this.flush(ch)
  }

  /**
   * Abort the connections the kernel keeps retransmitting on without an answer, and the dials
   * whose SYN it had to retransmit (tcp-stalls.ts): the next send dials again at once.
   */
  async checkStalls(): Promise<void> {
    const read = this.init.readTcpTable ?? readProcNetTcp
    if (!this.running || this.checkingStalls) return
    this.checkingStalls = true
    this.stats.tcpTableReads++
    let table: string
    try {
      table = await read()
    } catch {
      return
    } finally {
      this.checkingStalls = false
    }
    const syns = new Set(unansweredSyns(table))
    if (syns.size > 0) {
      for (const dial of this.dials.values()) {
        if (dial.synUnanswered || ![...dial.endpoints].some((e) => syns.has(e))) continue
        dial.synUnanswered = true
        this.stats.synAborts++
        dial.abort.abort(new Error('SYN unanswered'))
      }
    }
    const remotes = new Set(stalledRemotes(table, this.limits.stallRetransmitsMin))
    if (remotes.size === 0) return
    for (const c of this.components.connectionManager.getConnections()) {
      const key = remoteKey(c)
      if (key && remotes.has(key)) this.onStalled(c)
    }
  }

  /**
   * Whether a connection can have stalled since the last look: an RTO expired somewhere in this
   * network namespace (of data or of a SYN), or the count cannot be read.
   */
  stallPossible(): boolean {
    const now = (this.init.readRtoExpiries ?? readProcRtoExpiries)()
    const moved = now === undefined || now !== this.lastRtoExpiries
    this.lastRtoExpiries = now
    return moved
  }

  /**
   * Abort one black-holed connection, and only it: a fresh connection to the same peer (its side
   * or ours redialled after a heal) must not go down with it, or both sides keep tearing down
   * each other's new connections while their old ones are found one check after another.
   */
  private onStalled(c: Connection): void {
    this.stats.stalls++
    const peer = c.remotePeer.toString()
    for (const l of LAYERS) {
      const ch = this.channels.get(`${peer}\n${l}`)
      if (!ch) continue
      ch.retryAtMs = 0
      if (ch.conn !== c) continue
      ch.stream?.abort(new Error('connection stalled'))
      ch.stream = undefined
      ch.conn = undefined
    }
    c.abort(new Error('connection stalled'))
  }

  /** Whether libp2p holds a connection to `to` already (false for an unparsable id). */
  private connectedTo(to: NodeId): boolean {
    try {
      return this.components.connectionManager.getConnections(peerIdFromString(to)).length > 0
    } catch {
      return false
    }
  }

  /** One dial per peer at a time, shared by the three layers (each handshake costs CPU). */
  private connect(to: NodeId): Promise<Connection> {
    const pending = this.dialing.get(to)
    if (pending) return pending
    const dial: PendingDial = { abort: new AbortController(), endpoints: new Set(), synUnanswered: false }
    const timer = setTimeout(() => dial.abort.abort(new Error('dial timeout')), this.limits.dialTimeoutMs)
    const attempt = (async () => {
      const peer = peerIdFromString(to)
      const addrs = this.init.addrsOf(to).flatMap((a) => {
        try {
          return [multiaddr(a)]
        } catch {
          return []
        }
      })
      for (const a of addrs) {
        const key = endpointOf(a)
        if (key) dial.endpoints.add(key)
      }
      if (addrs.length > 0) await this.components.peerStore.merge(peer, { multiaddrs: addrs })
      return this.components.connectionManager.openConnection(peer, { signal: dial.abort.signal })
    })()
    this.dialing.set(to, attempt)
    this.dials.set(to, dial)
    const clear = () => {
      clearTimeout(timer)
      if (this.dialing.get(to) === attempt) this.dialing.delete(to)
      if (this.dials.get(to) === dial) this.dials.delete(to)
    }
    attempt.then(clear, clear)
    return attempt
  }

  private flush(ch: Channel): void {
    const stream = ch.stream
    if (!stream) return
    while (ch.queue.length > 0 && stream.status === 'open' && !stream.writableNeedsDrain) {
      const frame = ch.queue.shift() as Uint8Array
      try {
        stream.send(frame)
      } catch {
        ch.stream = undefined
        this.drop('send-failed')
        return
      }
    }
  }

  private onInbound(layer: Layer, stream: Stream, connection: Connection): void {
    const from = connection.remotePeer.toString()
    if (this.isBanned(from)) {
      this.rejections.add('banned')
      stream.abort(new Error('peer is cut off'))
      return
    }
    // A peer that reconnects (e.g. restarted) deserves a prompt redial from us too.
    for (const l of LAYERS) {
      const ch = this.channels.get(`${from}\n${l}`)
      if (ch) ch.retryAtMs = 0
    }
    const key = `${from}\n${layer}`
    let set = this.inbound.get(key)
    if (!set) {
      set = new Set()
      this.inbound.set(key, set)
    }
    if (set.size >= this.limits.streamsPerPeerMax) {
      this.rejections.add('too-many-streams')
      stream.abort(new Error('too many streams'))
      return
    }
    const rate = this.rateOf(key)
    // A new stream costs a frame token: resetting and reopening streams is not free. A refused
    // stream never takes a slot in `set` (it has no close listener to give it back: four refused
    // opens used to leave the peer refused on this layer as `too-many-streams` for good).
    if (this.admit(rate, from, layer, 0) !== true) {
      if (set.size === 0 && this.inbound.get(key) === set) this.inbound.delete(key)
      stream.abort(new Error('rate-limited'))
      return
    }
    set.add(stream)
    const decoder = new FrameDecoder(this.limits.frameBytesMax)
    const onChunk = (data: Chunk): void => {
      let frames: Uint8Array[]
      try {
        frames = decoder.push(data.subarray())
      } catch (err) {
        const code = err instanceof WireError ? err.code : 'bad-frame'
        this.cutOff(from, layer, code)
        return
      }
      for (const frame of frames) {
        const verdict = this.admit(rate, from, layer, frame.length)
        if (verdict === 'cut-off') return
        if (!verdict) continue
        bump(this.stats.recvMsgs, layer, 1)
        bump(this.stats.recvBytes, layer, frame.length)
        this.init.onFrame(from, layer, frame)
      }
    }
    stream.addEventListener('message', (ev) => onChunk(ev.data))
    // The stream's chunks reach the decoder by a call while nothing is buffered (direct-path.ts);
    // a stream of another kind (a test's) keeps the event.
    if (isMessageStream(stream)) directReceive(stream, onChunk, 'conclave stream')
    stream.addEventListener('close', () => {
      set.delete(stream)
      // The rate state stays (P0-1 of the closed-mesh review: deleting it here let a flooder
      // refill its buckets by resetting its stream).
      if (set.size === 0 && this.inbound.get(key) === set) this.inbound.delete(key)
    })
  }

  /**
   * Charge one frame of `bytes` (0 for a stream open) to the peer's buckets: true if it passes,
   * false if it is dropped (counted `rate-limited`), 'cut-off' once the peer is cut off (`flood`).
   */
  private admit(rate: InboundRate, from: NodeId, layer: Layer, bytes: number): boolean | 'cut-off' {
    const nowMs = this.init.clock.nowMs()
    rate.lastUsedMs = nowMs
    if (rate.frames.take(nowMs) && rate.bytes.take(nowMs, bytes)) return true
    this.rejections.add('rate-limited')
    if (rate.excess.take(nowMs)) return false
    this.cutOff(from, layer, 'flood', false)
    return 'cut-off'
  }

  /**
   * The machine rejected a frame from `peer` as malformed (already counted there). Past
   * `malformedBurst` such frames the peer is cut off.
   */
  strike(peer: NodeId, layer: Layer): void {
    const rate = this.rates.get(`${peer}\n${layer}`)
    if (!rate) return
    const nowMs = this.init.clock.nowMs()
    rate.lastUsedMs = nowMs
    if (!rate.malformed.take(nowMs)) this.cutOff(peer, layer, 'malformed', false)
  }

  /** Rate state of one inbound peer/layer, created with its first stream, kept across streams. */
  private rateOf(key: string): InboundRate {
    let rate = this.rates.get(key)
    if (!rate) {
      const l = this.limits
      const nowMs = this.init.clock.nowMs()
      if (this.rates.size >= l.rateStatesMax) this.evictRates(nowMs)
      rate = {
        frames: new TokenBucket(l.inFramesBurst, l.inFramesPerSecond, nowMs),
        bytes: new TokenBucket(Math.max(l.inBytesBurst, l.frameBytesMax), l.inBytesPerSecond, nowMs),
        excess: new TokenBucket(l.excessFramesBurst, l.excessFramesPerSecond, nowMs),
        malformed: new TokenBucket(l.malformedBurst, l.malformedPerSecond, nowMs),
        lastUsedMs: nowMs,
      }
      this.rates.set(key, rate)
    }
    return rate
  }

  /** Inbound rate states held now (bounded by `rateStatesMax`). */
  get rateStateCount(): number {
    return this.rates.size
  }

  /**
   * Make room for one rate state: drop those idle long enough to be full again (forgetting them
   * changes nothing) and, if none is, the oldest one (insertion order).
   */
  private evictRates(nowMs: number): void {
    const l = this.limits
    const refillMs = Math.max(
      (1000 * l.inFramesBurst) / l.inFramesPerSecond,
      (1000 * Math.max(l.inBytesBurst, l.frameBytesMax)) / l.inBytesPerSecond,
      (1000 * l.excessFramesBurst) / l.excessFramesPerSecond,
      (1000 * l.malformedBurst) / l.malformedPerSecond,
    )
    for (const [key, rate] of this.rates)
      if (nowMs - rate.lastUsedMs >= refillMs && !this.inbound.has(key)) this.rates.delete(key)
    while (this.rates.size >= l.rateStatesMax) {
      const oldest = this.rates.keys().next()
      if (oldest.done) break
      this.rates.delete(oldest.value)
    }
  }

  /**
   * Refuse the peer for banMs and close its connections; `code` is counted as a cut-off reason
   * and, for a bad frame (`countRejection`), also as a rejection.
   */
  cutOff(peer: NodeId, layer: Layer, code: string, countRejection = true): void {
    if (countRejection) this.rejections.add(code)
    this.cutOffs.add(code)
    const untilMs = this.init.clock.nowMs() + this.limits.banMs
    this.bannedUntilMs.set(peer, untilMs)
    this.init.onBan?.(peer, untilMs)
    if (this.bannedUntilMs.size > this.limits.peersMax) {
      const nowMs = this.init.clock.nowMs()
      for (const [p, until] of this.bannedUntilMs) if (until <= nowMs) this.bannedUntilMs.delete(p)
      // Still full (many identities cut off within banMs): forget the oldest bans, keep the bound.
      for (const p of this.bannedUntilMs.keys()) {
        if (this.bannedUntilMs.size <= this.limits.peersMax) break
        this.bannedUntilMs.delete(p)
      }
    }
    this.init.onCutOff?.(peer, layer, code)
    for (const l of LAYERS) {
      for (const s of this.inbound.get(`${peer}\n${l}`) ?? []) s.abort(new Error(`cut off: ${code}`))
      const ch = this.channels.get(`${peer}\n${l}`)
      ch?.stream?.abort(new Error(`cut off: ${code}`))
      this.channels.delete(`${peer}\n${l}`)
    }
    void this.components.connectionManager.closeConnections(peerIdFromString(peer)).catch(() => {})
  }

  /** Peers the transport refuses now or did until recently (bounded by `peersMax`). */
  get banCount(): number {
    return this.bannedUntilMs.size
  }

  /** Whether the transport refuses `peer` now. */
  isBannedPeer(peer: NodeId): boolean {
    return this.isBanned(peer)
  }

  private isBanned(peer: NodeId): boolean {
    const until = this.bannedUntilMs.get(peer)
    if (until === undefined) return false
    if (until > this.init.clock.nowMs()) return true
    this.bannedUntilMs.delete(peer)
    return false
  }

  private evictIdleChannel(): void {
    for (const [key, ch] of this.channels) {
      if (!ch.opening && ch.queue.length === 0) {
        ch.stream?.abort(new Error('evicted'))
        this.channels.delete(key)
        return
      }
    }
    const first = this.channels.keys().next()
    if (!first.done) this.channels.delete(first.value)
  }

  private drop(reason: string, n = 1): void {
    if (n > 0) bump(this.stats.dropped, reason, n)
  }
}

/** The `ip:port` key of a connection's remote end (as tcp-stalls.ts names it), if IP and TCP. */
function remoteKey(c: Connection): string | undefined {
  return endpointOf(c.remoteAddr)
}

function endpointOf(ma: Multiaddr): string | undefined {
  let ip: string | undefined
  let port: number | undefined
  for (const part of ma.getComponents()) {
    if (part.name === 'ip4' || part.name === 'ip6') ip = part.value
    else if (part.name === 'tcp' && part.value !== undefined) port = Number(part.value)
  }
  return ip === undefined || port === undefined ? undefined : endpointKey(ip, port)
}

/** TCPTimeouts of /proc/net/netstat: ~4 KB, read synchronously (~0.1 ms). */
function readProcRtoExpiries(): number | undefined {
  try {
    return rtoExpiries(readFileSync('/proc/net/netstat', 'utf8'))
  } catch {
    return undefined
  }
}

async function readProcNetTcp(): Promise<string> {
  const parts = await Promise.all(
    ['/proc/net/tcp', '/proc/net/tcp6'].map((f) => readFile(f, 'utf8').catch(() => '')),
  )
  return parts.join('\n')
}

function bump(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n)
}
