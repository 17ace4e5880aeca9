import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { syntheticTrace, toJsonLines } from './testing/synthetic-trace.js'

const BIN = fileURLToPath(new URL('../bin/conclave-inspector.mjs', import.meta.url))

describe('conclave-inspector CLI', () => {
  it('rejects bad flags with exit code 2 and the usage', () => {
    for (const args of [
      [],
      ['--replay', 'a', '--bootstrap', 'b'],
      ['--replay', 'a', '--port', 'x'],
      ['--frobnicate'],
      ['--replay', 'a', '--psk-file', 'k'],
      ['--bootstrap', '/ip4/127.0.0.1/tcp/1', '--psk-file', '/nonexistent/swarm.key'],
    ]) {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' })
      expect(r.status).toBe(2)
      expect(r.stderr).toContain('usage:')
    }
  })

  it('replays a file, counts the bad lines, and serves it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspector-cli-'))
    const file = join(dir, 'trace.jsonl')
    const records = syntheticTrace({ nodes: 10, seed: 9 })
    writeFileSync(file, `${toJsonLines(records)}{oops\n{"kind":"member:teleport","trueMs":1}\n`)
    const child = spawn(process.execPath, [BIN, '--replay', file, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      let out = ''
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString()
          const m = /inspector: (http:\/\/\S+)/.exec(out)
          if (m) resolve(m[1]!)
        })
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)))
      })
      expect(out).toContain(`loaded ${records.length} records`)
      expect(out).toContain('2 lines rejected')
      const meta = (await (await fetch(new URL('/api/meta', url))).json()) as {
        totalRecords: number
        nodes: number
      }
      expect(meta).toMatchObject({ totalRecords: records.length, nodes: 10 })
      expect((await fetch(url)).headers.get('content-type')).toContain('text/html')
    } finally {
      child.kill('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
