import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { conclaveSubject, type ElectionReport, ElectionRun, idsFor, raftPaperTiming } from '@conclave/sim'
import { describe, expect, it } from 'vitest'
import { main } from '../cli.js'
import type { FailoverPhases } from './failover-phases.js'
import { phaseSteps, poolReports, readReports } from './pool.js'

async function run(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = []
  const code = await main(args, { out: (l) => lines.push(l), err: () => {}, errIsTTY: false })
  return { code, lines }
}

async function report(args: string[]): Promise<ElectionReport> {
  const { lines } = await run([...args, '--json'])
  return JSON.parse(lines.at(-1) as string) as ElectionReport
}

const crash = ['--seed', '2', '--scenario', 'crash-global-leader', '--repeats', '2']

describe('equal failure-detection timing', () => {
  it('runs the baselines at their own timing or at Conclave global group timing', async () => {
    for (const algo of ['raft', 'bully']) {
      const own = await report(['baseline', '--algo', algo, '--nodes', '12', ...crash])
      expect(own.detection).toEqual({ heartbeatIntervalMs: 50, timeoutMinMs: 150, timeoutMaxMs: 300 })
      const eq = await report(['baseline', '--algo', algo, '--nodes', '12', ...crash, '--timing', 'conclave'])
      expect(eq.detection).toEqual({ heartbeatIntervalMs: 120, timeoutMinMs: 300, timeoutMaxMs: 600 })
      expect(eq.globalFailovers).toBe(2)
      // Detection starts ≥ 300 ms after the last heartbeat, which came ≤ 120 ms before the crash.
      for (const s of eq.globalFailoverSamplesMs) expect(s).toBeGreaterThan(300 - 120)
      expect(eq.traceHash).not.toBe(own.traceHash)
    }
    // own-rtt: the own detection timing, Bully's answer bound 15 ms instead of 50: faster failovers.
    const args = ['baseline', '--algo', 'bully', '--nodes', '12', ...crash]
    const own = await report(args)
    const rtt = await report([...args, '--timing', 'own-rtt'])
    expect(rtt.detection).toEqual(own.detection)
    expect(Math.max(...rtt.globalFailoverSamplesMs)).toBeLessThan(Math.min(...own.globalFailoverSamplesMs))
    const bad = await run(['baseline', '--algo', 'raft', '--nodes', '12', '--timing', 'raft-paper'])
    expect(bad.code).toBe(2)
  })

  it('runs Conclave global group at the Raft-paper timing, safely', async () => {
    const args = ['election', '--nodes', '10', ...crash, '--start', 'converged']
    const lan = await report(args)
    expect(lan.detection).toEqual({ heartbeatIntervalMs: 120, timeoutMinMs: 300, timeoutMaxMs: 600 })
    const fast = await report([...args, '--timing', 'raft-paper'])
    expect(fast.detection).toEqual({ heartbeatIntervalMs: 50, timeoutMinMs: 150, timeoutMaxMs: 300 })
    expect(fast.violations).toBe(0)
    expect(fast.livenessOk).toBe(true)
    expect(fast.globalFailovers).toBe(2)
    // The global election timeout starts at 150 ms instead of 300: failover is shorter.
    expect(Math.max(...fast.globalFailoverSamplesMs)).toBeLessThan(Math.min(...lan.globalFailoverSamplesMs))
  })
})

describe('the Raft-paper timing keeps the global lease continuous', () => {
  /** Milliseconds (of 2000, sampled every 1 ms) in which no node held the global lease. */
  function leaseGapMs(opts: Partial<ReturnType<typeof raftPaperTiming>>): number {
    const ids = idsFor(30, 1)
    const run = new ElectionRun({
      subject: conclaveSubject({ ids, convergedStart: true, ...opts }),
      ids,
      seed: 1,
    })
    expect(run.runUntilAgreed(30_000)).toBeDefined()
    run.sim.runFor(3000)
    let gaps = 0
    for (let t = 0; t < 2000; t++) {
      run.sim.runFor(1)
      if (run.actingLeader() === undefined) gaps++
    }
    return gaps
  }

  it('only with the shard layer at 50 ms too (a shard leader vouches as far as its shard lease)', () => {
    const timing = raftPaperTiming()
    expect(leaseGapMs({ global: timing.global })).toBeGreaterThan(100)
    expect(leaseGapMs(timing)).toBe(0)
  })
})

