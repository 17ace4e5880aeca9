/** Global group timing: the shards are the voters, shard leaders speak for them. */
export interface GlobalConfig {
  /**
   * Global leader → shard leaders heartbeat period. Default 120 ms: the global leader sends and
   * receives 2 msgs per shard per heartbeat, ≈ 3300 msgs/s with 200 shards (busiest-node budget
   * 4000), and the global lease (≈ 274 ms) is still renewed twice per period.
   */
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
  /**
   * Candidate ranking (DESIGN.md: with ~200 shard leaders, plain random timeouts collide). After
   * the global leader of shard L falls silent, the leader of the shard r places after L (cyclic
   * order of shard ids, so the ids decide) times out at electionTimeoutMinMs + r·rankStepMs, for
   * r < rankedCandidatesMax; the rest use the random range above that. Default 15 ms: more than
   * one LAN election round trip (PreVote + vote + shard-log commit ≈ 4 one-way delays), so the
   * first-ranked live shard leader usually wins before the next one starts.
   */
  rankStepMs: number
  /**
   * How long past electionTimeoutMinMs the first-ranked shard leader waits (rank r waits
   * rankSlackMs + r·rankStepMs): the other shard leaders' stickiness windows, opened by the same
   * last heartbeat but received up to one delay spread later, must have closed when its PreVote
   * arrives. Too short costs at most one rank step, never a second term: a shard leader whose window
   * closes within a rank step of the PreVote's arrival answers it then (one held PreVote), later
   * ones refuse it and the next-ranked one runs. Default 0 (LAN and local presets; the LAN preset
   * had 15 ms = one rank step until session 7; tried in session 6 and reverted): the windows open when the same round arrives, at
   * most one relay hop + one delay spread (LAN: < 4 ms) plus the drift over T_g (2ρ·300 = 6 ms)
   * apart, well inside the one rank step for which a shard leader holds a PreVote; a 15 ms wait
   * only delayed every failover by 15 ms (1000 nodes: 318 ms from the last round to the first
   * PreVote). Liveness only: a grant still needs the window closed when it is answered.
   */
  rankSlackMs: number
  /**
   * A ranked candidate's timeout gets a uniform extra in [0, rankJitterMs). Default 5 ms (a third
   * of the LAN step; every preset keeps a third of its step). 0 in the local preset was tried: on
   * a test net with 1–51 ms one-way delays two ranked candidates then split a term.
   */
  rankJitterMs: number
  /** How many shard leaders get a ranked slot. Default 8 (covers a few dead shards in a row). */
  rankedCandidatesMax: number
  /**
   * Heartbeat relay (docs/protocol.md §Heartbeat relay): with at least this many other shards,
   * the global leader sends each round to ≈ √S relay shard leaders, each forwarding it to a chunk
   * of ≈ √S shards and returning their acks in one frame, so the leader handles ≈ 2√S messages
   * per round instead of 2S (S = 1000: ≈ 530 msgs/s instead of ≈ 16,700). The total message count
   * is the same; an ack reaches the leader one hop later, which shortens no lease (vouching
   * counts from the round's send time). Default 8; Infinity turns relaying off.
   */
  relayMinShards: number
  /**
   * How long a relay waits for its chunk's acks before it passes on those it has (it passes them
   * on at once when every shard answered). Default 20 ms: ≫ a LAN round trip, ≪ the heartbeat
   * period and the ≈ 274 ms lease, so a dead shard in a chunk delays the others' acks by 20 ms.
   */
  relayAckWaitMs: number
}

export function lanGlobalConfig(): GlobalConfig {
  return {
    heartbeatIntervalMs: 120,
    electionTimeoutMinMs: 300,
    electionTimeoutMaxMs: 600,
    driftBound: 0.01,
    leaseMarginMs: 20,
    rankStepMs: 15,
    rankSlackMs: 0,
    rankJitterMs: 5,
    rankedCandidatesMax: 8,
    relayMinShards: 8,
    relayAckWaitMs: 20,
  }
}
