/**
 * What a node's part in the global election did, as counters: the rounds it ran as a candidate
 * and how each ended, the answers it got and when, and how it answered other candidates (with
 * the rule that refused). Operators read them as metrics (apps/node metrics.ts); the failover
 * bench sums them over the nodes when the launch's first leader is known by all. Counting only:
 * nothing here feeds back into the protocol. Every map has fixed keys (bounded).
 *
 * Why: 100 processes bootstrapping together on 2 cores took 33–39 s from "every shard has a
 * leader" to "a global leader known by all" with the global term at 3–9 (docs/performance.md,
 * "Session 9, lead"), i.e. many PreVote rounds that did not finish, for reasons the trace did not
 * say: PreVotes raise no term and leave no event.
 */
import { bucketIndex } from '../util/buckets.js'

export type GlobalPhase = 'prevote' | 'vote'

/**
 * Why a shard leader (or a voter that is not one) did not grant a global (pre)vote, in the order
 * mayGrant checks them (the first that fails is counted).
 */
export type GlobalRefusal =
  /** Not our shard's leader: the request is dropped without an answer (only leaders speak for a shard). */
  | 'not-shard-leader'
  /** No shard lease (no majority of our shard acked a recent round): we cannot speak for it. */
  | 'no-shard-lease'
  /** No shard map yet. */
  | 'no-map'
  /** The term is not above the one our shard voted in, the known leader's, or our map's. */
  | 'term'
  /** The candidate's map is behind ours (Raft §5.4.1 on the global log). */
  | 'map-behind'
  /** We lead the global group ourselves. */
  | 'leader'
  /** We heard a live global leader within electionTimeoutMinMs (stickiness). */
  | 'sticky'
  /** Our shard leadership is younger than electionTimeoutMinMs (the predecessor's promise). */
  | 'inherited'
  /** A vote request while PENDING_VOTES_MAX votes await their shard-log commit. */
  | 'votes-pending-full'

/** How one of our own (pre)vote rounds ended. */
export type GlobalRoundEnd =
  /** A majority of shards granted: on to the vote (prevote) or leadership (vote). */
  | 'won'
  /** The election timer ran out first: a new PreVote follows (or a wait without a shard lease). */
  | 'timed-out'
  /** We granted a PreVote to a candidate that ranks before us and stepped back (deferTo). */
  | 'stepped-back'
  /** A leader, a higher-term candidate we voted for, or a higher-term ack ended it. */
  | 'superseded'
  /** We stopped leading our shard. */
  | 'shard-lost'
  /** PreVote won, but our own shard could not vote for us (its lease had lapsed, or a term moved). */
  | 'no-own-vote'

/**
 * Upper bounds (ms after the round's start, inclusive) of the answer-latency buckets; the last
 * bucket is everything above. The `local` preset's election timeout is 360–560 ms, LAN 300–600.
 */
export const RESPONSE_MS_BOUNDS = [25, 50, 100, 200, 360, 560, 1000, 2000] as const

export interface GlobalElectionStats {
  /** Our own rounds started, by phase. */
  readonly started: Record<GlobalPhase, number>
  /** Our own rounds ended, by phase and how. */
  readonly ended: Record<GlobalPhase, Record<GlobalRoundEnd, number>>
  /** Election timer ran out while our shard lease had lapsed: no PreVote, a fresh timeout instead. */
  timeoutsWithoutShardLease: number
  /** Global leaderships of ours that ended (CheckQuorum: no majority of shards acked in time; a higher term). */
  leaderStepDowns: number
  /**
   * Answers to our own requests: `granted` / `refused` while the round they answer was still
   * running, `late` once it was over (the round ended, or the term moved on).
   */
  readonly answers: Record<GlobalPhase, { granted: number; refused: number; late: number }>
  /**
   * Answers that arrived while their round ran, by ms after the round started:
   * counts per RESPONSE_MS_BOUNDS bucket (one more for above the last bound).
   */
  readonly answerMs: Record<GlobalPhase, number[]>
  /** How we answered other candidates' requests: granted, or the refusal's reason. */
  readonly answered: Record<GlobalPhase, Record<'granted' | GlobalRefusal, number>>
}

const ROUND_ENDS: readonly GlobalRoundEnd[] = [
  'won',
  'timed-out',
  'stepped-back',
  'superseded',
  'shard-lost',
  'no-own-vote',
]
const REFUSALS: readonly GlobalRefusal[] = [
  'not-shard-leader',
  'no-shard-lease',
  'no-map',
  'term',
  'map-behind',
  'leader',
  'sticky',
  'inherited',
  'votes-pending-full',
]

export function globalRoundEnds(): readonly GlobalRoundEnd[] {
  return ROUND_ENDS
}

export function globalRefusals(): readonly GlobalRefusal[] {
  return REFUSALS
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>
}

export function newGlobalElectionStats(): GlobalElectionStats {
  const answered = () => zeros<'granted' | GlobalRefusal>(['granted', ...REFUSALS])
  const buckets = () => new Array<number>(RESPONSE_MS_BOUNDS.length + 1).fill(0)
  return {
    started: { prevote: 0, vote: 0 },
    ended: { prevote: zeros(ROUND_ENDS), vote: zeros(ROUND_ENDS) },
    timeoutsWithoutShardLease: 0,
    leaderStepDowns: 0,
    answers: {
      prevote: { granted: 0, refused: 0, late: 0 },
      vote: { granted: 0, refused: 0, late: 0 },
    },
    answerMs: { prevote: buckets(), vote: buckets() },
    answered: { prevote: answered(), vote: answered() },
  }
}

/** The bucket index of an answer `ms` after its round started. */
export function answerBucket(ms: number): number {
  return bucketIndex(RESPONSE_MS_BOUNDS, ms)
}