describe('--crash-jitter and --phases', () => {
  it('leaves the trace alone at 0, moves the crashes otherwise; phases come in order', async () => {
    const args = ['election', '--nodes', '10', ...crash, '--start', 'converged']
    const plain = await report(args)
    const zero = await report([...args, '--crash-jitter', '0'])
    expect(zero.traceHash).toBe(plain.traceHash)
    const { lines } = await run([...args, '--crash-jitter', '600', '--phases', '--json'])
    const jittered = JSON.parse(lines.at(-1) as string) as ElectionReport
    expect(jittered.traceHash).not.toBe(plain.traceHash)
    const { phases } = JSON.parse(lines.at(-2) as string) as { phases: FailoverPhases[] }
    expect(phases.length).toBe(2)
    for (const p of phases) {
      const order = [
        p.lastHeartbeatMs,
        0,
        p.firstPreVoteMs,
        p.firstVoteRequestMs,
        p.majorityOfShardVotesMs,
        p.newLeaderMs,
        p.allShardLeadersKnowMs,
        p.allNodesKnowMs,
      ]
      for (const v of order) expect(v).not.toBeNull()
      for (let i = 1; i < order.length; i++)
        expect(order[i] as number).toBeGreaterThanOrEqual(order[i - 1] as number)
      expect(p.newLeaderFirstHeartbeatMs as number).toBeGreaterThanOrEqual(p.newLeaderMs as number)
    }
    // The recorder only reads counters and the trace: the run is the same without it.
    const again = await report([...args, '--crash-jitter', '600'])
    expect(again.traceHash).toBe(jittered.traceHash)
    expect(jittered.globalFailoverSamplesMs).toEqual(again.globalFailoverSamplesMs)
    // allNodesKnow is the failover figure itself.
    expect(phases.map((p) => p.allNodesKnowMs)).toEqual(jittered.globalFailoverSamplesMs)
  })

  it('records the baselines too: last heartbeat, first election message, new leader, all know', async () => {
    for (const algo of ['bully', 'raft']) {
      const args = ['baseline', '--algo', algo, '--nodes', '10', ...crash, '--timing', 'conclave']
      const { lines } = await run([...args, '--crash-jitter', '600', '--phases', '--json'])
      const r = JSON.parse(lines.at(-1) as string) as ElectionReport
      const { phases } = JSON.parse(lines.at(-2) as string) as { phases: FailoverPhases[] }
      expect(phases.length, algo).toBe(2)
      for (const p of phases) {
        const order = [p.lastHeartbeatMs, 0, p.firstElectionMsgMs, p.newLeaderMs, p.allNodesKnowMs]
        for (const v of order) expect(v, algo).not.toBeNull()
        for (let i = 1; i < order.length; i++)
          expect(order[i] as number, algo).toBeGreaterThanOrEqual(order[i - 1] as number)
        // Detection: no election message before the 300 ms timeout after the last round.
        expect((p.firstElectionMsgMs as number) - (p.lastHeartbeatMs as number), algo).toBeGreaterThanOrEqual(
          300,
        )
        expect(p.firstPreVoteMs, algo).toBeNull()
        expect(p.allShardLeadersKnowMs, algo).toBeNull()
      }
      expect(phases.map((p) => p.allNodesKnowMs)).toEqual(r.globalFailoverSamplesMs)
      const again = await report([...args, '--crash-jitter', '600'])
      expect(again.traceHash, algo).toBe(r.traceHash)
    }
  })
})

