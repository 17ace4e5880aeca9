export { ElectionRun, type ElectionRunInit, type Episode } from './harness.js'
export { type ElectionReport, type ElectionRunOptions, runElection } from './run-election.js'
export { type Scenario, type ScenarioOptions, scenarioNamed, scenarios } from './scenarios.js'
export {
  type Algo,
  BULLY_COORDINATOR_ROUND_TRIPS,
  baselineOwnTiming,
  bullySubject,
  conclaveDetectionTiming,
  conclaveSubject,
  type DetectionTiming,
  type ElectionSubject,
  LEADER_ROUND_TYPES,
  raftPaperTiming,
  raftSubject,
  type SubjectKind,
  type SubjectOptions,
  subjectFor,
} from './subjects.js'
