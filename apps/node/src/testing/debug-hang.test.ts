import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const hook = fileURLToPath(new URL('./debug-hang.ts', import.meta.url))

it('a node killed while blocked by debugBlockFor leaves no temp dir behind', async () => {
  // A private TMPDIR: no other test's conclave-hang-* dirs appear in it (tsx keeps its cache there too).
  const tmp = mkdtempSync(join(tmpdir(), 'conclave-hang-test-'))
  const hangDirs = () => readdirSync(tmp).filter((n) => n.startsWith('conclave-hang-'))
  // The FIFO, not the dir: the hook makes it after the sh that cleans up has started.
  const blocked = () => hangDirs().some((d) => existsSync(join(tmp, d, 'fifo')))
  try {
    const code = `const m = await import(${JSON.stringify(hook)}); m.debugBlockFor(300); setInterval(() => {}, 1000)`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: 'ignore',
    })
    const deadline = Date.now() + 20_000
    while (!blocked() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(hangDirs().length).toBe(1) // the hook made its FIFO dir and blocks on it
    expect(blocked()).toBe(true)
    child.kill('SIGKILL')
    const gone = Date.now() + 10_000
    while (hangDirs().length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 50))
    expect(hangDirs()).toEqual([])
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}, 60_000)
