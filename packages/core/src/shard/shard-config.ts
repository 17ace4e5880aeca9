/** Shard group timing (Raft §5.2, §9.3; DESIGN.md "Timing"). All times on the node's own clock. */
export interface ShardConfig {
  /**
   * Leader → voters heartbeat period. Default 100 ms (DESIGN.md's starting point was 50 ms; at 50 ms
   * the shard traffic alone is ≈ 64 msgs/s per node on average, over the 60 msgs/s budget that
   * also has to pay for SWIM; measured in docs/protocol.md). Smaller = faster lease renewal and
   * announcements, proportionally more messages: a 5-voter shard costs 8 msgs per heartbeat.
   */
  heartbeatIntervalMs: number
  /**
   * Randomized election timeout range (Raft §5.2). Default 200–350 ms (≥ 2 heartbeats, so one
   * lost heartbeat does not start an election; max bounds shard failover ≈ max + a few RTTs). Also the vote-withholding window: a voter
   * that heard a live leader within electionTimeoutMinMs refuses (pre)votes (Raft §4.2.3 of the thesis).
   */
  electionTimeoutMinMs: number
  electionTimeoutMaxMs: number
  /**
   * Clock-drift bound ρ (rate error of any clock). Default 0.01. The lease is
   * electionTimeoutMinMs·(1−ρ)/(1+ρ) − leaseMarginMs after the send time of an acked round.
   */
  driftBound: number
  /** Safety margin subtracted from every lease. Default 10 ms (covers clock tick granularity). */
  leaseMarginMs: number
  /** Control-log entries kept after compaction. Default 32 (bounds the persisted log and frames). */
  logEntriesMax: number
  /** Entries sent per AppendEntries. Default 8 (keeps frames ≤ 1200 B). */
  appendEntriesMax: number
}

export function lanShardConfig(): ShardConfig {
  return {
    heartbeatIntervalMs: 100,
    electionTimeoutMinMs: 200,
    electionTimeoutMaxMs: 350,
    driftBound: 0.01,
    leaseMarginMs: 10,
    logEntriesMax: 32,
    appendEntriesMax: 8,
  }
}

/** Lease length after the send time of an acked heartbeat round (see docs/protocol.md §Lease). */
export function leaseDurationMs(
  electionTimeoutMinMs: number,
  driftBound: number,
  leaseMarginMs: number,
): number {
  return (electionTimeoutMinMs * (1 - driftBound)) / (1 + driftBound) - leaseMarginMs
}
