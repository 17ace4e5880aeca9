export {
  type ConclaveComponents,
  ConclaveService,
  type ConclaveServiceInit,
  conclave,
  type StatusTraffic,
} from './api/conclave-service.js'
export { type ConclaveNode, type CreateConclaveOptions, createConclave } from './api/create-conclave.js'
export type { ConclaveEvents, LeaderChange } from './api/events.js'
export type { LeaderMachine, MachineContext } from './api/leader-machine.js'
export { ScriptedMachine } from './api/scripted-machine.js'
export {
  Bully,
  type BullyConfig,
  type BullyInit,
  type BullyPeer,
  bullyConfig,
  bullyRankAbove,
} from './baseline/bully.js'
export { FlatRaft, type FlatRaftConfig, type FlatRaftInit, flatRaftConfig } from './baseline/flat-raft.js'
export {
  type GlobalElectionStats,
  type GlobalPhase,
  type GlobalRefusal,
  type GlobalRoundEnd,
  globalRefusals,
  globalRoundEnds,
  RESPONSE_MS_BOUNDS,
} from './global/election-stats.js'
export { type GlobalConfig, lanGlobalConfig } from './global/global-config.js'
export {
  type Claim,
  type ClaimSigner,
  decodeClaimEntry,
  lanConfig,
  localConfig,
  type MemberMeta,
  type MemberMetaInput,
  Membership,
  type MembershipConfig,
  type MembershipInit,
  type MemberView,
  simSigner,
  wanConfig,
} from './membership/index.js'
export {
  type ConclaveConfig,
  defaultShardMapConfig,
  lanConclaveConfig,
  localConclaveConfig,
  type ShardMapConfig,
  type UnsafeBreak,
  wanConclaveConfig,
} from './node/conclave-config.js'
export {
  type ConclaveInit,
  ConclaveMachine,
  type MembershipLike,
  type NodeRole,
  type NodeStatus,
} from './node/conclave-machine.js'
export { bootstrapShardMap, type ShardMap, shardCountFor } from './node/shard-map.js'
export {
  Admission,
  AdmissionConfigError,
  type AdmissionDenial,
  checkPrivateFile,
  generatePsk,
  parseAllowList,
  parsePsk,
  readAllowListFile,
  readPskFile,
} from './runtime/admission.js'
export { type Clock, monotonicClock, type SkewedClock, skewedClock } from './runtime/clock.js'
export { TIMER_LATE_MS_BOUNDS } from './runtime/driver.js'
export { loadOrCreatePrivateKey } from './runtime/identity.js'
export { type Libp2pBaseInit, libp2pBaseOptions } from './runtime/libp2p-options.js'
export { DEFAULT_PEER_STREAMS_LIMITS, type PeerStreamsLimits } from './runtime/peer-streams.js'
export { PROTOCOLS, TOPIC_LEADER, TOPIC_STATUS } from './runtime/protocols.js'
export { ed25519Signer } from './runtime/signer.js'
export {
  isRtoMaxMs,
  RTO_MAX_MS_MAX,
  RTO_MAX_MS_MIN,
  rtoCapStats,
  userTimeoutStats,
} from './runtime/tcp-rto-cap.js'
export type { Layer, Machine, NodeId, Outbound, PersistOp, Ready } from './sans-io.js'
export { emptyReady } from './sans-io.js'
export { isLeaseValid, leaseUntilMs } from './shard/raft-rules.js'
export { lanShardConfig, type ShardConfig } from './shard/shard-config.js'
export type * from './trace/events.js'
export { AssertionError, assert, unreachable } from './util/assert.js'
export { createRng, type Rng, shuffle } from './util/rng.js'
export { Reader, stringSize, utf8Length, varintSize, Writer } from './wire/codec.js'
export { RejectionCounter, WireError, type WireErrorCode } from './wire/errors.js'
