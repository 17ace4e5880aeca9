/**
 * ConclaveConfig: membership + shard group + global group + shard map, with LAN/WAN/local presets.
 * Presets start from LAN and override only what differs (hashicorp/memberlist config.go).
 */
import { type GlobalConfig, lanGlobalConfig } from '../global/global-config.js'
import { lanConfig, localConfig, type MembershipConfig, wanConfig } from '../membership/config.js'
import { lanShardConfig, type ShardConfig } from '../shard/shard-config.js'

/** Test-only switches that turn one safety rule off, so the swarm can prove its checkers fail. */
export type UnsafeBreak = 'vote-commit' | 'lease' | 'persist'

export interface ShardMapConfig {
  /** Target voters per shard. Default 5: tolerates 2 failures, 4 messages per heartbeat round. */
  shardSizeTarget: number
  /** A shard below this many voters is merged. Default 3 (the smallest group that tolerates one failure). */
  shardSizeMin: number
  /** A shard above this many voters is split. Default 9 (heartbeat fan-out stays small). */
  shardSizeMax: number
  /** A member `dead` in membership for this long is removed from the map. Default 5000 ms. */
  deadGraceMs: number
  /**
   * `bootstrapExpect: N` founds the cluster from the min(N, this) smallest ids of the N alive
   * members; the others join it as newcomers (assigned by the global leader, splits). Default
   * undefined: all N found it (protocol.md, "Shard map").
   */
  bootstrapFoundersMax?: number
}

export interface ConclaveConfig {
  /** Membership (SWIM + Lifeguard) config, from the membership presets. */
  membership: MembershipConfig
  shard: ShardConfig
  global: GlobalConfig
  shardMap: ShardMapConfig
  /** TEST ONLY. Never set outside the simulator's `--break` runs. Default: undefined (all rules on). */
  unsafe?: { break?: UnsafeBreak }
}

export function defaultShardMapConfig(): ShardMapConfig {
  return { shardSizeTarget: 5, shardSizeMin: 3, shardSizeMax: 9, deadGraceMs: 5000 }
}

export function lanConclaveConfig(): ConclaveConfig {
  return {
    membership: lanConfig(),
    shard: lanShardConfig(),
    global: lanGlobalConfig(),
    shardMap: defaultShardMapConfig(),
  }
}

/** WAN: timeouts ×5 (one-way latency ~50–150 ms; Raft's rule: election timeout ≥ 10× latency). */
export function wanConclaveConfig(): ConclaveConfig {
  const c = lanConclaveConfig()
  c.membership = wanConfig()
  c.shard = scaleShard(c.shard, 5)
  c.global = scaleGlobal(c.global, 5)
  // The LAN preset's slack went 15 → 0 in session 7 (its delay spread, < 4 ms, is far inside the
  // 15 ms for which a shard leader holds a PreVote). A WAN round reaches shard leaders up to
  // ≈ 250 ms apart, more than the 75 ms step: keep the old slack of one step (not measured).
  c.global.rankSlackMs = c.global.rankStepMs
  c.shardMap.deadGraceMs = 30_000
  return c
}

