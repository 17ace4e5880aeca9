/**
 * `pnpm bench frame`: the CPU one Conclave frame costs on the real stack (TCP, Noise, yamux,
 * PeerStreams, the service and its driver), measured in one process on loopback with no cluster.
 *
 * Each run is a fresh process with two nodes built by `createConclave` (the nodes' own libp2p
 * options) and stub machines: `a` sends a frame of `frameBytes` on the shard layer to `b`, whose
 * machine answers it at once (inside the read, as a follower answers a heartbeat), and `a`'s
 * machine counts the answer. One such round trip is two frames, each sent once and received once.
 *  1. `paced`: one round trip every `intervalMs` (a heartbeat's rate: the code stays in the tier it
 *     is in on an idle node, baseline code that calls a builtin per property load, not optimised by
 *     a hot loop), `warmS` unmeasured, then `windowS` measured seconds alternating with
 *  2. `empty` seconds: the same timer with no frame (the wake-ups alone), so that a change of the
 *     host's load moves both alike;
 *  3. `flat`: `flatRoundTrips` back to back (the next sent when the answer arrives), measured.
 * CPU is `process.cpuUsage()` (all threads) over a phase. `pacedNetUs` is per round trip after
 * the empty window's CPU per wake-up is taken off; `pacedUs` includes it. Medians over the runs.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ConclaveNode, Layer, NodeId } from '@conclave/core'
import { quantile } from './failover.js'
import { AddressedMachine, startScriptedNode } from './scripted-machine.js'

const median = (xs: number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  )

export interface FrameBenchInit {
  runs: number
  intervalMs: number
  warmS: number
  windowS: number
  flatRoundTrips: number
  frameBytes: number
  /** Extra node flags for the measuring processes (e.g. --cpu-prof). */
  nodeArgs?: string[]
  say(line: string): void
}

export interface FrameRun {
  /** CPU µs per paced round trip (two frames), the wake-ups included. */
  pacedUs: number
  /** The same minus the empty window's CPU per wake-up. */
  pacedNetUs: number
  /** pacedNetUs of the main thread alone (no GC or compiler thread). */
  pacedMainNetUs: number
  /** CPU µs per timer wake-up with nothing sent. */
  emptyUs: number
  /** CPU µs per back-to-back round trip. */
  flatUs: number
  pacedRoundTrips: number
}

export interface FrameBenchResult extends FrameRun {
  runs: FrameRun[]
  intervalMs: number
  windowS: number
  frameBytes: number
  loadAvg: number[]
}

/** A machine that answers every frame (`echo`) or only counts them. */
class PingMachine extends AddressedMachine {
  received = 0
  /** Called after each frame (the flat phase sends the next one from here). */
  onReceive: (() => void) | undefined

  constructor(
    id: NodeId,
    private readonly echo: boolean,
    addrs: ReadonlyMap<NodeId, string[]>,
  ) {
    super(id, addrs)
  }

  override receive(from: NodeId, layer: Layer, bytes: Uint8Array): void {
    this.received++
    this.onReceive?.()
    if (this.echo) this.reply(from, layer, bytes)
  }
}

interface Bench {
  node: ConclaveNode
  machine: PingMachine
}

function makeNode(dir: string, name: string, echo: boolean, addrs: Map<NodeId, string[]>): Promise<Bench> {
  // The flat phase sends far above a peer's inbound rate limit (200 frames/s): lifted here so
  // that it measures frames, not drops and a cut-off (the buckets are still charged per frame).
  return startScriptedNode(join(dir, name), addrs, (id) => new PingMachine(id, echo, addrs), {
    inFramesPerSecond: 1e9,
    inFramesBurst: 1e9,
    inBytesPerSecond: 1e12,
    inBytesBurst: 1e12,
  })
}

/** With --cpu-prof: phase boundaries on stderr, on the profile's clock (µs), to cut its samples. */
function mark(phase: string): void {
  if (process.env.CONCLAVE_FRAME_MARKS === '1')
    process.stderr.write(`[mark] ${phase} ${process.hrtime.bigint() / 1000n}\n`)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function cpuUs(): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

/** CPU µs of the main thread alone (Linux; 0 elsewhere): without the GC and compiler threads. */
function mainCpuUs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000
  } catch {
    return 0
  }
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(2)
  }
}

/** A timer every `intervalMs` for `ms`, calling `each` (a wake-up per tick, as an idle node has). */
async function paced(intervalMs: number, ms: number, each: () => void): Promise<number> {
  let n = 0
  const end = performance.now() + ms
  await new Promise<void>((resolve) => {
    const tick = () => {
      if (performance.now() >= end) return resolve()
      n++
      each()
      setTimeout(tick, intervalMs)
    }
    setTimeout(tick, intervalMs)
  })
  return n
}

