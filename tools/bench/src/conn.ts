/**
 * `pnpm bench conn`: the CPU one libp2p connection costs a Conclave node, measured in one process
 * on loopback (no cluster, no other process on the measured path), and the CPU of one node
 * process from exec to `started`.
 *
 * Connections: each run builds a hub and M fresh peers with `createConclave` (the nodes' own
 * libp2p options: TCP, Noise, yamux, the connection gater, gossipsub, identify off between nodes)
 * driven by a stub machine that only counts frames, then connects the hub to every peer, half the
 * dials from the hub and half to it, as a launching node meets its members:
 *  1. `connect`: the dialer merges the peer's address into its peer store and opens a connection
 *     (PeerStreams' own dial path), until both ends hold the connection;
 *  2. `streams`: the dialer sends one frame on each of the three /conclave/* layers, and the other
 *     end answers each with one frame on the same layer (its own outbound stream): six streams per
 *     connection, until every answer has arrived.
 * CPU is `process.cpuUsage()` (all threads, both ends) over each phase, divided by M × 2 ends;
 * the phases end when their last step is seen plus `settleMs` (late peer-store and event work).
 * An idle window of the same length as the settles, with all nodes up, is measured too.
 *
 * Process start: `node apps/node/bin/conclave-cached.cjs start` (what LocalCluster runs: the
 * bundle with its V8 code cache, apps/node/bin/build.mjs) with a fresh data dir (its key made
 * beforehand, as LocalCluster does) and no bootstrap; CPU of all its threads from
 * /proc/PID/task/ * /schedstat when it logs `started` (listening).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { type ConclaveNode, type Layer, loadOrCreatePrivateKey, type NodeId } from '@conclave/core'
import { removeDirOnExit } from '@conclave/node/harness'
import { quantile } from './failover.js'
import { AddressedMachine, startScriptedNode } from './scripted-machine.js'

const median = (xs: number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  )

const LAYERS: readonly Layer[] = ['membership', 'shard', 'global']
const FRAME = new Uint8Array(120).fill(7)

export interface ConnBenchInit {
  /** Peers the hub connects to per run. */
  peers: number
  runs: number
  /** Process starts to measure (0 = none). */
  starts: number
  /** Wait after each phase's last event, for trailing work. */
  settleMs: number
  /** Write a V8 CPU profile of each measuring process here. */
  cpuProfDir?: string
  say(line: string): void
}

export interface ConnPhases {
  connectUs: number
  streamsUs: number
  totalUs: number
  idleUs: number
}

export interface ConnBenchResult {
  peers: number
  runs: number
  /**
   * CPU µs per connection and end, p50 over the processes (and each one's figures): `cold` is a
   * fresh process's first M connections (as a launching node meets its members: lazily compiled,
   * unoptimised code), `warm` the next M in the same process.
   */
  coldP50: ConnPhases
  warmP50: ConnPhases
  cold: ConnPhases[]
  warm: ConnPhases[]
  /** Wall ms of the cold connect and streams phases, p50. */
  coldWallMsP50: { connect: number; streams: number }
  /** CPU ms of one node process from exec to `started`, p50 and each run. */
  startCpuMsP50: number | null
  startCpuMs: number[]
  startWallMsP50: number | null
  loadAvg: number[]
}

/** A machine that counts frames and answers the first frame of each peer and layer once. */
class EchoMachine extends AddressedMachine {
  readonly received = new Map<string, number>()

  constructor(
    id: NodeId,
    private readonly echo: boolean,
    addrs: ReadonlyMap<NodeId, string[]>,
  ) {
    super(id, addrs)
  }

  override receive(from: NodeId, layer: Layer, bytes: Uint8Array): void {
    const key = `${from}\n${layer}`
    this.received.set(key, (this.received.get(key) ?? 0) + 1)
    if (this.echo && this.received.get(key) === 1) this.reply(from, layer, bytes)
  }

  count(from: NodeId): number {
    let n = 0
    for (const l of LAYERS) n += this.received.get(`${from}\n${l}`) ?? 0
    return n
  }
}

interface Bench {
  node: ConclaveNode
  machine: EchoMachine
}

