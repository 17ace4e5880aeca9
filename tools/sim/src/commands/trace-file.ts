/**
 * `--trace FILE`: streams a simulation's events to FILE as JSON lines, one `{ trueMs, ...event }`
 * per line, in true-time order — the format `conclave-inspector --replay FILE` reads
 * (apps/inspector/src/server/trace-file.ts). Written while the run goes, so a 1000-node run's
 * trace is never held in memory: lines are buffered up to FLUSH_BYTES and then written.
 *
 * Besides every protocol event (through `sim.onEvent`, which sees events the run does not keep),
 * the file gets each injected fault as the simulator records it (FaultRecord: `{ trueMs, kind:
 * 'crash', node, … }`), written before the next event so the order holds, and once per
 * `sampleEveryMs` of simulated time one `net:sample` per node: messages and bytes sent plus
 * received since the previous sample, from the simulator's accounting (the inspector's
 * messages-per-second chart).
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import type { Simulation } from '@conclave/sim'

/** Buffered text is written once it reaches this size (bounds the writer's memory). */
const FLUSH_BYTES = 1 << 20

export class TraceFileWriter {
  private readonly fd: number
  private buffer: string[] = []
  private bufferedChars = 0
  private faultsWritten = 0
  private readonly last = new Map<string, { msgs: number; bytes: number }>()
  private closed = false
  /** Lines written so far. */
  lines = 0

  constructor(
    private readonly sim: Simulation,
    readonly path: string,
    private readonly sampleEveryMs = 1000,
  ) {
    this.fd = openSync(path, 'w')
    sim.onEvent((r) => {
      this.flushFaults()
      this.line({ trueMs: r.trueMs, ...r.event })
    })
    const sample = () => {
      if (this.closed) return
      this.flushFaults()
      for (const [node, t] of sim.accounting.perNode) {
        const msgs = t.sentMsgs + t.recvMsgs
        const bytes = t.sentBytes + t.recvBytes
        const prev = this.last.get(node) ?? { msgs: 0, bytes: 0 }
        this.last.set(node, { msgs, bytes })
        this.line({
          trueMs: sim.nowMs,
          kind: 'net:sample',
          node,
          windowMs: this.sampleEveryMs,
          msgs: msgs - prev.msgs,
          bytes: bytes - prev.bytes,
        })
      }
      sim.schedule(sim.nowMs + this.sampleEveryMs, sample)
    }
    sim.schedule(sim.nowMs + this.sampleEveryMs, sample)
  }

  /** Writes what is buffered (and any fault not yet written) and closes the file. */
  close(): void {
    if (this.closed) return
    this.flushFaults()
    this.flush()
    this.closed = true
    closeSync(this.fd)
  }

  private flushFaults(): void {
    const faults = this.sim.faults
    while (this.faultsWritten < faults.length) this.line(faults[this.faultsWritten++])
  }

  private line(record: unknown): void {
    if (this.closed) return
    const text = `${JSON.stringify(record)}\n`
    this.buffer.push(text)
    this.bufferedChars += text.length
    this.lines++
    if (this.bufferedChars >= FLUSH_BYTES) this.flush()
  }

  private flush(): void {
    if (this.buffer.length === 0) return
    writeSync(this.fd, this.buffer.join(''))
    this.buffer = []
    this.bufferedChars = 0
  }
}
