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
  c.shardMap.deadGraceMs = 30_000
  return c
}

/**
 * Local: many node processes on ONE busy host (the demo, the real-process benchmark). Loopback
 * latency is sub-ms, but the processes share the CPU: measured with 25 processes on 2 cores
 * (load average ≈ 30, docs/operations.md "Why 25 nodes did not converge"), a shard vote reached
 * its candidate p50 1083 ms / p90 3676 ms after the election started, so the old ÷2 preset
 * (elections timing out after 100–175 ms, heartbeats every 50 ms) re-elected forever, and its
 * doubled heartbeat rate was itself a large part of the CPU load. This preset keeps LAN's
 * protocol and trades failover time for stability instead:
 * - shard: heartbeat 150 ms, election 600–1000 ms (4 heartbeats may be late before anyone
 *   campaigns; LAN has 2); failover ≥ 600 ms by construction.
 * - global: heartbeat 150 ms, election 700–1200 ms, rank step 40 ms (a loaded election round
 *   trip); the global timeout stays above the shard one so a shard re-elects first.
 * - membership: probe every 500 ms with 200 + 250 ms timeouts, gossip every 100 ms,
 *   suspicion ×3: fewer false suspicions of a starved process, ~2.5× fewer SWIM frames.
 */
export function localConclaveConfig(): ConclaveConfig {
  const c = lanConclaveConfig()
  c.membership = {
    ...localConfig(),
    probeIntervalMs: 500,
    probeTimeoutMs: 200,
    indirectTimeoutMs: 250,
    gossipIntervalMs: 100,
    suspicionMinMult: 3,
    suspectNotifyIntervalMs: 300,
    stallDetectMs: 2000,
  }
  c.shard = {
    ...c.shard,
    heartbeatIntervalMs: 150,
    electionTimeoutMinMs: 600,
    electionTimeoutMaxMs: 1000,
    leaseMarginMs: 20,
  }
  c.global = {
    ...c.global,
    heartbeatIntervalMs: 150,
    electionTimeoutMinMs: 700,
    electionTimeoutMaxMs: 1200,
    leaseMarginMs: 30,
    rankStepMs: 40,
  }
  c.shardMap.deadGraceMs = 3000
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
  }
}
