export { Accounting, type DropReason, type NodeTraffic, type Traffic } from './accounting.js'
export * from './checkers/election/index.js'
export * from './checkers/index.js'
export { EventQueue, type QueueEntry } from './event-queue.js'
export {
  type LatencyRange,
  lanNetwork,
  latencyModel,
  type NetworkModel,
  wanNetwork,
} from './network-model.js'
export { type ClockInit, NodeClock } from './node-clock.js'
export { base58btc, idsFor } from './peer-ids.js'
export * from './scenarios/election/index.js'
export * from './scenarios/membership/index.js'
export {
  type MachineFactory,
  type NodeContext,
  type PartitionOptions,
  Simulation,
  type SimulationInit,
} from './simulation.js'
export { max, mean, percentile } from './stats.js'
export * from './swarm/index.js'
export { type HeartbeatConfig, HeartbeatMachine, heartbeatDefaults } from './testing/heartbeat-machine.js'
export { canonical, type FaultKind, type FaultRecord, TraceHasher, type TraceRecord } from './trace.js'
