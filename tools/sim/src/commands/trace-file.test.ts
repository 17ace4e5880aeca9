import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../cli.js'

describe('pnpm sim … --trace FILE', () => {
  it('writes every event, the faults and traffic samples as time-ordered JSON lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-trace-'))
    const file = join(dir, 't.jsonl')
    try {
      const lines: string[] = []
      const io = { out: (l: string) => lines.push(l), err: () => {}, errIsTTY: false }
      const args = ['membership', '--nodes', '20', '--seed', '3', '--scenario', 'crash', '--duration-s', '10']
      expect(await main([...args, '--json', '--trace', file], io)).toBe(0)
      const report = JSON.parse(lines.at(-1) as string) as { traceRecords: number }
      const records = readFileSync(file, 'utf8')
        .trimEnd()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as { trueMs: number; kind: string; node?: string; member?: string; state?: string },
        )
      for (let i = 1; i < records.length; i++) {
        expect(records[i]!.trueMs).toBeGreaterThanOrEqual(records[i - 1]!.trueMs)
      }
      const events = records.filter((r) => r.kind.includes(':') && r.kind !== 'net:sample')
      expect(events.length).toBeGreaterThan(0)
      expect(events.length).toBeLessThanOrEqual(report.traceRecords)
      const crashes = records.filter((r) => r.kind === 'crash')
      expect(crashes.length).toBeGreaterThan(0)
      const crashed = crashes[0]!.node
      expect(
        records.some((r) => r.kind === 'member:state' && r.member === crashed && r.state === 'dead'),
      ).toBe(true)
      const samples = records.filter((r) => r.kind === 'net:sample')
      expect(new Set(samples.map((s) => s.node)).size).toBeGreaterThanOrEqual(20)
      // The trace file does not change the run: same report as without it.
      const plain: string[] = []
      await main([...args, '--json'], { out: (l) => plain.push(l), err: () => {}, errIsTTY: false })
      expect((JSON.parse(plain.at(-1) as string) as { traceHash: string }).traceHash).toBe(
        (report as unknown as { traceHash: string }).traceHash,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
