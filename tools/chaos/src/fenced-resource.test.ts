import { type ChildProcess, spawn } from 'node:child_process'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'

const RESOURCE = fileURLToPath(new URL('./fenced-resource.ts', import.meta.url))

/** Start the resource on a free loopback port; collect its log lines. */
async function start(extra: string[] = []) {
  const child = spawn(process.execPath, ['--import', 'tsx', RESOURCE, '--listen', '127.0.0.1:0', ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines: Record<string, unknown>[] = []
  const waiters: Array<() => void> = []
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
    lines.push(JSON.parse(l) as Record<string, unknown>)
    for (const w of waiters.splice(0)) w()
  })
  const until = async (n: number) => {
    while (lines.length < n) await new Promise<void>((r) => waiters.push(r))
  }
  await until(1)
  return { child, lines, until, port: Number(lines[0]?.port) }
}

let child: ChildProcess | undefined
afterEach(() => child?.kill('SIGKILL'))

describe('fenced resource', () => {
  it('accepts tokens at least the highest accepted, refuses lower ones, counts bad input and keeps serving', async () => {
    const r = await start()
    child = r.child
    const s = connect({ host: '127.0.0.1', port: r.port })
    const w = (node: string, token: number, seq: number) => JSON.stringify({ node, token, seq })
    s.write(`${w('a', 3, 1)}\n${w('b', 2, 1)}\nnot json\n{"node":1}\n${w('b', 3, 2)}\n${w('c', 4, 1)}\n`)
    await r.until(7)
    s.destroy()
    const log = r.lines
      .slice(1)
      .map((l) => (l.error ? `error ${l.error}` : `${l.node}${l.token} ${l.accepted}`))
    expect(log).toEqual(['a3 true', 'b2 false', 'error not json', 'error bad write', 'b3 true', 'c4 true'])
  })

  it('--unfenced (test only) accepts a stale token', async () => {
    const r = await start(['--unfenced'])
    child = r.child
    const s = connect({ host: '127.0.0.1', port: r.port })
    s.write(
      `${JSON.stringify({ node: 'a', token: 5, seq: 1 })}\n${JSON.stringify({ node: 'b', token: 1, seq: 1 })}\n`,
    )
    await r.until(3)
    s.destroy()
    expect(r.lines[2]).toMatchObject({ node: 'b', token: 1, accepted: true })
  })
})
