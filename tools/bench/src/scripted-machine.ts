/**
 * The machine the no-cluster benches (`pnpm bench conn`, `pnpm bench frame`) give createConclave
 * instead of Conclave's protocol (core's ScriptedMachine: no ticks, no lead, no persistence): it
 * finds peers at the addresses it was given and answers a frame when the bench says so.
 * Subclasses decide which frames to count and answer (`receive`, `reply`).
 */
import {
  type ConclaveNode,
  type CreateConclaveOptions,
  createConclave,
  type Layer,
  type LeaderMachine,
  type NodeId,
  ScriptedMachine,
} from '@conclave/core'

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

/**
 * A node on 127.0.0.1 driven by the machine `build` makes (no protocol, no status broadcasts), its
 * listen addresses published in `addrs` for the other nodes' machines to find.
 */
export async function startScriptedNode<M extends AddressedMachine>(
  dataDir: string,
  addrs: Map<NodeId, string[]>,
  build: (id: NodeId) => M,
  limits?: CreateConclaveOptions['limits'],
): Promise<{ node: ConclaveNode; machine: M }> {
  let machine: M | undefined
  const node = await createConclave({
    dataDir,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    init: true,
    statusIntervalMs: 0,
    limits,
    machineFactory: (ctx) => {
      machine = build(ctx.id)
      return machine
    },
  })
  addrs.set(
    node.id,
    node.libp2p.getMultiaddrs().map((a) => a.toString()),
  )
  if (!machine) throw new Error('machine not built')
  return { node, machine }
}