function makeNode(dir: string, i: number, addrs: Map<NodeId, string[]>): Promise<Bench> {
  return startScriptedNode(join(dir, `n${i}`), addrs, (id) => new EchoMachine(id, true, addrs))
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** With --cpu-prof: phase boundaries on stderr, on the profile's clock (µs), to cut its samples. */
function mark(phase: string): void {
  if (process.env.CONCLAVE_CONN_MARKS === '1')
    process.stderr.write(`[mark] ${phase} ${process.hrtime.bigint() / 1000n}\n`)
}

function cpuUs(): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

async function oneRun(
  init: ConnBenchInit,
): Promise<{ phases: ConnPhases; wall: { connect: number; streams: number } }> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-conn-'))
  const unwatchDir = removeDirOnExit(dir) // Ctrl-C skips the finally below
  const addrs = new Map<NodeId, string[]>()
  const nodes: Bench[] = []
  try {
    const hub = await makeNode(dir, 0, addrs)
    for (let i = 1; i <= init.peers; i++) nodes.push(await makeNode(dir, i, addrs))
    // Each pair: the dialer (hub for even i, the peer for odd i) and the other end.
    const pairs = nodes.map((p, i) => (i % 2 === 0 ? { from: hub, to: p } : { from: p, to: hub }))
    const conns = (b: Bench, other: Bench) =>
      b.node.libp2p.getConnections(other.node.libp2p.peerId).filter((c) => c.status === 'open').length
    // libp2p updates each node's own peer record 1 s after it listens (debounced): not a
    // connection's work, so it must be over before the idle window and the phases.
    await sleep(Math.max(init.settleMs, 1200))

    const idle0 = cpuUs()
    await sleep(2 * init.settleMs)
    const idleUs = cpuUs() - idle0

    let t = performance.now()
    mark('connect')
    const c0 = cpuUs()
    await Promise.all(
      pairs.map(async ({ from, to }) => {
        const peer = to.node.libp2p.peerId
        // PeerStreams' dial path: the member's addresses into the peer store, then a dial.
        await from.node.libp2p.peerStore.merge(peer, { multiaddrs: to.node.libp2p.getMultiaddrs() })
        await from.node.libp2p.dial(peer)
      }),
    )
    await waitUntil(
      () => pairs.every(({ from, to }) => conns(from, to) > 0 && conns(to, from) > 0),
      'connections',
    )
    const connectWall = performance.now() - t
    await sleep(init.settleMs)
    const c1 = cpuUs()
    mark('streams')

    t = performance.now()
    for (const { from, to } of pairs) {
      const transport = from.node.service.transport
      if (!transport) throw new Error('no transport')
      for (const layer of LAYERS) transport.send({ to: to.node.id, layer, type: 'first', bytes: FRAME })
    }
    await waitUntil(
      () => pairs.every(({ from, to }) => from.machine.count(to.node.id) >= LAYERS.length),
      'answers',
    )
    const streamsWall = performance.now() - t
    await sleep(init.settleMs)
    const c2 = cpuUs()
    mark('end')

    const ends = 2 * init.peers
    const phases: ConnPhases = {
      connectUs: Math.round((c1 - c0) / ends),
      streamsUs: Math.round((c2 - c1) / ends),
      totalUs: Math.round((c2 - c0) / ends),
      idleUs: Math.round(idleUs / ends),
    }
    for (const { from, to } of pairs)
      if (conns(from, to) !== 1) init.say(`note: ${conns(from, to)} connections between a pair`)
    await Promise.all([hub, ...nodes].map((b) => b.node.stop()))
    return { phases, wall: { connect: Math.round(connectWall), streams: Math.round(streamsWall) } }
  } finally {
    unwatchDir()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** CPU ns of all threads of `pid` (live threads only; none exits before `started`). */
function processCpuNs(pid: number): number {
  let ns = 0
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0])
    } catch {}
  }
  return ns
}

