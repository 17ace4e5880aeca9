/**
 * The test network: one network namespace per node slot, each with one veth into a bridge in the
 * root namespace, on the private subnet 10.77.0.0/24 (bridge 10.77.0.1, node i at 10.77.0.(10+i)).
 * Nothing else is ever addressed. Everything it creates carries the `cvchaos` prefix, and
 * `teardown()` removes all of it, including what a crashed earlier run left (processes inside
 * our namespaces are killed by pid via `ip netns pids`, never by name). A lock file keeps two
 * harnesses from sharing (and tearing down) the same network.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'

export const SUBNET = '10.77.0.0/24'
export const BRIDGE_IP = '10.77.0.1'
const NS_PREFIX = 'cvchaos-'
const BRIDGE = 'cvchaos0'
const LOCK = '/run/conclave-chaos.lock'

export const nsName = (i: number) => `${NS_PREFIX}${i}`
export const nodeIp = (i: number) => `10.77.0.${10 + i}`
const hostVeth = (i: number) => `cvchaos-v${i}`

export function sh(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d) => {
      stdout += d
    })
    child.stderr?.on('data', (d) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim()}`)),
    )
    if (child.stdin) {
      child.stdin.on('error', () => {}) // the exit code tells what went wrong
      child.stdin.end(input)
    }
  })
}

/** Take the lock, or throw if another live harness holds it. */
export function lock(): void {
  if (existsSync(LOCK)) {
    const pid = Number(readFileSync(LOCK, 'utf8'))
    let alive = false
    try {
      if (pid > 0 && pid !== process.pid) {
        process.kill(pid, 0)
        alive = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('chaos')
      }
    } catch {}
    if (alive) throw new Error(`another chaos harness (pid ${pid}) is running (lock ${LOCK})`)
  }
  writeFileSync(LOCK, String(process.pid))
}

export function unlock(): void {
  try {
    if (Number(readFileSync(LOCK, 'utf8')) === process.pid) rmSync(LOCK)
  } catch {}
}

/** Remove every cvchaos namespace (killing the processes inside by pid), veth and the bridge. */
export async function teardown(): Promise<void> {
  const list = await sh('ip', ['netns', 'list']).catch(() => '')
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0] ?? ''
    if (!ns.startsWith(NS_PREFIX)) continue
    const pids = await sh('ip', ['netns', 'pids', ns]).catch(() => '')
    for (const p of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL')
      } catch {}
    }
    await sh('ip', ['netns', 'del', ns]).catch(() => {})
  }
  await sh('ip', ['link', 'del', BRIDGE]).catch(() => {})
  // A deleted namespace is destroyed asynchronously (seconds on a busy host) and its veth pairs
  // with it: delete our ends explicitly (that removes both ends), then wait until none is left.
  for (let i = 0; i < 100; i++) {
    const links = await sh('ip', ['-o', 'link', 'show']).catch(() => '')
    const ours = [...links.matchAll(/^\d+: (cvchaos[^@:\s]*)/gm)].map((m) => m[1] as string)
    if (ours.length === 0) return
    for (const l of ours) await sh('ip', ['link', 'del', l]).catch(() => {})
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('could not remove the cvchaos links (see ip link)')
}

/**
 * `rtoMaxMs`: set the namespaces' `net.ipv4.tcp_rto_max_ms` (Linux >= 6.15; default 120000),
 * TCP's cap on its retransmission backoff for sockets that set none of their own (the nodes set
 * theirs, `--tcp-rto-max-ms`, which the harness passes with the same value: run.ts).
 */
export async function setup(slots: number, rtoMaxMs?: number): Promise<void> {
  const batch: string[] = [
    `link add ${BRIDGE} type bridge`,
    `addr add ${BRIDGE_IP}/24 dev ${BRIDGE}`,
    `link set ${BRIDGE} up`,
  ]
  for (let i = 0; i < slots; i++) {
    batch.push(
      `netns add ${nsName(i)}`,
      `link add ${hostVeth(i)} type veth peer name eth0 netns ${nsName(i)}`,
      `link set ${hostVeth(i)} master ${BRIDGE} up`,
    )
  }
  await sh('ip', ['-batch', '-'], `${batch.join('\n')}\n`)
  for (let i = 0; i < slots; i++)
    await sh(
      'ip',
      ['-n', nsName(i), '-batch', '-'],
      `addr add ${nodeIp(i)}/24 dev eth0\nlink set eth0 up\nlink set lo up\n`,
    )
  if (rtoMaxMs !== undefined)
    for (let i = 0; i < slots; i++)
      await sh('ip', [
        'netns',
        'exec',
        nsName(i),
        'sysctl',
        '-q',
        '-w',
        `net.ipv4.tcp_rto_max_ms=${rtoMaxMs}`,
      ])
}

/** Replace the filter table of slot i's namespace (iptables-restore: atomic per namespace). */
export async function applyRules(i: number, rules: string): Promise<void> {
  await sh('ip', ['netns', 'exec', nsName(i), 'iptables-restore'], rules)
}
