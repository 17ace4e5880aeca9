/**
 * The machine the no-cluster benches (`pnpm bench conn`, `pnpm bench frame`) give createConclave
 * instead of Conclave's protocol: it never ticks, leads or persists; it finds peers at the
 * addresses it was given and answers a frame when the bench says so. Subclasses decide which
 * frames to count and answer (`receive`, `reply`).
 */
import { emptyReady, type Layer, type LeaderMachine, type NodeId } from '@conclave/core'

export abstract class ScriptedMachine implements LeaderMachine {
  private readonly out: ReturnType<typeof emptyReady> = emptyReady()
  readonly membership: LeaderMachine['membership']

  constructor(
    readonly id: NodeId,
    addrs: ReadonlyMap<NodeId, string[]>,
  ) {
    this.membership = {
      member: (peer) => {
        const a = addrs.get(peer)
        return a ? { meta: { addrs: a } } : undefined
      },
      members: () => [],
    }
  }

  abstract receive(from: NodeId, layer: Layer, bytes: Uint8Array): void

  /** Send `bytes` back to `to` on `layer` (an `echo` frame) at the next drain. */
  protected reply(to: NodeId, layer: Layer, bytes: Uint8Array): void {
    this.out.send.push({ to, layer, type: 'echo', bytes })
  }

  tick(): void {}

  nextTickAtMs(): number {
    return Number.POSITIVE_INFINITY
  }

  drain() {
    const r = { persist: this.out.persist, send: this.out.send, events: this.out.events }
    this.out.persist = []
    this.out.send = []
    this.out.events = []
    return r
  }

  isLeader(): boolean {
    return false
  }

  leader(): undefined {
    return undefined
  }

  fencingToken(): undefined {
    return undefined
  }
}
