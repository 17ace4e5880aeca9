/**
 * The `conclave()` libp2p service embedded in an application's own libp2p node, in two separate
 * processes (testing/embedded-node.ts): they find each other, elect one leader and both know it.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'

const script = fileURLToPath(new URL('./testing/embedded-node.ts', import.meta.url))
const procs: ChildProcess[] = []
const dir = mkdtempSync(join(tmpdir(), 'conclave-embed-'))

function run(args: string[]): {
  lines: Record<string, unknown>[]
  next(pred: (l: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>>
} {
  const child = spawn(
    process.execPath,
    ['--conditions=conclave-source', '--import', 'tsx', script, ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  procs.push(child)
  const lines: Record<string, unknown>[] = []
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
    lines.push(JSON.parse(l) as Record<string, unknown>)
    for (const w of [...waiters]) w()
  })
  return {
    lines,
    next: (pred, ms) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.findLast(pred)
          if (!hit) return
          waiters.delete(check)
          clearTimeout(t)
          resolve(hit)
        }
        const t = setTimeout(() => reject(new Error(`timeout; lines: ${JSON.stringify(lines)}`)), ms)
        waiters.add(check)
        check()
      }),
  }
}

afterAll(() => {
  for (const p of procs) p.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

it('two processes embedding conclave() elect one leader that both know', async () => {
  // Port 0: the kernel picks free ports; a prints the address it got and b bootstraps through it.
  const a = run([join(dir, 'a'), '0', '2'])
  const ready = await a.next((l) => l.ready === true, 30_000)
  const b = run([join(dir, 'b'), '0', '2', String(ready.addr)])
  const la = await a.next((l) => typeof l.leader === 'string', 30_000)
  const lb = await b.next((l) => l.leader === la.leader && l.term === la.term, 30_000)
  expect(lb.leader).toBe(la.leader)
  const selfFlags = [la.isSelf, lb.isSelf].filter(Boolean)
  expect(selfFlags).toHaveLength(1)
}, 90_000)
