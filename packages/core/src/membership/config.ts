/**
 * Membership tunables and the LAN / WAN / local presets (layout after hashicorp/memberlist's
 * config.go). `lanConfig()` is the base; the other presets override only what differs.
 *
 * Timing rule of thumb: probeTimeoutMs · (1 + probeRetries) + indirectTimeoutMs must fit inside
 * probeIntervalMs, so that one probe round ends before the next starts (asserted by
 * `validateConfig`).
 */
import { assert } from '../util/assert.js'

export interface MembershipConfig {
  /**
   * Time between two probe rounds. Each round probes ONE subject (round-robin over the
   * `monitorSubjects` ring successors), so every node receives about one probe per interval.
   * Default LAN 200 ms. Load: about 4 frames per interval per node (ping, ack, in and out).
   * Trade-off: shorter detects crashes sooner (first suspicion ≈ interval/2 + probe and indirect
   * timeouts) but costs proportionally more messages.
   */
  probeIntervalMs: number
  /**
   * How long to wait for a direct ack before asking helpers (SWIM §3.1 "ping-req").
   * Default LAN 50 ms (10× the worst LAN round trip). Stretched by local health: × (1 + health).
   * Trade-off: too short turns slow links into indirect probes; too long delays detection.
   */
  probeTimeoutMs: number
  /**
   * Direct re-pings (each waiting probeTimeoutMs) before asking helpers. Default LAN 1, WAN and
   * local 0. Under random loss p a direct round trip fails with 1 − (1 − p)²  (19 % at 10 %
   * loss); a retry makes the ~15-frame indirect round (ping-req, helper pings and acks, relayed
   * acks, nacks) that much rarer (3.6 % at 10 % loss) for 2 frames. Trade-off: each retry adds
   * probeTimeoutMs to the first suspicion of a crashed node.
   */
  probeRetries: number
  /**
   * How long after the ping-reqs went out to wait for a relayed ack before suspecting.
   * Default LAN 100 ms. Helpers send a Lifeguard nack at `nackFraction` of it. Stretched by health.
   */
  indirectTimeoutMs: number
  /** Helpers asked to probe indirectly (SWIM's k). Default 3. More helpers: fewer false suspicions, more load. */
  indirectProbes: number
  /** Fraction of indirectTimeoutMs after which a helper that got no ack sends a nack (Lifeguard §4.3). Default 0.8. */
  nackFraction: number
  /**
   * Subjects each node monitors: its K successors on a ring of hashed ids, so each node is watched
   * by its K predecessors. Default 3. Also the number of independent suspicions a suspect can
   * collect (confirmations expected = K − 1). More: more redundancy, more suspicion traffic.
   */
  monitorSubjects: number
  /**
   * Lifeguard suspicion minimum (§4.2 / memberlist SuspicionMult): the timeout once all expected
   * confirmations arrived is  min = suspicionMinMult · max(1, log10(N)) · probeIntervalMs.
   * Default LAN 0.8 (480 ms at N = 1000). Trade-off: the window a falsely suspected node has to
   * refute (it is notified every suspectNotifyIntervalMs) versus how long a crashed node stays
   * suspect. Only reached with all expected confirmations, i.e. when every monitor failed too.
   */
  suspicionMinMult: number
  /**
   * Lifeguard suspicion maximum: max = suspicionMaxMult · min, used with no confirmation, and
   * decaying as  timeout(C) = max(min, max − (max − min) · log(C + 1) / log(K))  with C
   * independent confirmations and K − 1 expected. Default 4. Higher: a lone accuser (often the
   * slow one) needs much longer to kill a node.
   */
  suspicionMaxMult: number
  /**
   * While a subject is suspected, how often an accuser re-sends the suspicion to it (SWIM's
   * buddy system, memberlist's "notify the suspect"), so a lost notice does not cost a false death.
   * Default LAN 150 ms.
   */
  suspectNotifyIntervalMs: number
  /**
   * Retransmit multiplier λ: each gossiped update is sent λ · ceil(log10(N + 1)) times (SWIM §4.1,
   * memberlist RetransmitMult). Default 3 (12 sends at N = 1000). Higher: fewer nodes miss an
   * update (miss chance ≈ e^(−sends)), more bytes.
   */
  retransmitMult: number
  /**
   * Fast gossip round: while updates are pending, push them to `gossipFanout` random members every
   * gossipIntervalMs; a round also starts at once when news arrives on an empty queue, so an update
   * crosses the cluster at network speed. Default LAN 50 ms. Idle nodes send nothing.
   */
  gossipIntervalMs: number
  /** Members per gossip round. Default 3. Spread ≈ log_(fanout+1)(N) rounds. */
  gossipFanout: number
  /**
   * Whom gossip rounds, anti-entropy rounds and ping-req helpers pick from. 0 (default, LAN and
   * WAN): any live member, uniformly. P > 0: only this node's gossip peers, a bounded set that
   * changes little as the cluster grows: its `monitorSubjects` ring successors and predecessors
   * plus the P members with the lowest symmetric pair score (ring.ts `lowestPairScores`); the
   * set is connected through the ring, and the scored members give it short paths (a random
   * graph of degree ≥ P). Gossip-to-the-dead (aeDeadPeerChance) still picks any recently dead
   * member. Why: on real transports every member picked is a connection (a Noise handshake at
   * both ends, identify, a muxer, keep-alives): uniform picks connect every node to every other
   * within minutes, ~N connections per node. With P, a node talks to ≈ P + 2·monitorSubjects
   * members for membership (plus its shard and, for shard leaders, the other shard leaders).
   * Trade-off: news crosses ≈ log_P(N) hops instead of log_N; smaller P = fewer connections,
   * more hops. The `local` preset (many processes on one host) sets 8.
   */
  gossipPeers: number
  /**
   * How many of an update's λ·ceil(log10(N + 1)) sends may use dedicated gossip frames; the rest
   * ride for free on pings and acks (to ring neighbours, so a node the fast rounds missed hears
   * within about one probe interval). Default 6 (two rounds at fanout 3). Trade-off: higher
   * spreads faster and more surely, but every update costs each node this many extra frames.
   */
  gossipSendsMax: number
  /**
   * The same for a claim that is not the refutation of a death: a member joined, restarted (new
   * boot epoch), left, or changed its metadata. Default 3 (one round at fanout 3; gossipSendsMax
   * stays for deaths and their refutations, which the failure-detection figures measure). One
   * round leaves ≈ e^-3 ≈ 5 % of the nodes to hear it on a probe within a few intervals instead of
   * a second round 50 ms later; it saves every node ≈ 2 frames per such claim (churn at 1000
   * nodes: 3 of its 4 pieces of news). Must be ≤ gossipSendsMax.
   */
  claimGossipSendsMax: number
  /**
   * Byte budget of dedicated gossip frames per second (token bucket, burst = one second's worth).
   * Default LAN 16000. A death or refutation costs ≈ 6 × 70–500 B and never touches it; a mass
   * join would otherwise flood every node with full frames every gossipIntervalMs, so there
   * anti-entropy carries the bulk instead. Lower: less load under storms, slower join spread.
   */
  gossipBytesPerSecMax: number
  /** Bound on pending updates; above it the most-transmitted update is dropped (anti-entropy repairs). Default 128: steady state needs a handful; a mass join overflows it on purpose and leaves the bulk to anti-entropy. */
  broadcastQueueMax: number
  /**
   * Anti-entropy: every aeIntervalMs exchange a bucket digest with one random member and repair
   * mismatched buckets (push-pull). Default LAN 2000 ms. Catches what gossip missed; its cost is
   * one digest (≈ 5 · aeBuckets bytes) each way.
   */
  aeIntervalMs: number
  /** Anti-entropy interval while still catching up (the last interval repaired ≥ aeFastRowsMin rows, or just joined). Default 200 ms. */
  aeFastIntervalMs: number
  /**
   * Rows repaired by anti-entropy within one interval that switch to aeFastIntervalMs. Default 8.
   * A few differing rows are normal (a refutation spreads lazily, see docs/membership.md) and do
   * not justify a digest every 200 ms; a join or a healed partition repairs hundreds.
   */
  aeFastRowsMin: number
  /**
   * Chance that an anti-entropy round goes to a recently dead member instead of a live one
   * (memberlist's gossip-to-the-dead). Default 0.25. It is how a healed partition merges: the
   * cut-off side learns it was declared dead and refutes. Cost: a lost frame per crash now and then.
   */
  aeDeadPeerChance: number
  /** How long after its death a member may still be picked by aeDeadPeerChance. Default LAN 30 s. */
  deadContactMs: number
  /** Digest buckets (hash(id) mod aeBuckets). Must be equal cluster-wide. Default 128. More: finer repair, bigger digest. */
  aeBuckets: number
  /** Bound on sync pages (≤ frameBytesMax each) sent in reply to one digest or one join. Default 4. */
  syncPagesMax: number
  /** Re-send the join to the next seed after this long without a reply. Default LAN 500 ms. */
  joinRetryMs: number
  /** Lifeguard local health score ceiling S (Lifeguard §4.1 awareness). Default 8: timeouts stretch up to 9×. */
  healthMax: number
  /**
   * A gap between two ticks longer than this is treated as a stall of this process (as if
   * notePause had been called). Default LAN 1000 ms. Protects against accusing others after a stall.
   */
  stallDetectMs: number
  /** Dead and left members are forgotten after this long (bounds memory; stale claims may then re-enter). Default 5 min. */
  tombstoneRetentionMs: number
  /** Hard bound on known members (the table refuses new ones above it, counted `members-full`). Default 20000. */
  membersMax: number
  /** Bound on outstanding ping-req relays this node performs for others. Default 64. */
  relaysMax: number
  /** Every frame is at most this many bytes; piggyback is budgeted to fit. Default 1200 (one UDP-sized datagram). */
  frameBytesMax: number
  /** At most one `wire:reject` event per this interval (the counter still counts all). Default 1000 ms. */
  rejectEventIntervalMs: number
}

