/**
 * Election diagnosis on real processes (not a benchmark): N `conclave` node processes with debug
 * logs, run for a while after they are up, then it prints why elections did not settle, from the
 * nodes' own trace events: how long after a shard candidate started its voters cast their votes
 * (network + scheduling delay as the protocol sees it) and how long each role lasted, plus the
 * CPU each node used over the last 10 s. Every trace line goes to OUT as JSON lines.
 *
 *   node --conditions=conclave-source --import tsx tools/bench/src/diag.ts [N=25] [RUN_MS=45000] [OUT]
 *   PRESET=lan|wan|local (default local), BASE_PORT (default 20000, below the ephemeral port range; admin HTTP at +2000).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { killNodesOnExit, LocalCluster, removeDirOnExit } from '@conclave/node/harness'
import { defaultDataRoot, quantile } from './failover.js'

const nodes = Number(process.argv[2] ?? 25)
const runMs = Number(process.argv[3] ?? 45_000)
const outFile = process.argv[4] ?? '/tmp/conclave-diag.jsonl'
const basePort = Number(process.env.BASE_PORT ?? 20_000)
const preset = (process.env.PRESET ?? 'local') as 'lan' | 'wan' | 'local'

type Line = Record<string, unknown> & { i: number }
const lines: Line[] = []
const dir = mkdtempSync(join(defaultDataRoot(), 'conclave-diag-'))
removeDirOnExit(dir) // Ctrl-C skips the finally below
const cluster = new LocalCluster({
  nodes,
  dir,
  basePort,
  adminBasePort: basePort + 2000,
  preset,
  logLevel: 'debug',
  onLog: (i, line) => {
    if (line.msg !== 'dial failed') lines.push({ i, ...line })
  },
})
killNodesOnExit(cluster)
try {
  const t0 = Date.now()
  await cluster.start()
  console.error(`${nodes} processes up in ${Date.now() - t0} ms; running ${runMs} ms`)
  await new Promise((r) => setTimeout(r, runMs - 10_000))
  const cpu0 = cluster.nodes.map((_, i) => cluster.usage(i)?.cpuS ?? 0)
  await new Promise((r) => setTimeout(r, 10_000))
  const cpu = cluster.nodes.map((_, i) => ((cluster.usage(i)?.cpuS ?? 0) - (cpu0[i] ?? 0)) * 10)
  console.error(`agreed leader: ${JSON.stringify(cluster.agreedLeader() ?? null)}`)
  console.error(`CPU % of a core per node, last 10 s: ${cpu.map((c) => c.toFixed(1)).join(' ')}`)
} finally {
  await cluster.stopAll()
  rmSync(dir, { recursive: true, force: true })
}
writeFileSync(outFile, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`)

const candidateAt = new Map<string, { atMs: number; node: unknown }>()
const voteDelaysMs: number[] = []
const lastRole = new Map<number, { atMs: number; role: string }>()
const roleMs = new Map<string, number[]>()
const kinds = new Map<string, number>()
for (const l of lines) {
  const kind = String(l.kind ?? l.msg)
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
  const atMs = Number(l.atMs)
  if (kind === 'shard:role') {
    const role = String(l.role)
    if (role === 'candidate') candidateAt.set(`${l.shard}/${l.term}`, { atMs, node: l.node })
    const prev = lastRole.get(l.i)
    if (prev) {
      const k = `${prev.role} -> ${role}`
      roleMs.set(k, [...(roleMs.get(k) ?? []), atMs - prev.atMs])
    }
    lastRole.set(l.i, { atMs, role })
  }
  if (kind === 'vote:cast') {
    const c = candidateAt.get(`${l.shard}/${l.term}`)
    if (c && c.node === l.candidate) voteDelaysMs.push(atMs - c.atMs)
  }
}
const fmt = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return `n ${s.length}, p50 ${Math.round(quantile(s, 0.5))} ms, p90 ${Math.round(quantile(s, 0.9))} ms, max ${Math.round(s.at(-1) ?? Number.NaN)} ms`
}
console.log(`trace events: ${JSON.stringify(Object.fromEntries(kinds))}`)
console.log(`shard candidate -> its voter's vote:cast: ${fmt(voteDelaysMs)}`)
for (const [k, xs] of [...roleMs].sort()) console.log(`shard role ${k}: ${fmt(xs)}`)
console.log(`trace lines in ${outFile}`)
process.exit(0)