/**
 * Local: many node processes on ONE host (the demo, the real-process benchmark). Loopback latency
 * is sub-ms; what varies is scheduling delay when the host is busy. Session 1 ran 25 processes at
 * ~4% of a core each (a whole core busy at idle) with shard elections of 600–1000 ms and global
 * elections of 700–1200 ms: stable, but failover p50 ≈ 1.3 s. Idle cost is now ≈ 1–1.5% per
 * node (docs/performance.md), so this preset moves the GLOBAL group (the failover path) close to
 * LAN and keeps the shard group and SWIM cheap:
 * - global: heartbeat 100 ms, election 360–560 ms (350–550 until session 9), rank step 40 ms, rank slack 0, rank jitter
 *   0–13 ms. Failover ≈ T_g − (phase of the last heartbeat, 0–100 ms) + jitter + one election
 *   (PreVote, vote, shard-log commit, ≈ 6 one-way delays) + one announcement hop: ≈ 300–380 ms
 *   when the host is not overloaded. The slack was a whole rank step (40 ms), then 10 ms (sessions 3–4); on
 *   loopback the heartbeat that opens every stickiness window reaches the shard leaders within a
 *   few ms of each other (25 real processes, 7 traced rounds: every other shard leader's window had
 *   closed when the first-ranked PreVote arrived, 13–30 ms before with the 10 ms slack), and since
 *   session 5 a shard leader whose window closes less than a rank step after a PreVote arrives
 *   answers it then instead of refusing (global-group.ts onPreVoteRequest), so a heartbeat that
 *   reached some of them late costs the candidate that lateness, not a rank step. Test net, 25
 *   nodes, 72 crashes, slack 10 → 0 with held PreVotes: failover p50 / mean 325 / 325 → 314 / 314
 *   ms at 1 ms one-way, 399 / 401 → 385 / 387 at 1–21 ms, 521 / 536 → 512 / 515 at 1–51 ms
 *   (node/failover-net.bench.ts); the lease does not depend on the slack.
 *   The heartbeat was 75 ms until session 4: 100 ms moves the kill's mean phase from
 *   37.5 to 50 ms after the last heartbeat (test net, 25 nodes, 72 crashes each: p50 / mean
 *   340 / 339 → 325 / 326 ms at 1 ms one-way, 414 / 418 → 398 / 402 ms at 1–21 ms) and sends a
 *   quarter fewer global frames (a real node's idle cost is per frame).
 *   The global lease (T_g·0.99/1.01 − 25: 328 ms at T_g 360) stays continuous while a shard
 *   leader's own lease basis (≤ one shard heartbeat + one round trip) plus a global heartbeat
 *   and its round trip fit in it: 328 − 150 − 100 leaves ≈ 78 ms for the two round trips, ≈ 19 ms
 *   per one-way delay (docs/protocol.md, "Global lease"). T_g was 350 until session 9, with a
 *   120 ms shard heartbeat: 318 − 120 − 100 = 98 ms. Test net, 25 nodes, 8 seeds × 60 s: lease
 *   held 100 % of the time at 1–21 ms one-way and 99.93 % at 1–51 ms (100 / 100 % with 120 /
 *   350; 160 / 350 gave 100 / 99.54 %, 160 / 370 100 / 99.97 %); failover p50 326 / 399 ms at
 *   1 / 1–21 ms one-way (312 / 387 with 150 / 350). A host slower than that only makes
 *   isLeader() lapse between rounds, never unsafe: the lease and the stickiness window both come
 *   from T_g alone. Real nodes count their lapses (conclave_lease_lapses_total).
 * - shard: heartbeat 150 ms (120 until session 9), election 480–800 ms (3 heartbeats may be
 *   late before anyone campaigns). The global failover does not wait for the dead leader's
 *   shard: the other shards elect, and the new global leader heartbeats the voters of a shard
 *   whose leader it does not know. Shard traffic is most of an idle node's frames (8 per round
 *   per 5-voter shard): 150 ms sends a fifth fewer than 120. Longer is what the global lease
 *   forbids (above): 160 ms kept T_g's 350 only at 99.54 % held at 1–51 ms, and with T_g 360 or
 *   370 it split a global term in election-scenarios' "one term per crash under scheduling
 *   jitter" (seed 6) and left the cut-off voter of "…learns the new global leader from a shard
 *   peer…" without the leader (seed 3) or 1875 ms late (bound 1600); 150 / 360 passes both.
 * - membership: probe every 2000 ms (1000 until session 9) with 200 + 250 ms timeouts,
 *   anti-entropy every 4 s (LAN: 2 s), gossip every 100 ms among 8 + 6 gossip peers (not every
 *   member: fewer connections per node), suspicion ×3: SWIM is not on the failover path
 *   (leaders are found dead by missed heartbeats); fewer frames and fewer false suspicions of a
 *   starved process. Ping + ack and the digest were ≈ 4.5 of a follower's 21.5 frames a second.
 * The global timeout is now BELOW the shard one: a global voter (shard leader) times out on the
 * global leader before a shard of the dead leader re-elects, which is what the failover needs;
 * safety does not depend on their order (protocol.md's proofs use T_g and the shard lease only).
 */