describe('--crash-phase (paired crash phases)', () => {
  it('crashes the leader the given ms after its last round, the same phases for every algorithm', async () => {
    const phasesMs = [0, 40, 110]
    const runs: Array<{ algo: string; args: string[] }> = [
      { algo: 'conclave', args: ['election', '--nodes', '10', '--start', 'converged'] },
      { algo: 'bully', args: ['baseline', '--algo', 'bully', '--nodes', '10', '--timing', 'conclave'] },
    ]
    for (const { algo, args } of runs) {
      const full = [...args, '--seed', '2', '--scenario', 'crash-global-leader', '--repeats', '3']
      const { lines } = await run([...full, '--crash-phase', phasesMs.join(','), '--phases', '--json'])
      const r = JSON.parse(lines.at(-1) as string) as ElectionReport
      const { phases } = JSON.parse(lines.at(-2) as string) as { phases: FailoverPhases[] }
      expect(r.crashPhasesMs, algo).toEqual(phasesMs)
      expect(phases.length, algo).toBe(3)
      // The recorder samples every 0.5 ms and the crash comes ≤ 0.05 ms late: within 0.6 ms.
      phases.forEach((p, k) => {
        expect(p.lastHeartbeatMs, algo).not.toBeNull()
        expect(
          Math.abs((p.lastHeartbeatMs as number) + (phasesMs[k] as number)),
          `${algo} crash ${k}`,
        ).toBeLessThan(0.6)
      })
      // Same seed and phases: the same run; without the option the crashes fall elsewhere.
      const again = await report([...full, '--crash-phase', phasesMs.join(',')])
      expect(again.traceHash, algo).toBe(r.traceHash)
      const plain = await report(full)
      expect(plain.crashPhasesMs, algo).toEqual([])
      expect(plain.traceHash, algo).not.toBe(r.traceHash)
    }
  })

  it('refuses --crash-jitter with it and values out of range', async () => {
    const args = ['election', '--nodes', '10', ...crash]
    expect((await run([...args, '--crash-phase', '10', '--crash-jitter', '600'])).code).not.toBe(0)
    expect((await run([...args, '--crash-phase', '10,x'])).code).not.toBe(0)
    expect((await run([...args, '--crash-phase', '1001'])).code).not.toBe(0)
  })
})

