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

/** Local (one machine, sub-ms latency): timeouts ÷2. */
export function localConclaveConfig(): ConclaveConfig {
  const c = lanConclaveConfig()
  c.membership = localConfig()
  c.shard = scaleShard(c.shard, 0.5)
  c.global = scaleGlobal(c.global, 0.5)
  c.shardMap.deadGraceMs = 2000
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
