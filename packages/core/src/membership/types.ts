/** Public data types of the membership layer. */
import type { NodeId } from '../sans-io.js'
import type { MemberState } from '../trace/events.js'
import type { Rng } from '../util/rng.js'
import type { ClaimSigner } from './claim.js'
import type { MembershipConfig } from './config.js'

/** What a member says about itself; carried in its signed alive claims. */
export interface MemberMeta {
  /** Leader preference: higher wins (ties break by id). Non-negative integer. */
  priority: number
  /** The shard this member votes in, or null (observer / not yet assigned). */
  shard: number | null
  /** Free-form role tags (e.g. 'observer'). At most META_ROLES_MAX of at most META_ROLE_BYTES_MAX bytes. */
  roles: string[]
  /** Dialable multiaddrs. At most META_ADDRS_MAX of at most META_ADDR_BYTES_MAX bytes. */
  addrs: string[]
  /** Bumped by the member on every change (with its incarnation), so newer meta wins. */
  version: number
}

export type MemberMetaInput = Omit<MemberMeta, 'version'>

export interface MemberView {
  readonly id: NodeId
  readonly state: MemberState
  readonly incarnation: number
  readonly bootEpoch: number
  readonly meta: MemberMeta
  /** Local time at which this node saw the member enter its current state. */
  readonly stateSinceMs: number
}

export interface MembershipInit {
  id: NodeId
  /** Bumped by the driver on every restart; a new boot epoch outranks any incarnation of an older one. */
  bootEpoch: number
  rng: Rng
  config: MembershipConfig
  meta?: Partial<MemberMetaInput>
  signer: ClaimSigner
  /**
   * Which node ids may become members: the runtime's allow-list (docs/security.md). A claim for
   * any other id is refused and counted `not-admitted`, so a relayed claim cannot bring in a node
   * that could never connect (it would only become a dead voter). Default: every id.
   */
  admits?(id: NodeId): boolean
}

export const META_ROLES_MAX = 16
export const META_ROLE_BYTES_MAX = 64
export const META_ADDRS_MAX = 16
export const META_ADDR_BYTES_MAX = 256
export const NODE_ID_BYTES_MAX = 128
export const SIGNATURE_BYTES_MAX = 128
