import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ControlLog } from './control-log.js'
import { isLogUpToDate, leaseUntilMs, quorumSize, quorumValue } from './raft-rules.js'
import { logOp, readLog } from './shard-store.js'

const empty = () =>
  new ControlLog({ index: 0, term: 0, voters: ['a', 'b', 'c'], globalVoteTerm: 0, globalVoteCandidate: '' })

describe('control log', () => {
  it('folds voters and global votes; compaction keeps the state and survives a store round-trip', () => {
    const log = empty()
    log.append({ term: 1, kind: 'noop' })
    log.append({ term: 1, kind: 'global-vote', globalTerm: 4, candidate: 'x' })
    log.append({ term: 1, kind: 'config', op: 'add', node: 'd' })
    log.append({ term: 2, kind: 'config', op: 'remove', node: 'a' })
    expect(log.voters()).toEqual(['b', 'c', 'd'])
    expect(log.globalVote()).toEqual({ term: 4, candidate: 'x' })
    expect(log.committedGlobalVote(1)).toEqual({ term: 0, candidate: '' })
    expect(log.compact(3, 1)).toBe(true)
    expect(log.snapshot.index).toBe(3)
    expect(log.voters()).toEqual(['b', 'c', 'd'])
    expect(log.globalVote()).toEqual({ term: 4, candidate: 'x' })
    const back = readLog(logOp(log).value)
    expect(back?.voters()).toEqual(['b', 'c', 'd'])
    expect(back?.lastIndex).toBe(4)
    expect(back?.termAt(4)).toBe(2)
  })

  it('refuses to truncate a committed entry (assert)', () => {
    const log = empty()
    log.append({ term: 1, kind: 'noop' })
    expect(() => log.truncateFrom(1, 1)).toThrow(/committed/)
  })
})

describe('raft rules', () => {
  it('quorum sizes', () => {
    expect([1, 2, 3, 4, 5, 9].map(quorumSize)).toEqual([1, 2, 2, 3, 3, 5])
  })

  it('quorumValue is the largest value a majority reached (oracle: count)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 9 }), (vals) => {
        const q = quorumValue(vals, vals.length)
        expect(vals.filter((v) => v >= q).length).toBeGreaterThanOrEqual(quorumSize(vals.length))
        expect(vals.filter((v) => v >= q + 1).length).toBeLessThan(quorumSize(vals.length))
      }),
    )
  })

  it('§5.4.1 up-to-date: higher last term wins, then longer log', () => {
    expect(isLogUpToDate(3, 1, 2, 9)).toBe(true)
    expect(isLogUpToDate(2, 8, 2, 9)).toBe(false)
    expect(isLogUpToDate(2, 9, 2, 9)).toBe(true)
  })

  it('lease, stretched by the slowest clock, ends before the fastest voter stops withholding', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 5000 }),
        fc.double({ min: 0, max: 0.05, noNaN: true }),
        (t, rho) => {
          const lease = leaseUntilMs(0, t, rho, 0)
          expect(lease / (1 - rho)).toBeLessThanOrEqual(t / (1 + rho) + 1e-9)
        },
      ),
    )
  })
})
