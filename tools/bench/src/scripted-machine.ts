/**
 * The machine the no-cluster benches (`pnpm bench conn`, `pnpm bench frame`) give createConclave
 * instead of Conclave's protocol (core's ScriptedMachine: no ticks, no lead, no persistence): it
 * finds peers at the addresses it was given and answers a frame when the bench says so.
 * Subclasses decide which frames to count and answer (`receive`, `reply`).
 */
import { type Layer, type LeaderMachine, type NodeId, ScriptedMachine } from '@conclave/core'

export abstract class AddressedMachine extends ScriptedMachine {
  readonly membership: LeaderMachine['membership']

  constructor(id: NodeId, addrs: ReadonlyMap<NodeId, string[]>) {
    super(id)
    this.membership = {
      member: (peer) => {
        const a = addrs.get(peer)
        return a ? { meta: { addrs: a } } : undefined
      },
      members: () => [],
    }
  }

  abstract override receive(from: NodeId, layer: Layer, bytes: Uint8Array): void

  /** Send `bytes` back to `to` on `layer` (an `echo` frame) at the next drain. */
  protected reply(to: NodeId, layer: Layer, bytes: Uint8Array): void {
    this.outbox.push({ to, layer, type: 'echo', bytes })
  }
}