/** LAN (one-way 0.2–2 ms): the base preset. */
export function lanConfig(): MembershipConfig {
  return {
    probeIntervalMs: 200,
    probeRetries: 1,
    probeTimeoutMs: 50,
    indirectTimeoutMs: 100,
    indirectProbes: 3,
    nackFraction: 0.8,
    monitorSubjects: 3,
    suspicionMinMult: 0.8,
    suspicionMaxMult: 4,
    suspectNotifyIntervalMs: 150,
    retransmitMult: 3,
    gossipIntervalMs: 50,
    gossipFanout: 3,
    gossipPeers: 0,
    gossipSendsMax: 6,
    claimGossipSendsMax: 3,
    gossipBytesPerSecMax: 16000,
    broadcastQueueMax: 128,
    aeIntervalMs: 2000,
    aeFastIntervalMs: 200,
    aeFastRowsMin: 8,
    aeBuckets: 128,
    aeDeadPeerChance: 0.25,
    deadContactMs: 30_000,
    syncPagesMax: 4,
    joinRetryMs: 500,
    healthMax: 8,
    stallDetectMs: 1000,
    tombstoneRetentionMs: 5 * 60_000,
    membersMax: 20_000,
    relaysMax: 64,
    frameBytesMax: 1200,
    rejectEventIntervalMs: 1000,
  }
}

