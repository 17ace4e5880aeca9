/**
 * `pnpm demo`: a real local cluster — N `conclave` node processes on 127.0.0.1 (default 25, one
 * OS process and one libp2p node each) — narrated: who leads and in which term; every
 * `--every` seconds it kills the leader's process with SIGKILL and prints the measured failover
 * (until every survivor reported the new leader), then restarts the killed node from its data
 * dir. Ctrl-C stops every node gracefully (SIGTERM = leave) and removes the temp dir.
 *
 * Once the first leader is agreed it also starts the live inspector (apps/inspector) as an
 * observer peer next to the cluster and prints its URL: `--inspector-port N` (default 7070),
 * `--no-inspector` to skip it. It starts after the bootstrap so it never counts toward
 * `--bootstrap-expect`; Ctrl-C stops it first, then the nodes.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { LocalCluster } from '@conclave/node/harness'
import { defaultDataRoot } from './failover.js'

const args = new Map<string, string>()
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const a = argv[i] as string
  if (a.includes('=')) args.set(a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1))
  else args.set(a.slice(2), argv[i + 1] && !argv[i + 1]?.startsWith('--') ? (argv[++i] as string) : 'true')
}
// Default 25 (issue 4). With the `local` preset sized for one busy host (node/conclave-config.ts),
// 25 processes agree on a leader and fail over on this 2-core machine; figures in docs/performance.md.
const nodes = Number(args.get('nodes') ?? 25)
const everyS = Number(args.get('every') ?? 20)
const engine = (args.get('engine') ?? 'conclave') as 'conclave' | 'flat-raft'
// Below the kernel's ephemeral range (32768–60999 here): outgoing connections can hold a port there
// before the node meant to listen on it starts (the demo failed to start at 40000 on 2026-11-27).
const basePort = Number(args.get('base-port') ?? 20000)
const withInspector = args.get('no-inspector') !== 'true'
const inspectorPort = Number(args.get('inspector-port') ?? 7070)
const inspectorBin = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'apps',
  'inspector',
  'bin',
  'conclave-inspector.mjs',
)
const t0 = Date.now()
const clock = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`
const say = (s: string) => process.stdout.write(`${clock()}  ${s}\n`)
const short = (id: string | null | undefined) => (id ? `${id.slice(0, 8)}…${id.slice(-4)}` : '(none)')

// Data dirs on tmpfs when present (see defaultDataRoot in failover.ts); --data-root to change.
const dir = mkdtempSync(join(args.get('data-root') ?? defaultDataRoot(), 'conclave-demo-'))
const cluster = new LocalCluster({
  nodes,
  dir,
  basePort,
  adminBasePort: basePort + 2000,
  engine,
  preset: 'local',
})
let stopping = false
let inspector: ChildProcess | undefined

/** The inspector as a child process; its output is relayed line by line, prefixed. */
function startInspector(): void {
  const boot = [0, 1, 2].filter((i) => i < nodes).flatMap((i) => ['--bootstrap', cluster.addr(i)])
  const child = spawn(process.execPath, [inspectorBin, ...boot, '--port', String(inspectorPort)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  inspector = child
  let pending = ''
  const relay = (chunk: Buffer) => {
    pending += chunk.toString('utf8')
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) {
      if (line.startsWith('inspector: ')) say(`INSPECTOR live view: open ${line.slice('inspector: '.length)}`)
      else if (line.trim() !== '') say(`inspector | ${line}`)
    }
  }
  child.stdout?.on('data', relay)
  child.stderr?.on('data', relay)
  child.on('exit', (code, signal) => {
    if (!stopping) say(`inspector exited (${signal ?? `code ${code}`}); the cluster keeps running`)
  })
}

/** SIGTERM the inspector and wait for it (at most 5 s, then SIGKILL). */
async function stopInspector(): Promise<void> {
  const child = inspector
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    if (inspector) say('stopping the inspector…')
    await stopInspector()
    say('stopping every node (SIGTERM: graceful leave)…')
    await Promise.race([cluster.stopAll('SIGTERM'), new Promise((r) => setTimeout(r, 8000))])
    await cluster.stopAll('SIGKILL')
    // A hang report lives in the silent node's data dir (the harness's hang watch): keep them all.
    if (cluster.hangCaptures.length > 0) say(`stopped; kept ${dir} for its hang reports.`)
    else {
      rmSync(dir, { recursive: true, force: true })
      say('stopped; temp data removed.')
    }
  }
  process.exit(code)
}
process.on('SIGINT', () => void shutdown(0))
process.on('SIGTERM', () => void shutdown(0))

async function main(): Promise<void> {
  say(
    `starting ${nodes} real conclave node processes (engine ${engine}) on 127.0.0.1:${basePort}-${basePort + nodes - 1}`,
  )
  say(`data dirs in ${dir}; admin HTTP of node i: http://127.0.0.1:${basePort + 2000}+i/status and /metrics`)
  await cluster.start()
  await cluster.waitFor(() => cluster.nodes.every((n) => n.ready), 30_000 + nodes * 1500, 'all nodes started')
  say(`all ${nodes} processes up`)
  let leader = await cluster.waitFor(() => cluster.agreedLeader(), 120_000, 'a leader known by all')
  say(
    `LEADER node ${cluster.indexOf(leader.id)} (${short(leader.id)}) term ${leader.term}, known by all ${nodes} nodes, ${Date.now() - t0} ms after launch`,
  )
  if (withInspector) startInspector()
  say(
    `try: curl -s http://127.0.0.1:${cluster.adminPort(cluster.indexOf(leader.id))}/metrics | grep conclave_`,
  )
  while (!stopping) {
    await new Promise((r) => setTimeout(r, everyS * 1000))
    if (stopping) return
    leader = await cluster.waitFor(() => cluster.agreedLeader(), 30_000, 'a leader known by all')
    const i = cluster.indexOf(leader.id)
    say(`kill -9 the leader: node ${i} (pid ${cluster.nodes[i]?.pid}, term ${leader.term})`)
    const tKill = Date.now()
    await cluster.kill(i, 'SIGKILL')
    const old = leader
    try {
      const next = await cluster.waitFor(
        () =>
          cluster.live().every((n) => n.leader?.id && n.leader.id !== old.id && n.leader.wallMs >= tKill)
            ? cluster.agreedLeader()
            : undefined,
        30_000,
        'every survivor to know a new leader',
      )
      const ms = Math.max(...cluster.live().map((n) => (n.leader?.wallMs ?? tKill) - tKill))
      say(
        `LEADER node ${cluster.indexOf(next.id)} (${short(next.id)}) term ${next.term}: failover ${ms} ms until all ${cluster.live().length} survivors knew`,
      )
    } catch (err) {
      say(`no agreed new leader: ${(err as Error).message}`)
    }
    cluster.spawnNode(i)
    await cluster.waitFor(() => cluster.nodes[i]?.ready, 60_000, 'restart')
    const back = await cluster
      .waitFor(() => cluster.nodes[i]?.leader, 30_000, 'the restarted node to learn the leader')
      .catch(() => undefined)
    say(
      `node ${i} restarted from its data dir (same id ${short(cluster.ids[i])}), follows ${short(back?.id)} term ${back?.term ?? '?'}`,
    )
  }
}

main().catch(async (err: Error) => {
  process.stderr.write(`demo: ${err.message}\n`)
  await shutdown(1)
})
