/**
 * `pnpm sim table FILE…`: turn saved `pnpm sim membership --json` outputs (the last line of each
 * file) into the Markdown table of docs/membership.md: one row per (scenario, nodes, loss), the
 * median over seeds and, in parentheses, the worst seed (largest time, count or load; smallest
 * speed). Nothing is computed that the reports did not measure.
 */
import { readFileSync } from 'node:fs'
import type { MembershipReport } from '@conclave/sim'
import { type Command, UsageError } from './command.js'

type Num = number | null
const columns: Array<{ key: keyof MembershipReport; title: string; worst: 'max' | 'min' }> = [
  { key: 'detectFirstP50Ms', title: 'first suspicion p50 ms', worst: 'max' },
  { key: 'detectFirstP99Ms', title: 'first suspicion p99 ms', worst: 'max' },
  { key: 'detectAllP99Ms', title: 'all know dead p99 ms', worst: 'max' },
  { key: 'disseminationP99Ms', title: 'dissemination p99 ms', worst: 'max' },
  { key: 'undetected', title: 'undetected', worst: 'max' },
  { key: 'joinAllSeeAllMs', title: 'join: all see all ms', worst: 'max' },
  { key: 'healConvergeMs', title: 'heal: all see all ms', worst: 'max' },
  { key: 'pausedDeclaredDead', title: 'paused node declared dead', worst: 'max' },
  { key: 'falseDeaths', title: 'false deaths', worst: 'max' },
  { key: 'falseSuspicions', title: 'false suspicions', worst: 'max' },
  { key: 'invariant7Violations', title: 'inv. 7', worst: 'max' },
  { key: 'msgsPerNodePerSecMean', title: 'msgs/s/node mean', worst: 'max' },
  { key: 'msgsPerNodePerSecMax', title: 'msgs/s busiest', worst: 'max' },
  { key: 'bytesPerNodePerSecMean', title: 'B/s/node mean', worst: 'max' },
  { key: 'simSecondsPerWallSecond', title: 'sim s / wall s', worst: 'min' },
  { key: 'simSecondsPerCpuSecond', title: 'sim s / CPU s', worst: 'min' },
  { key: 'phaseSimSecondsPerWallSecond', title: 'phase sim s / wall s', worst: 'min' },
  { key: 'heapMB', title: 'heap MB', worst: 'max' },
]

export const tableCommand: Command = {
  name: 'table',
  summary: 'Markdown table (median and worst over seeds) from saved `membership --json` outputs',
  usage: 'pnpm sim table FILE...   (each FILE holds the output of pnpm sim membership ... --json)',
  async run(argv, io) {
    if (argv.length === 0) throw new UsageError('no files given')
    const groups = new Map<string, MembershipReport[]>()
    for (const file of argv) {
      const lines = readFileSync(file, 'utf8').trim().split('\n')
      const r = JSON.parse(lines.at(-1) ?? '') as MembershipReport
      // A join run stops when all see all, so its length differs per seed: one row regardless.
      const key = `${r.scenario}|${r.nodes}|${r.lossRate}|${r.scenario === 'join' ? 'join' : r.durationS}`
      groups.set(key, [...(groups.get(key) ?? []), r])
    }
    const used = columns.filter((c) =>
      [...groups.values()].some((rs) => rs.some((r) => typeof r[c.key] === 'number')),
    )
    io.out(`| scenario | nodes | loss | sim s | seeds | ${used.map((c) => c.title).join(' | ')} |`)
    io.out(`|---|---|---|---|---|${used.map(() => '---').join('|')}|`)
    const order = ['crash', 'loss', 'pause', 'partition', 'churn', 'join']
    const keys = [...groups.keys()].sort((a, b) => {
      const [sa, na] = a.split('|')
      const [sb, nb] = b.split('|')
      return order.indexOf(sa ?? '') - order.indexOf(sb ?? '') || Number(na) - Number(nb) || (a < b ? -1 : 1)
    })
    for (const key of keys) {
      const rs = groups.get(key) ?? []
      const r0 = rs[0] as MembershipReport
      const cells = used.map((c) =>
        cell(
          rs.map((r) => r[c.key] as Num),
          c.worst,
        ),
      )
      io.out(
        `| ${r0.scenario} | ${r0.nodes} | ${r0.lossRate} | ${cell(
          rs.map((r) => r.durationS),
          'max',
        )} | ${rs.map((r) => r.seed).join(',')} | ${cells.join(' | ')} |`,
      )
    }
    return 0
  },
}

function cell(values: Num[], worst: 'max' | 'min'): string {
  const nums = values.filter((v): v is number => typeof v === 'number')
  if (nums.length === 0) return '—'
  const sorted = [...nums].sort((a, b) => a - b)
  const mid = sorted.length / 2
  const median =
    sorted.length % 2 === 1
      ? (sorted[Math.floor(mid)] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  const w = worst === 'max' ? (sorted.at(-1) as number) : (sorted[0] as number)
  const missing = values.length - nums.length
  const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1))
  const base = nums.length === 1 ? fmt(median) : `${fmt(median)} (${fmt(w)})`
  return missing > 0 ? `${base} [${missing}×—]` : base
}
