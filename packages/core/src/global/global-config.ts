/** Global group timing: the shards are the voters, shard leaders speak for them. */
export interface GlobalConfig {
  /** Global leader → shard leaders heartbeat period. Default 100 ms. */
  heartbeatIntervalMs: number
  /**
   * Randomized global election timeout range. Default 300–600 ms. Also the window in which a
   * shard leader that heard the global leader withholds its shard's global vote, and the wait of
   * a new shard leader before it grants any global vote (it inherits its predecessor's promise).
   */
  electionTimeoutMinMs: number
  electionTimeoutMaxMs: number
  /** Clock-drift bound ρ. Default 0.01. Global lease = electionTimeoutMinMs·(1−ρ)/(1+ρ) − leaseMarginMs. */
  driftBound: number
  /** Margin subtracted from the global lease. Default 20 ms. */
  leaseMarginMs: number
}

export function lanGlobalConfig(): GlobalConfig {
  return {
    heartbeatIntervalMs: 100,
    electionTimeoutMinMs: 300,
    electionTimeoutMaxMs: 600,
    driftBound: 0.01,
    leaseMarginMs: 20,
  }
}
