/**
 * The hang watch on real node processes: one node's main thread spins in JS, another's blocks in a
 * system call (the TEST ONLY /debug/hang hook), a third is stopped (SIGSTOP), and the harness must
 * capture each once it has been silent, with the right verdict and, for the spinning one, its JS
 * stack; a fourth, answering throughout, is never captured.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type HangCapture, LocalCluster } from './local-cluster.js'
import { testPorts } from './test-ports.js'

let cluster: LocalCluster | undefined
let dir: string | undefined

describe('hang watch on real processes', () => {
  afterAll(async () => {
    await cluster?.stopAll()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('captures a spinning and a blocked node: verdict, threads, JS stack of the spinning one', async () => {
    dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'conclave-hang-'))
    const c = new LocalCluster({
      nodes: 4,
      dir,
      ...(await testPorts('hang-watch-live', 4)),
      extraArgs: () => ['--enable-test-hooks'],
      extraEnv: () => ({ CONCLAVE_TEST_DEBUG_HANG: '1' }),
      hangWatch: { silentMs: 3000, loadScaleMax: 1, probeAfterMs: 0, probeEveryMs: 500, capturesMax: 3 },
      onHang: () => {},
    })
    cluster = c
    await c.start()
    for (const [i, mode] of [
      [0, 'spin'],
      [1, 'block'],
    ] as const) {
      const res = await fetch(`http://127.0.0.1:${c.adminPort(i)}/debug/hang?mode=${mode}&ms=40000`, {
        method: 'POST',
      })
      expect(res.status).toBe(202)
    }
    process.kill(c.nodes[2]?.pid as number, 'SIGSTOP')
    const caps = await c.waitFor(
      () => (c.hangCaptures.length >= 3 ? c.hangCaptures : undefined),
      80_000,
      'three captures',
    )
    process.kill(c.nodes[2]?.pid as number, 'SIGCONT')
    const by = (i: number) => caps.find((x) => x.index === i) as HangCapture
    // Node 3 answers throughout: never captured.
    expect(caps.map((x) => x.index).sort()).toEqual([0, 1, 2])

    const spin = readFileSync(by(0).path, 'utf8')
    expect(by(0).verdict).toMatch(/^main thread (spinning|busy but starved)/) // starved when the host is saturated
    expect(spin).toMatch(/main thread paused/)
    expect(spin).toMatch(/at debugSpinUntil \(.*debug-hang\.ts:\d+:\d+/)
    expect(spin).toMatch(/"heapUsed":\d+/)
    // V8 may inline the loop into its caller (the admin server's timer callback): the share is the check.
    expect(spin).toMatch(/most self time:\n\s+(9\d|100)\.\d% .*(debug-hang|admin-server)\.ts/)
    expect(readdirSync(c.dataDir(0)).some((f) => f.endsWith('.cpuprofile'))).toBe(true)

    const block = readFileSync(by(1).path, 'utf8')
    expect(by(1).verdict).toMatch(/^main thread blocked: \d ticks.*wchan \w+, openat/)
    expect(block).toMatch(/no inspector: /)
    expect(block).toMatch(/^#\d+ .* in \S*open/m) // gdb's native stack of the main thread

    const stopped = readFileSync(by(2).path, 'utf8')
    expect(by(2).verdict).toMatch(/^stopped/)
    expect(stopped).toMatch(/no inspector: /)
    for (const r of [spin, block, stopped]) {
      expect(r).toMatch(/threads \(CPU ticks/)
      expect(r).toMatch(/^VmRSS:/m)
      expect(r).toMatch(/"msg":"started"/) // the node's last stderr lines
    }
  }, 120_000)
})
