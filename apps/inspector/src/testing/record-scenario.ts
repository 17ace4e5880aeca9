/**
 * Runs one of the simulator's election scenarios (packages/sim scenarios/election) on a real
 * machine per node and returns the recorded inspector trace: warm-up until a leader is agreed,
 * the scenario, then a short liveness tail. Used by `conclave-inspector --record-sim`.
 */
import { ElectionRun, idsFor, scenarioNamed, scenarios, subjectFor } from '@conclave/sim'
import type { TraceRecord } from '../model/trace-record.js'
import { SimTraceRecorder } from './sim-trace-recorder.js'

export interface RecordScenarioInit {
  nodes: number
  seed: number
  /** 'conclave' | 'raft' | 'bully' (default conclave). */
  algo: string
  /** A scenario name from packages/sim (default crash-global-leader). */
  scenario: string
  repeats: number
}

export function scenarioNames(): string[] {
  return scenarios.map((s) => s.name)
}

export function recordScenario(init: RecordScenarioInit): TraceRecord[] {
  const scenario = scenarioNamed(init.scenario)
  if (!scenario) throw new Error(`unknown scenario '${init.scenario}' (one of ${scenarioNames().join(', ')})`)
  if (!['conclave', 'raft', 'bully'].includes(init.algo)) throw new Error(`unknown algo '${init.algo}'`)
  const ids = idsFor(init.nodes, init.seed)
  const subject = subjectFor(init.algo as 'conclave' | 'raft' | 'bully')({ ids })
  const run = new ElectionRun({ subject, ids, seed: init.seed })
  const recorder = new SimTraceRecorder(run.sim)
  run.runUntilAgreed(30_000)
  run.sim.runFor(1000)
  scenario.run(run, { repeats: init.repeats, waitMaxMs: 10_000 })
  run.sim.heal()
  for (const id of ids) if (!run.sim.isUp(id)) run.sim.restart(id)
  run.runUntilAgreed(10_000)
  run.sim.runFor(1000)
  return recorder.records()
}
