/** The membership contract's ClaimSigner shape (signed alive claims), until Membership lands. */
import type { NodeId } from '../sans-io.js'

export interface ClaimSignerPort {
  sign(payload: Uint8Array): Uint8Array
  verify(node: NodeId, payload: Uint8Array, sig: Uint8Array): boolean
}