/** WAN (one-way 20–150 ms): timeouts follow the round trip; slower rounds keep the load flat. */
export function wanConfig(): MembershipConfig {
  return {
    ...lanConfig(),
    probeIntervalMs: 1000,
    probeRetries: 0,
    probeTimeoutMs: 300,
    indirectTimeoutMs: 600,
    suspicionMinMult: 2,
    suspectNotifyIntervalMs: 500,
    gossipIntervalMs: 200,
    aeIntervalMs: 10_000,
    aeFastIntervalMs: 1000,
    deadContactMs: 120_000,
    joinRetryMs: 2000,
    stallDetectMs: 3000,
  }
}

/** One host (loopback, real processes on a busy machine): LAN timing with room for event-loop jitter. */
export function localConfig(): MembershipConfig {
  return {
    ...lanConfig(),
    probeRetries: 0,
    probeTimeoutMs: 80,
    indirectTimeoutMs: 110,
    suspicionMinMult: 2,
  }
}

/** Throws on a configuration that cannot work (a bug in the caller, not a runtime condition). */
export function validateConfig(c: MembershipConfig): void {
  assert(
    c.probeIntervalMs > 0 && c.probeTimeoutMs > 0 && c.indirectTimeoutMs > 0,
    'membership timings must be > 0',
  )
  assert(
    Number.isInteger(c.probeRetries) && c.probeRetries >= 0 && c.probeRetries <= 3,
    'probeRetries in 0..3',
  )
  const roundMs = c.probeTimeoutMs * (1 + c.probeRetries) + c.indirectTimeoutMs
  assert(
    roundMs <= c.probeIntervalMs,
    () =>
      `probeTimeoutMs · (1 + probeRetries) + indirectTimeoutMs (${roundMs}) > probeIntervalMs (${c.probeIntervalMs})`,
  )
  assert(c.monitorSubjects >= 1 && c.monitorSubjects <= 16, 'monitorSubjects in 1..16')
  assert(c.indirectProbes >= 0 && c.indirectProbes <= 16, 'indirectProbes in 0..16')
  assert(c.suspicionMaxMult >= 1, 'suspicionMaxMult >= 1')
  assert(c.gossipFanout >= 1 && c.retransmitMult >= 1, 'gossipFanout, retransmitMult >= 1')
  assert(
    Number.isInteger(c.gossipPeers) && c.gossipPeers >= 0 && c.gossipPeers <= 1024,
    'gossipPeers in 0..1024',
  )
  assert(c.gossipSendsMax >= 1, 'gossipSendsMax >= 1')
  assert(
    c.claimGossipSendsMax >= 0 && c.claimGossipSendsMax <= c.gossipSendsMax,
    'claimGossipSendsMax in 0..gossipSendsMax',
  )
  assert(c.gossipBytesPerSecMax >= c.frameBytesMax, 'gossipBytesPerSecMax >= frameBytesMax')
  assert(c.aeBuckets >= 1 && c.aeBuckets <= 1024, 'aeBuckets in 1..1024')
  assert(c.frameBytesMax >= 512 && c.frameBytesMax <= 65_536, 'frameBytesMax in 512..65536')
  assert(c.nackFraction > 0 && c.nackFraction < 1, 'nackFraction in (0, 1)')
}
