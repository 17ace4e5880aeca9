export { type ClusterInit, MembershipCluster } from './cluster.js'
export { type Crash, DetectionTracker } from './detection.js'
export { type Plan, type PlanContext, plans } from './plans.js'
export { runMembershipScenario } from './run.js'
export {
  type MembershipReport,
  type MembershipRunOptions,
  type MembershipScenarioName,
  membershipScenarios,
  type Progress,
  type WarmupMode,
} from './types.js'
