import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { main } from './cli.js'
import type { Io } from './commands/command.js'

function capture(): Io & { lines: string[]; errText: () => string } {
  const lines: string[] = []
  const err: string[] = []
  return {
    lines,
    out: (l) => lines.push(l),
    err: (t) => err.push(t),
    errIsTTY: false,
    errText: () => err.join(''),
  }
}

async function runJson(args: string[]) {
  const io = capture()
  const code = await main(['membership', ...args, '--json'], io)
  expect(code).toBe(0)
  const last = io.lines.at(-1) as string
  return JSON.parse(last) as Record<string, unknown>
}

describe('pnpm sim membership', () => {
  it('prints one JSON report as its last line, the same for the same seed', async () => {
    const args = ['--nodes', '30', '--seed', '3', '--scenario', 'crash', '--duration-s', '8']
    const a = await runJson(args)
    for (const key of [
      'nodes',
      'seed',
      'scenario',
      'traceHash',
      'detectFirstP50Ms',
      'detectFirstP99Ms',
      'detectAllP99Ms',
      'disseminationP99Ms',
      'falseDeaths',
      'falseSuspicions',
      'msgsPerNodePerSecMean',
      'msgsPerNodePerSecMax',
      'bytesPerNodePerSecMean',
      'simSecondsPerWallSecond',
      'heapMB',
    ]) {
      expect(a, key).toHaveProperty(key)
    }
    expect(a.nodes).toBe(30)
    expect(a.scenario).toBe('crash')
    expect(a.detectSamples).toBeGreaterThan(0)
    expect(typeof a.detectFirstP50Ms).toBe('number')
    expect(a.traceHash).toMatch(/^[0-9a-f]{64}$/)
    const b = await runJson(args)
    expect(b.traceHash).toBe(a.traceHash)
    const c = await runJson(['--nodes', '30', '--seed', '4', '--scenario', 'crash', '--duration-s', '8'])
    expect(c.traceHash).not.toBe(a.traceHash)
  })

  it('rejects a bad command line with exit code 2 and the usage', async () => {
    const io = capture()
    expect(await main(['membership', '--scenario', 'nope'], io)).toBe(2)
    expect(io.errText()).toContain('--scenario must be one of')
    expect(await main(['membership', '--nodes', 'x', '--scenario', 'crash'], capture())).toBe(2)
    expect(await main(['no-such-command'], capture())).toBe(2)
  })

  it('runs as the real `pnpm sim` command (tsx, source conditions) and prints a readable report', () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '../../..')
    const r = spawnSync(
      process.execPath,
      [
        '--conditions=conclave-source',
        '--import',
        'tsx',
        'tools/sim/src/cli.ts',
        'membership',
        '--nodes',
        '20',
        '--seed',
        '1',
        '--scenario',
        'pause',
        '--duration-s',
        '15',
      ],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    )
    expect(r.stderr).not.toMatch(/Error/)
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('membership / pause: 20 nodes, seed 1')
    expect(r.stdout).toContain('false deaths (healthy nodes)')
    expect(r.stdout).toMatch(/sha256 [0-9a-f]{64}/)
  })
})
