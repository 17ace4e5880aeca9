/**
 * A LeaderMachine without a protocol: it never ticks, leads or persists, ignores what it receives
 * and sends what was put in `outbox` at the next drain. Benches and tests that drive the runtime
 * (createConclave, libp2p, the streams) without Conclave's protocol extend it and override only
 * what they script: `pnpm bench conn` and `frame`, and the runtime's and service's tests.
 */
import type { Layer, NodeId, Outbound, Ready } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'
import type { LeaderMachine } from './leader-machine.js'

export class ScriptedMachine implements LeaderMachine {
  /** Frames to send at the next drain. */
  outbox: Outbound[] = []

  constructor(readonly id: NodeId) {}

  tick(): void {}

  receive(_from: NodeId, _layer: Layer, _bytes: Uint8Array): void {}

  nextTickAtMs(): number {
    return Number.POSITIVE_INFINITY
  }

  drain(): Ready<TraceEvent> {
    const send = this.outbox
    this.outbox = []
    return { persist: [], send, events: [] }
  }

  isLeader(): boolean {
    return false
  }

  leader(): { id: NodeId; term: number } | undefined {
    return undefined
  }

  fencingToken(): number | undefined {
    return undefined
  }
}
