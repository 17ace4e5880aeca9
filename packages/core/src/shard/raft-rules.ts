/**
 * The Raft rules as pure functions (RaftScope style), shared by the shard and global groups.
 */
import type { Rng } from '../util/rng.js'

/** Votes needed out of `voters` (a strict majority). */
export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1
}

/** Raft §5.4.1: grant only to a candidate whose log is at least as up-to-date as ours. */
export function isLogUpToDate(
  candLastTerm: number,
  candLastIndex: number,
  myLastTerm: number,
  myLastIndex: number,
): boolean {
  return candLastTerm > myLastTerm || (candLastTerm === myLastTerm && candLastIndex >= myLastIndex)
}

/** Raft §5.2: a fresh random timeout in [min, max] so split votes are rare. */
export function randomElectionTimeoutMs(rng: Rng, minMs: number, maxMs: number): number {
  return minMs + rng.float() * (maxMs - minMs)
}

/**
 * The value that a quorum has reached: the quorum-th largest of `values` (one per voter).
 * Used for the commit index (Raft §5.3) and for the newest heartbeat round a majority acked.
 */
export function quorumValue(values: number[], voters: number): number {
  const sorted = [...values].sort((a, b) => b - a)
  return sorted[quorumSize(voters) - 1] ?? 0
}

/**
 * Raft thesis §4.2.3 / §9.6 (leader stickiness): a voter that heard a live leader within the
 * minimum election timeout refuses (pre)votes, so a rejoining node cannot disrupt, and a leader
 * may hold a lease. `sinceHeardMs` = now − last time a current leader was heard (or boot).
 */
export function isWithholdingVote(sinceHeardMs: number, electionTimeoutMinMs: number): boolean {
  return sinceHeardMs < electionTimeoutMinMs
}

/**
 * Lease end for a round sent at roundSentMs that a majority acked. Every acking voter withholds
 * votes for electionTimeoutMinMs of ITS clock after receipt (≥ roundSent in true time), i.e. at
 * least electionTimeoutMinMs/(1+ρ) true ms. The holder's clock may run slow by (1−ρ): its local
 * lease L lasts at most L/(1−ρ) true ms. L = T·(1−ρ)/(1+ρ) − margin keeps
 * L/(1−ρ) < T/(1+ρ). See docs/protocol.md §Lease.
 */
export function leaseUntilMs(
  roundSentMs: number,
  electionTimeoutMinMs: number,
  driftBound: number,
  marginMs: number,
): number {
  return roundSentMs + (electionTimeoutMinMs * (1 - driftBound)) / (1 + driftBound) - marginMs
}

/**
 * Whether a leader may act as leader at nowMs: only while its lease holds (DESIGN.md, Lease). The
 * test-only 'lease' break ignores expiry, so the checkers can be shown to catch a leader acting on
 * an expired lease.
 */
export function isLeaseValid(
  isLeader: boolean,
  leaseEndMs: number,
  nowMs: number,
  breakLease: boolean,
): boolean {
  if (!isLeader) return false
  if (breakLease) return leaseEndMs > 0
  return nowMs < leaseEndMs
}
