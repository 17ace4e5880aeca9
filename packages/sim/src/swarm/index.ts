export { type FaultAction, playFaults, type ScheduleOptions } from './fault-schedule.js'
export { runSwarmSeed, type SwarmSeedOptions, type SwarmSeedResult } from './run-seed.js'
export { type FailingSeed, replayCommand, runSwarm, type SwarmOptions, type SwarmReport } from './swarm.js'
