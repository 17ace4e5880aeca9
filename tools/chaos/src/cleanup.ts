/**
 * `pnpm chaos --cleanup`: removes what a harness killed with SIGKILL (or a crashed host shell)
 * left behind, without starting a run. Guarantees: it touches only the harness's own things —
 * the cvchaos network namespaces with the processes inside them (killed by pid, netns.teardown),
 * the fenced resource whose pid the harness recorded (killed only if that pid still runs
 * fenced-resource), the /dev/shm/conclave-chaos-PID data dirs of harnesses no longer alive, and a
 * stale lock. It refuses while a live harness holds the lock.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as net from './netns.js'

const RESOURCE_PID_FILE = '/run/conclave-chaos.resource.pid'
const DATA_ROOT = '/dev/shm'
const DATA_PREFIX = 'conclave-chaos-'

/** Called by a run once its fenced resource is up, so a later --cleanup can stop it. */
export function recordResourcePid(pid: number | undefined): void {
  if (pid !== undefined) writeFileSync(RESOURCE_PID_FILE, String(pid))
}

export function forgetResourcePid(): void {
  rmSync(RESOURCE_PID_FILE, { force: true })
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export async function cleanup(log: (line: string) => void): Promise<void> {
  net.lock() // throws if a live harness holds it; takes over a stale one
  try {
    await net.teardown()
    log('cleanup: network namespaces, veth pairs and the bridge removed')
    if (existsSync(RESOURCE_PID_FILE)) {
      const pid = Number(readFileSync(RESOURCE_PID_FILE, 'utf8'))
      let cmd = ''
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      } catch {}
      if (pid > 0 && cmd.includes('fenced-resource')) {
        process.kill(pid, 'SIGKILL')
        log(`cleanup: fenced resource pid ${pid} killed`)
      }
      forgetResourcePid()
    }
    for (const name of readdirSync(DATA_ROOT)) {
      if (!name.startsWith(DATA_PREFIX)) continue
      const pid = Number(name.slice(DATA_PREFIX.length))
      if (!Number.isInteger(pid) || alive(pid)) continue
      rmSync(join(DATA_ROOT, name), { recursive: true, force: true })
      log(`cleanup: ${join(DATA_ROOT, name)} removed`)
    }
  } finally {
    net.unlock()
  }
}
