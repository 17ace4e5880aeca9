/** Shard group timing (Raft §5.2, §9.3; DESIGN.md "Timing"). All times on the node's own clock. */
export interface ShardConfig {
  /** Leader → voters heartbeat period. Default 50 ms. Smaller = faster lease renewal, more messages. */
  heartbeatIntervalMs: number
  /**
   * Randomized election timeout range (Raft §5.2). Default 150–300 ms (= 3–6 heartbeats, so
   * one lost heartbeat does not start an election). Also the vote-withholding window: a voter
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
    heartbeatIntervalMs: 50,
    electionTimeoutMinMs: 150,
    electionTimeoutMaxMs: 300,
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
