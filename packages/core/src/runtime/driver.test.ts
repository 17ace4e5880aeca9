import { describe, expect, it } from 'vitest'
import type { Layer, Machine, NodeId, Outbound, PersistOp, Ready } from '../sans-io.js'
import type { TraceEvent } from '../trace/events.js'
import { Driver } from './driver.js'

/** A machine whose every received frame produces what the frame's text says: `p:key` persists, `s:n` sends. */
class ScriptMachine implements Machine<TraceEvent> {
  readonly id = 'self'
  private out: { persist: PersistOp[]; send: Outbound[]; events: TraceEvent[] } = {
    persist: [],
    send: [],
    events: [],
  }
  tick(_nowMs: number): void {}
  nextTickAtMs(): number {
    return Number.POSITIVE_INFINITY
  }
  receive(_from: NodeId, _layer: Layer, bytes: Uint8Array): void {
    for (const word of new TextDecoder().decode(bytes).split(' ')) {
      const [kind, arg] = word.split(':') as [string, string]
      if (kind === 'p') this.out.persist.push({ key: arg, value: new Uint8Array([1]) })
      if (kind === 's') this.out.send.push({ to: 'peer', layer: 'shard', type: arg, bytes: new Uint8Array() })
    }
  }
  drain(): Ready<TraceEvent> {
    const r = this.out
    this.out = { persist: [], send: [], events: [] }
    return r
  }
}

function setup() {
  const writes: Array<{ keys: string[]; resolve(): void }> = []
  const sent: string[] = []
  const driver = new Driver({
    machine: new ScriptMachine(),
    clock: { nowMs: () => 0 },
    persist: (ops) => new Promise<void>((resolve) => writes.push({ keys: ops.map((o) => o.key), resolve })),
    send: (out) => sent.push(out.type),
    onEvent: () => {},
  })
  driver.start()
  const input = (text: string) => driver.receive('peer', 'shard', new TextEncoder().encode(text))
  return { driver, writes, sent, input }
}

const settle = () => new Promise((r) => setImmediate(r))

describe('Driver with asynchronous persistence', () => {
  it('settled() waits for a write still in flight after stop (the data dir stays in use until then)', async () => {
    const { driver, writes, sent, input } = setup()
    input('p:vote s:vote-reply')
    driver.stop()
    let done = false
    const settledP = driver.settled().then(() => {
      done = true
    })
    await settle()
    expect(done).toBe(false)
    writes[0]?.resolve()
    await settledP
    expect(done).toBe(true)
    expect(sent).toEqual([]) // stopped: what waited for the write is not sent any more
  })

  it('holds a Ready’s sends until its write is durable', async () => {
    const { writes, sent, input } = setup()
    input('p:vote s:vote-resp')
    expect(writes.map((w) => w.keys)).toEqual([['vote']])
    expect(sent).toEqual([])
    writes[0]?.resolve()
    await settle()
    expect(sent).toEqual(['vote-resp'])
  })

  it('holds later Readies behind an earlier write, issues writes one at a time, keeps order', async () => {
    const { writes, sent, input } = setup()
    input('p:term s:a')
    input('s:b')
    input('p:term s:c')
    input('s:d')
    // The second write is not issued before the first is durable (same key: order matters).
    expect(writes.length).toBe(1)
    expect(sent).toEqual([])
    writes[0]?.resolve()
    await settle()
    expect(sent).toEqual(['a', 'b'])
    expect(writes.length).toBe(2)
    writes[1]?.resolve()
    await settle()
    expect(sent).toEqual(['a', 'b', 'c', 'd'])
    input('s:e')
    expect(sent).toEqual(['a', 'b', 'c', 'd', 'e'])
  })

  it('sends nothing held once stopped', async () => {
    const { driver, writes, sent, input } = setup()
    input('p:vote s:x')
    driver.stop()
    writes[0]?.resolve()
    await settle()
    expect(sent).toEqual([])
  })
})

describe('Driver timer lateness', () => {
  /** A machine that wants a tick `inMs` after each tick, and counts them. */
  class Ticker extends ScriptMachine {
    ticks = 0
    constructor(private readonly inMs: number) {
      super()
    }
    private next = 0
    override tick(nowMs: number): void {
      this.ticks++
      this.next = nowMs + this.inMs
    }
    override nextTickAtMs(): number {
      return this.next
    }
  }

  it('reports a stall that held its timer past the deadline, before the tick, and not jitter', async () => {
    const clock = { nowMs: () => performance.now() }
    const machine = new Ticker(20)
    const late: Array<{ lateMs: number; ticksBefore: number }> = []
    const driver = new Driver({
      machine,
      clock,
      persist: () => {},
      send: () => {},
      onEvent: () => {},
      timerLateMsMin: 100,
      onTimerLate: (lateMs) => late.push({ lateMs, ticksBefore: machine.ticks }),
    })
    driver.start()
    await new Promise((r) => setTimeout(r, 100)) // ≈ 5 ticks, punctual unless this host starves us
    const before = late.length
    const ticks = machine.ticks
    const until = performance.now() + 300
    while (performance.now() < until) {} // the event loop is blocked: a stall
    await new Promise((r) => setTimeout(r, 50))
    driver.stop()
    expect(late).toHaveLength(before + 1)
    expect(late[before]?.lateMs).toBeGreaterThanOrEqual(250)
    expect(late[before]?.ticksBefore).toBe(ticks) // reported before the late tick ran
    expect(driver.counts.lateTimers).toBe(before + 1)
  })
})