export function localConclaveConfig(): ConclaveConfig {
  const c = lanConclaveConfig()
  c.membership = {
    ...localConfig(),
    probeIntervalMs: 2000,
    probeTimeoutMs: 200,
    indirectTimeoutMs: 250,
    gossipIntervalMs: 100,
    // Gossip, anti-entropy and ping-req helpers among ≈ 8 + 2·3 gossip peers, not every member:
    // on one host every member picked is a connection (Noise, identify, yamux), and uniform picks
    // connected each of 100 nodes to ≈ 99 others while they started (performance.md, session 5).
    gossipPeers: 8,
    suspicionMinMult: 3,
    suspectNotifyIntervalMs: 300,
    stallDetectMs: 2000,
    aeIntervalMs: 4000,
  }
  c.shard = {
    ...c.shard,
    heartbeatIntervalMs: 150,
    electionTimeoutMinMs: 480,
    electionTimeoutMaxMs: 800,
    leaseMarginMs: 20,
  }
  c.global = {
    ...c.global,
    heartbeatIntervalMs: 100,
    electionTimeoutMinMs: 360,
    electionTimeoutMaxMs: 560,
    leaseMarginMs: 25,
    rankStepMs: 40,
    // Direct heartbeats up to 64 other shards (≈ 320 nodes: ≤ 2·64/100 ms ≈ 1300 msgs/s at the
    // leader): real-process runs (≤ 100 nodes) keep the one-hop lease renewal of a busy host.
    relayMinShards: 64,
    rankSlackMs: 0,
    // A third of the step, as before session 5. 0 was tried: −8 ms p50 on the 1 ms test net, but
    // at 1–51 ms one-way two ranked candidates split a term (election-scenarios.test.ts, "one term
    // per crash under scheduling jitter", seeds 1, 4 and 8).
    rankJitterMs: 40 / 3,
  }
  c.shardMap.deadGraceMs = 3000
  // One host, all nodes launched together: a deal into ≈ N/5 shards makes every shard leader
  // campaign at once, each writing to every voter over a new connection (a full mesh, ≈ 20 ms of
  // CPU per connection) while the host is starved; 100 nodes took 80–145 s to agree on a leader
  // (performance.md, sessions 8–10). 25 founders elect as the 25-node cluster does, and the
  // others join it as newcomers.
  c.shardMap.bootstrapFoundersMax = 25
  return c
}

function scaleShard(s: ShardConfig, k: number): ShardConfig {
  return {
    ...s,
    heartbeatIntervalMs: s.heartbeatIntervalMs * k,
    electionTimeoutMinMs: s.electionTimeoutMinMs * k,
    electionTimeoutMaxMs: s.electionTimeoutMaxMs * k,
    leaseMarginMs: s.leaseMarginMs * k,
  }
}

function scaleGlobal(g: GlobalConfig, k: number): GlobalConfig {
  return {
    ...g,
    heartbeatIntervalMs: g.heartbeatIntervalMs * k,
    electionTimeoutMinMs: g.electionTimeoutMinMs * k,
    electionTimeoutMaxMs: g.electionTimeoutMaxMs * k,
    leaseMarginMs: g.leaseMarginMs * k,
    rankStepMs: g.rankStepMs * k,
    rankSlackMs: g.rankSlackMs * k,
    rankJitterMs: g.rankJitterMs * k,
  }
}
