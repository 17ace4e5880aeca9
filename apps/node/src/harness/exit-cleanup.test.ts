import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const script = fileURLToPath(new URL('../testing/exit-cleanup-child.ts', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'conclave-exit-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Start the child; resolves with what it printed once it is ready. */
function start(mode = ''): Promise<{ child: ChildProcess; dir: string; sleepPid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, root, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (l) =>
      resolve({ child, ...(JSON.parse(l) as { dir: string; sleepPid: number }) }),
    )
  })
}

const ended = (c: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    c.once('exit', (code, signal) => r({ code, signal })),
  )

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('exit cleanup of a harness process', () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${signal}: the temp dir is removed, the node killed, and the process ends by ${signal}`, async () => {
      const { child, dir, sleepPid } = await start()
      expect(existsSync(dir)).toBe(true)
      const end = ended(child)
      child.kill(signal)
      expect(await end).toEqual({ code: null, signal })
      expect(existsSync(dir)).toBe(false)
      const deadline = Date.now() + 5000
      while (alive(sleepPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(alive(sleepPid)).toBe(false)
    }, 30_000)
  }

  it('an unregistered dir is left alone at exit (its owner removed or kept it)', async () => {
    const { child, dir, sleepPid } = await start('unregister')
    expect(await ended(child)).toEqual({ code: 0, signal: null })
    expect(existsSync(dir)).toBe(true)
    const deadline = Date.now() + 5000
    while (alive(sleepPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(alive(sleepPid)).toBe(false) // still registered: killed at exit
  }, 30_000)
})
