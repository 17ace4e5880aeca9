/**
 * TEST ONLY: `POST /debug/hang?mode=spin|block&ms=N` on the admin HTTP, served only when
 * CONCLAVE_TEST_DEBUG_HANG=1 (a test hook: it also needs `--enable-test-hooks`, test-hooks.ts).
 * It answers 202, then takes the node's main thread away for N ms so the hang watch
 * (harness/hang-watch.ts) can be tried on a real node: `spin` runs a JS loop (a busy event loop),
 * `block` opens a FIFO for reading, which blocks in the open system call until a writer comes (a
 * `sh` started here opens it after N ms): no JS can run, not even V8's interrupts (Atomics.wait
 * would not do: V8 wakes it for interrupts, so the inspector still pauses it).
 */
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** How long a test may hang a node at most. */
const HANG_MS_MAX = 600_000

export function debugHangEnabled(env: NodeJS.ProcessEnv): boolean {
  return env.CONCLAVE_TEST_DEBUG_HANG === '1'
}

/** The hang a query string asks for, or an error message (answered 400). */
export function parseDebugHang(query: string): { mode: 'spin' | 'block'; ms: number } | string {
  const q = new URLSearchParams(query)
  const mode = q.get('mode')
  const ms = Number(q.get('ms'))
  if (mode !== 'spin' && mode !== 'block') return `mode: expected spin | block, got ${JSON.stringify(mode)}`
  if (!Number.isInteger(ms) || ms < 1 || ms > HANG_MS_MAX)
    return `ms: expected an integer in [1, ${HANG_MS_MAX}], got ${JSON.stringify(q.get('ms'))}`
  return { mode, ms }
}

/** A JS loop that holds the main thread until `untilMs` (its name shows in a paused stack). */
export function debugSpinUntil(untilMs: number): number {
  let turns = 0
  while (Date.now() < untilMs) turns++
  return turns
}

/** The main thread blocked in open(2) of a FIFO for `ms`, no JS running. */
export function debugBlockFor(ms: number): void {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-hang-'))
  const fifo = join(dir, 'fifo')
  // The sh that ends the block starts before the FIFO exists, and removes the dir too: a node
  // killed while blocked never reaches its rmSync (23 such dirs were in /tmp), and one killed
  // between the mkdtemp and the FIFO (its test waits for the FIFO, not the dir: it waited for the
  // dir and killed the node before a later-spawned sh existed, a flaky test in session 10) leaves
  // nothing either. Read-write, not write-only: a FIFO's O_RDWR open never blocks, so the sh ends
  // even when the node is gone and nobody reads; `3>` blocked such a sh forever.
  spawn('sh', ['-c', `sleep ${ms / 1000}; exec 3<>"$0"; rm -rf "$1"`, fifo, dir], {
    stdio: 'ignore',
    detached: true,
  }).unref()
  spawnSync('mkfifo', [fifo], { stdio: 'ignore' })
  closeSync(openSync(fifo, 'r'))
  rmSync(dir, { recursive: true, force: true })
}
