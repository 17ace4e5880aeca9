/**
 * Records a real @conclave/sim Simulation as the inspector's trace format (JSON lines of
 * `{ trueMs, ...event }`): every event through `sim.onEvent` (which sees all events, even those
 * the run does not keep in memory), every injected fault from `sim.faults`, and once per
 * `sampleEveryMs` of simulated time one `net:sample` per node from the simulator's accounting
 * (messages sent + received since the previous sample). This is what the simulator CLI's
 * `--trace FILE` is expected to write; until it does, tests and `--synthetic` use this.
 */
import type { Simulation } from '@conclave/sim'
import { toTraceRecord } from '../model/parse-trace-line.js'
import type { TraceRecord } from '../model/trace-record.js'

export class SimTraceRecorder {
  private readonly events: TraceRecord[] = []
  private readonly samples: TraceRecord[] = []
  private readonly lastMsgs = new Map<string, { msgs: number; bytes: number }>()

  constructor(
    private readonly sim: Simulation,
    sampleEveryMs = 1000,
  ) {
    sim.onEvent((r) => {
      this.events.push({ trueMs: r.trueMs, ...r.event } as TraceRecord)
    })
    const sample = () => {
      for (const [node, t] of sim.accounting.perNode) {
        const msgs = t.sentMsgs + t.recvMsgs
        const bytes = t.sentBytes + t.recvBytes
        const last = this.lastMsgs.get(node) ?? { msgs: 0, bytes: 0 }
        this.lastMsgs.set(node, { msgs, bytes })
        this.samples.push({
          kind: 'net:sample',
          trueMs: sim.nowMs,
          node,
          windowMs: sampleEveryMs,
          msgs: msgs - last.msgs,
          bytes: bytes - last.bytes,
        })
      }
      sim.schedule(sim.nowMs + sampleEveryMs, sample)
    }
    sim.schedule(sim.nowMs + sampleEveryMs, sample)
  }

  /** Events, faults and samples merged in true-time order (events first at equal times). */
  records(): TraceRecord[] {
    const faults = this.sim.faults.map((f, i) => toTraceRecord(f, i))
    const all = [...this.events, ...faults, ...this.samples]
    return all
      .map((r, i) => [r, i] as const)
      .sort((a, b) => a[0].trueMs - b[0].trueMs || a[1] - b[1])
      .map(([r]) => r)
  }
}