async function oneStart(bundle: string, env: NodeJS.ProcessEnv): Promise<{ cpuMs: number; wallMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-start-'))
  const unwatchDir = removeDirOnExit(dir) // Ctrl-C skips the finally below
  let child: ReturnType<typeof spawn> | undefined
  try {
    await loadOrCreatePrivateKey(join(dir, 'd'))
    const t0 = performance.now()
    const started = spawn(
      process.execPath,
      [bundle, 'start', `--data-dir=${join(dir, 'd')}`, '--listen=/ip4/127.0.0.1/tcp/0', '--init'],
      { stdio: ['ignore', 'ignore', 'pipe'], env },
    )
    child = started
    const pid = started.pid
    if (pid === undefined) throw new Error('spawn failed')
    const rl = createInterface({ input: started.stderr as NodeJS.ReadableStream })
    const cpuNs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`node not started within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      )
      rl.on('line', (text) => {
        if (!text.includes('"msg":"started"')) return
        clearTimeout(timer)
        resolve(processCpuNs(pid))
      })
      started.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`node exited (${code}) before started`))
      })
    })
    return { cpuMs: cpuNs / 1e6, wallMs: performance.now() - t0 }
  } finally {
    if (child !== undefined) await killAndReap(child)
    unwatchDir()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** How long `oneStart` waits for a node's `started` line. */
const START_TIMEOUT_MS = 30_000

/** SIGKILL a child and wait for its exit, unless it has exited already (then no exit event comes). */
async function killAndReap(child: ReturnType<typeof spawn>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGKILL')
  await exited
}

/** One child process: a cold run (its first connections) then a warm run, as JSON on stdout. */
async function childMain(): Promise<void> {
  const [peers, settleMs] = process.argv.slice(2).map(Number) as [number, number]
  const init = { peers, runs: 1, starts: 0, settleMs, say: () => {} }
  const cold = await oneRun(init)
  const warm = await oneRun(init)
  process.stdout.write(`${JSON.stringify({ cold, warm })}\n`)
  process.exit(0)
}

async function runChild(
  init: ConnBenchInit,
): Promise<{ cold: Awaited<ReturnType<typeof oneRun>>; warm: Awaited<ReturnType<typeof oneRun>> }> {
  const prof = init.cpuProfDir
    ? ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${init.cpuProfDir}`]
    : []
  const child = spawn(
    process.execPath,
    [...process.execArgv, ...prof, fileURLToPath(import.meta.url), String(init.peers), String(init.settleMs)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: init.cpuProfDir ? { ...process.env, CONCLAVE_CONN_MARKS: '1' } : process.env,
    },
  )
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  const code = await new Promise((r) => child.once('exit', r))
  if (code !== 0) throw new Error(`conn run exited ${code}`)
  return JSON.parse(out)
}

export async function runConnBench(init: ConnBenchInit): Promise<ConnBenchResult> {
  const cold: ConnPhases[] = []
  const warm: ConnPhases[] = []
  const walls: { connect: number; streams: number }[] = []
  const fmt = (p: ConnPhases) =>
    `connect ${p.connectUs} + streams ${p.streamsUs} = ${p.totalUs} µs (idle ${p.idleUs})`
  for (let r = 0; r < init.runs; r++) {
    const run = await runChild(init)
    init.say(
      `process ${r + 1}: cold ${fmt(run.cold.phases)}; warm ${fmt(run.warm.phases)} per connection and end`,
    )
    cold.push(run.cold.phases)
    warm.push(run.warm.phases)
    walls.push(run.cold.wall)
  }
  const p50 = (runs: ConnPhases[]): ConnPhases => ({
    connectUs: Math.round(median(runs.map((p) => p.connectUs))),
    streamsUs: Math.round(median(runs.map((p) => p.streamsUs))),
    totalUs: Math.round(median(runs.map((p) => p.totalUs))),
    idleUs: Math.round(median(runs.map((p) => p.idleUs))),
  })
  const startCpuMs: number[] = []
  const startWallMs: number[] = []
  if (init.starts > 0) {
    const { ensureBuilt, envWithoutConclave } = (await import(
      new URL('../../../apps/node/bin/build.mjs', import.meta.url).href
    )) as {
      ensureBuilt(): Promise<string>
      envWithoutConclave(): NodeJS.ProcessEnv
    }
    const bundle = await ensureBuilt()
    // Without the caller's CONCLAVE_* settings (a CONCLAVE_BOOTSTRAP would make the node dial it).
    const env = envWithoutConclave()
    for (let s = 0; s < init.starts; s++) {
      const { cpuMs, wallMs } = await oneStart(bundle, env)
      init.say(`start ${s + 1}: ${cpuMs.toFixed(1)} CPU-ms, ${Math.round(wallMs)} ms to started`)
      startCpuMs.push(Math.round(cpuMs * 10) / 10)
      startWallMs.push(Math.round(wallMs))
    }
  }
  return {
    peers: init.peers,
    runs: init.runs,
    coldP50: p50(cold),
    warmP50: p50(warm),
    cold,
    warm,
    coldWallMsP50: {
      connect: Math.round(median(walls.map((w) => w.connect))),
      streams: Math.round(median(walls.map((w) => w.streams))),
    },
    startCpuMsP50: startCpuMs.length > 0 ? median(startCpuMs) : null,
    startCpuMs,
    startWallMsP50: startWallMs.length > 0 ? median(startWallMs) : null,
    loadAvg: (await import('node:os')).loadavg().map((x) => Math.round(x * 100) / 100),
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) void childMain()