async function oneRun(init: Omit<FrameBenchInit, 'runs' | 'say' | 'nodeArgs'>): Promise<FrameRun> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-frame-'))
  const addrs = new Map<NodeId, string[]>()
  try {
    const a = await makeNode(dir, 'a', false, addrs)
    const b = await makeNode(dir, 'b', true, addrs)
    const transport = a.node.service.transport
    if (!transport) throw new Error('no transport')
    const frame = new Uint8Array(init.frameBytes).fill(7)
    const send = () => transport.send({ to: b.node.id, layer: 'shard', type: 'ping', bytes: frame })
    // Connect and open both channels; libp2p rewrites its own peer record 1 s after listening.
    send()
    await waitUntil(() => a.machine.received >= 1, 'the first answer')
    await sleep(1200)

    await paced(init.intervalMs, init.warmS * 1000, send)
    await sleep(init.intervalMs)
    // Paced and empty seconds alternate, so that a change of load on the host between them
    // shifts both alike.
    mark('paced')
    let pacedCpu = 0
    let emptyCpu = 0
    let pacedMain = 0
    let emptyMain = 0
    let wakeups = 0
    const got0 = a.machine.received
    let sentTotal = 0
    for (let s = 0; s < init.windowS; s++) {
      const got = a.machine.received
      let c0 = cpuUs()
      let m0 = mainCpuUs()
      const sent = await paced(init.intervalMs, 1000, send)
      await waitUntil(() => a.machine.received >= got + sent, 'the paced answers')
      pacedCpu += cpuUs() - c0
      pacedMain += mainCpuUs() - m0
      sentTotal += sent
      c0 = cpuUs()
      m0 = mainCpuUs()
      wakeups += await paced(init.intervalMs, 1000, () => {})
      emptyCpu += cpuUs() - c0
      emptyMain += mainCpuUs() - m0
    }
    const pacedRoundTrips = a.machine.received - got0
    if (pacedRoundTrips !== sentTotal) throw new Error(`${sentTotal} sent, ${pacedRoundTrips} answered`)
    mark('flat')

    const target = a.machine.received + init.flatRoundTrips
    const c0 = cpuUs()
    await new Promise<void>((resolve) => {
      // The next frame leaves when the previous answer has arrived (one in flight).
      a.machine.onReceive = () => {
        if (a.machine.received < target) send()
        else resolve()
      }
      send()
    })
    a.machine.onReceive = undefined
    const flatCpu = cpuUs() - c0

    await Promise.all([a.node.stop(), b.node.stop()])
    const emptyUs = emptyCpu / wakeups
    const pacedUs = pacedCpu / pacedRoundTrips
    return {
      pacedUs: Math.round(pacedUs),
      pacedNetUs: Math.round(pacedUs - emptyUs),
      pacedMainNetUs: Math.round(pacedMain / pacedRoundTrips - emptyMain / wakeups),
      emptyUs: Math.round(emptyUs),
      flatUs: Math.round((flatCpu / init.flatRoundTrips) * 10) / 10,
      pacedRoundTrips,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function childMain(): Promise<void> {
  const init = JSON.parse(process.argv[2] as string)
  const run = await oneRun(init)
  process.stdout.write(`${JSON.stringify(run)}\n`)
  process.exit(0)
}

async function runChild(init: FrameBenchInit): Promise<FrameRun> {
  const { runs: _r, say: _s, nodeArgs, ...args } = init
  const child = spawn(
    process.execPath,
    [...process.execArgv, ...(nodeArgs ?? []), fileURLToPath(import.meta.url), JSON.stringify(args)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  const code = await new Promise((r) => child.once('exit', r))
  if (code !== 0) throw new Error(`frame run exited ${code}`)
  return JSON.parse(out)
}

export async function runFrameBench(init: FrameBenchInit): Promise<FrameBenchResult> {
  const runs: FrameRun[] = []
  for (let r = 0; r < init.runs; r++) {
    const run = await runChild(init)
    init.say(
      `process ${r + 1}: paced ${run.pacedUs} µs per round trip (net of wake-ups ${run.pacedNetUs}, main thread ${run.pacedMainNetUs}, empty wake-up ${run.emptyUs}), flat ${run.flatUs} µs`,
    )
    runs.push(run)
  }
  const p50 = (f: (r: FrameRun) => number) => Math.round(median(runs.map(f)) * 10) / 10
  return {
    pacedUs: p50((r) => r.pacedUs),
    pacedNetUs: p50((r) => r.pacedNetUs),
    pacedMainNetUs: p50((r) => r.pacedMainNetUs),
    emptyUs: p50((r) => r.emptyUs),
    flatUs: p50((r) => r.flatUs),
    pacedRoundTrips: p50((r) => r.pacedRoundTrips),
    runs,
    intervalMs: init.intervalMs,
    windowS: init.windowS,
    frameBytes: init.frameBytes,
    loadAvg: loadavg().map((x) => Math.round(x * 100) / 100),
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) void childMain()
