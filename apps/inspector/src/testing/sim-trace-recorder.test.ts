/**
 * Cross-check against a real simulation: packages/sim's election harness (a real machine on
 * every simulated node) runs the crash-global-leader scenario; the inspector
 * folds the recorded trace and must measure the same global failovers the simulator's own
 * figures report (figures.ts: per episode, agreementAfter from the fault until every live node
 * knows one live leader of a newer term).
 */
import {
  agreementAfter,
  conclaveSubject,
  ElectionRun,
  idsFor,
  raftSubject,
  scenarioNamed,
} from '@conclave/sim'
import { describe, expect, it } from 'vitest'
import { TraceModel } from '../model/trace-model.js'
import { SimTraceRecorder } from './sim-trace-recorder.js'

const SUBJECTS = { conclave: conclaveSubject, raft: raftSubject } as const
// The flat-Raft baseline by default; INSPECTOR_SIM_SUBJECTS=raft,conclave adds the Conclave
// machine (at 16:15 on 2026-11-27 its in-progress global layer tripped the simulator's
// busy-ticks assertion on seeds 1-3, a protocol issue outside the inspector).
const chosen = (process.env.INSPECTOR_SIM_SUBJECTS ?? 'raft')
  .split(',')
  .filter((s): s is keyof typeof SUBJECTS => s in SUBJECTS)

describe.each(chosen)('inspector vs simulator, %s subject', (algo) => {
  it('measures the same global failover durations as the simulator', () => {
    const ids = idsFor(15, 3)
    const subject = SUBJECTS[algo]({ ids })
    const run = new ElectionRun({ subject, ids, seed: 3 })
    const recorder = new SimTraceRecorder(run.sim)
    run.runUntilAgreed(30_000)
    run.sim.runFor(1000)
    scenarioNamed('crash-global-leader')!.run(run, { repeats: 2, waitMaxMs: 10_000 })
    run.sim.runFor(2000)

    const expected = run.episodes
      .filter((e) => e.kind === 'global')
      .map(
        (e) =>
          (agreementAfter(run.sim.trace, { faults: run.sim.faults }, e.startMs, e.minTerm, e.ignore) ??
            Number.NaN) - e.startMs,
      )
    const model = new TraceModel()
    for (const r of recorder.records()) model.append(r)
    model.finish()
    const measured = model.journal.failovers.filter((f) => f.scope === 'global' && f.cause === 'crash')
    console.log(
      `simulator: ${JSON.stringify(expected)} ms; inspector: ${JSON.stringify(measured.map((f) => f.durationMs))} ms`,
    )
    expect(expected.length).toBeGreaterThan(0)
    expect(measured.map((f) => f.durationMs)).toEqual(expected)
    expect(model.journal.rates.length).toBeGreaterThan(0)
  })
})
