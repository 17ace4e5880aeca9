export { type Claim, type ClaimSigner, simSigner } from './claim.js'
export { lanConfig, localConfig, type MembershipConfig, validateConfig, wanConfig } from './config.js'
export { Membership } from './membership.js'
export type { MemberMeta, MemberMetaInput, MembershipInit, MemberView } from './types.js'