describe('pnpm sim pool', () => {
  const base = (seed: number, samples: number[]): ElectionReport =>
    ({
      algo: 'bully',
      nodes: 1000,
      seed,
      scenario: 'crash-global-leader',
      start: 'join',
      detection: { heartbeatIntervalMs: 50, timeoutMinMs: 150, timeoutMaxMs: 300 },
      crashJitterMs: 600,
      globalFailovers: samples.length,
      globalFailoversUnrecovered: 0,
      globalFailoverSamplesMs: samples,
      electionMsgsPerFailover: 10 * seed,
      electionMsgsPerFailoverAboveSteady: seed,
      msgsPerNodePerSecMean: 40 + seed,
      msgsPerNodePerSecMax: 1000 * seed,
      violations: seed === 2 ? 1 : 0,
      livenessOk: true,
    }) as unknown as ElectionReport

  it('takes percentiles over every failover of every seed, not over per-seed figures', () => {
    // 3 seeds x 3 failovers; per-seed "p99" would be each seed's max.
    const rows = poolReports([base(1, [100, 110, 120]), base(2, [200, 210, 900]), base(3, [130, 140, 150])])
    expect(rows).toHaveLength(1)
    const r = rows[0]!
    expect(r.failovers).toBe(9)
    expect(r.p50Ms).toBe(140)
    expect(r.p99Ms).toBe(900)
    expect(r.maxMs).toBe(900)
    // mean 2060 / 9; sample standard deviation 254.48, so SE = 254.48 / √9
    expect(r.meanMs).toBe(228.9)
    expect(r.seMs).toBe(84.8)
    expect(r.seedP50RangeMs).toEqual([110, 210])
    expect(r.seedMaxRangeMs).toEqual([120, 900])
    expect(r.electionMsgsPerFailover).toBe(20)
    expect(r.msgsPerNodePerSecMeanMedian).toBe(42)
    expect(r.msgsPerNodePerSecMaxMax).toBe(3000)
    expect(r.violations).toBe(1)
    // Another timing is another row.
    const other = {
      ...base(4, [1]),
      detection: { heartbeatIntervalMs: 120, timeoutMinMs: 300, timeoutMaxMs: 600 },
    }
    expect(poolReports([base(1, [1]), other])).toHaveLength(2)
  })

  it('keeps --crash-phase runs apart from jittered ones and labels them by their phases', async () => {
    const phased = (seed: number): ElectionReport => ({
      ...base(seed, [100]),
      crashJitterMs: 0,
      crashPhasesMs: [0, 50],
    })
    const rows = poolReports([base(1, [1]), phased(2), phased(3)])
    expect(rows.map((r) => [r.crashJitterMs, r.crashPhasesMs, r.failovers])).toEqual([
      [600, [], 1],
      [0, [0, 50], 2],
    ])
    const dir = mkdtempSync(join(tmpdir(), 'sim-pool-'))
    try {
      const file = join(dir, 'r.jsonl')
      writeFileSync(file, [base(1, [1]), phased(2)].map((r) => JSON.stringify(r)).join('\n'))
      const { lines } = await run(['pool', file])
      expect(lines.find((l) => l.startsWith('| bully') && l.includes('| jitter 600 |'))).toBeDefined()
      expect(lines.find((l) => l.startsWith('| bully') && l.includes('| phases 0,50 |'))).toBeDefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('reads reports from saved --json output and prints a table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-pool-'))
    try {
      const file = join(dir, 'r.jsonl')
      const text = [
        '> pnpm header',
        JSON.stringify({ phases: [] }),
        JSON.stringify(base(1, [100, 120])),
      ].join('\n')
      writeFileSync(file, text)
      expect(readReports(text)).toHaveLength(1)
      const { code, lines } = await run(['pool', file])
      expect(code).toBe(0)
      // The report's row, then the (here empty) phases of its failovers.
      expect(lines).toContain('| step | failovers | p50 / p99 / max ms | mean ± SE ms |')
      expect(lines[2]).toContain(
        '| bully | 50 / 150–300 | jitter 600 | 1000 | 1 | 2 | 100 / 120 / 120 | 110 ± 10 |',
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('pools the phases line before each report into steps of the failover', async () => {
    const p: FailoverPhases = {
      crashMs: 1000,
      shards: 21,
      lastHeartbeatMs: -40,
      firstPreVoteMs: 277,
      firstVoteRequestMs: 279,
      majorityOfShardVotesMs: 281.5,
      newLeaderMs: 282.5,
      newLeaderFirstHeartbeatMs: 283,
      allShardLeadersKnowMs: 284.2,
      allNodesKnowMs: 284.4,
    }
    const steps = new Map(phaseSteps([p]).map((s) => [s.step, s.p50Ms]))
    expect(steps.get('last heartbeat round → crash')).toBe(40)
    expect(steps.get('last heartbeat round → first PreVote (the detection timeout)')).toBe(317)
    expect(steps.get('majority → new leader')).toBe(1)
    expect(steps.get('crash → every node knows (the failover)')).toBe(284.4)
    const text = [
      JSON.stringify({ phases: [p] }),
      JSON.stringify(base(1, [284.4])),
      JSON.stringify(base(2, [300])),
    ]
    const reports = readReports(text.join('\n'))
    expect(reports[0]?.phases).toEqual([p])
    expect(reports[1]?.phases).toBeUndefined()
    expect(poolReports(reports)[0]?.phases?.[0]?.failovers).toBe(1)
  })
})
