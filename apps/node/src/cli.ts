/**
 * The `conclave` command line. Apps only wire configuration to the runtime: every decision is
 * the machine's. Commands: start, status, leave, keygen, help.
 */

import { randomInt } from 'node:crypto'
import { existsSync, writeFileSync } from 'node:fs'
import type { ConclaveNode, LeaderMachine } from '@conclave/core'
import {
  AdmissionConfigError,
  createConclave,
  createRng,
  FlatRaft,
  flatRaftConfig,
  generatePsk,
  lanConclaveConfig,
  loadOrCreatePrivateKey,
  localConclaveConfig,
  parseAllowList,
  readAllowListFile,
  readPskFile,
  wanConclaveConfig,
} from '@conclave/core'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { startAdminServer } from './admin-server.js'
import { watchLaunchMilestones } from './launch-milestones.js'
import { jsonLogger } from './logger.js'
import { NodeMetrics } from './metrics.js'
import {
  parseFlags,
  parseHostPort,
  resolveAdminToken,
  resolveStartOptions,
  START_SPECS,
  type StartOptions,
  UsageError,
} from './options.js'
import { bindFailureMessage } from './start-errors.js'
import { startChaosProbe } from './testing/chaos-probe.js'
import { debugHangEnabled } from './testing/debug-hang.js'
import {
  activeTestHooks,
  ENABLE_TEST_HOOKS_FLAG,
  testClockFromEnv,
  withTestBreak,
} from './testing/test-hooks.js'

const HELP = `conclave — leader election for libp2p meshes

  conclave start [options]          run a node (flags, CONCLAVE_* env vars or --config file)
  conclave status [--admin H:P] [--json]   role, leader, term, shard, lease, members
  conclave leave [--admin H:P]      graceful leave with handover; the node exits
      (both also take --admin-token / --admin-token-file / CONCLAVE_ADMIN_TOKEN[_FILE])
  conclave keygen --data-dir DIR    create (or read) the node key, print its peer id
  conclave keygen --psk FILE        create a new cluster pre-shared key (mode 0600; never overwrites)

start options:
${Object.entries(START_SPECS)
  .map(([k, s]) => `  --${k.padEnd(18)} ${s.help}`)
  .join('\n')}
`

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(HELP)
    return 0
  }
  switch (cmd) {
    case 'start': {
      // TEST ONLY second opt-in (testing/test-hooks.ts): a flag only, removed before parsing.
      const hooksFlag = rest.includes(ENABLE_TEST_HOOKS_FLAG)
      const args = rest.filter((a) => a !== ENABLE_TEST_HOOKS_FLAG)
      const testHooks = activeTestHooks(process.env, hooksFlag)
      return start(resolveStartOptions(args, process.env), testHooks)
    }
    case 'status':
      return status(rest)
    case 'leave':
      return leave(rest)
    case 'keygen': {
      const flags = parseFlags(rest, {
        'data-dir': START_SPECS['data-dir'] as (typeof START_SPECS)[string],
        psk: { kind: 'string', help: '' },
      })
      const pskFile = flags.get('psk')?.value
      if (typeof pskFile === 'string') {
        if (existsSync(pskFile))
          throw new UsageError(`keygen --psk: ${pskFile} exists; refusing to overwrite a key`)
        writeFileSync(pskFile, generatePsk(), { mode: 0o600, flag: 'wx' })
        process.stdout.write(
          `wrote a new cluster key to ${pskFile}; copy it to every node (see docs/security.md)\n`,
        )
        return 0
      }
      const dir = flags.get('data-dir')?.value ?? process.env.CONCLAVE_DATA_DIR
      if (typeof dir !== 'string') throw new UsageError('keygen needs --data-dir DIR')
      process.stdout.write(`${peerIdFromPrivateKey(await loadOrCreatePrivateKey(dir)).toString()}\n`)
      return 0
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP)
      return 0
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)} (try: conclave help)`)
  }
}

function prefixLines(text: string): string {
  return text
    .split('\n')
    .map((line) => `conclave: ${line}\n`)
    .join('')
}

/** The PSK and allow-list files, read once at start; a bad file is a usage error. */
function readAdmission(opts: StartOptions): { psk?: Uint8Array; allowPeers?: string[] } {
  try {
    const psk = opts.pskFile ? readPskFile(opts.pskFile) : undefined
    let allowPeers: string[] | undefined
    if (opts.allowPeers !== undefined) {
      const ids = parseAllowList(opts.allowPeers)
      if (opts.allowPeersFile) for (const id of readAllowListFile(opts.allowPeersFile)) ids.add(id)
      if (ids.size === 0) throw new AdmissionConfigError('the allow-list is empty: no peer could connect')
      allowPeers = [...ids]
    }
    return { psk, allowPeers }
  } catch (err) {
    if (err instanceof AdmissionConfigError) throw new UsageError(err.message)
    throw err
  }
}

async function start(opts: StartOptions, testHooks: readonly string[]): Promise<number> {
  const log = jsonLogger(opts.logLevel)
  const admission = readAdmission(opts)
  const t0 = performance.now()
  const presetConfig =
    opts.preset === 'local'
      ? localConclaveConfig()
      : opts.preset === 'wan'
        ? wanConclaveConfig()
        : lanConclaveConfig()
  // TEST ONLY hooks (testing/test-hooks.ts): no effect unless CONCLAVE_TEST_* variables are set.
  const config = withTestBreak(presetConfig, process.env, log)
  const testClock = testClockFromEnv(process.env, log)
  const node: ConclaveNode = await createConclave({
    clock: testClock,
    dataDir: opts.dataDir,
    listen: opts.listen,
    bootstrap: opts.bootstrap,
    priority: opts.priority,
    init: opts.init,
    bootstrapExpect: opts.bootstrapExpect,
    observer: opts.observer,
    config,
    psk: admission.psk,
    allowPeers: admission.allowPeers,
    tcpRtoMaxMs: opts.tcpRtoMaxMs,
    machineFactory:
      opts.engine === 'flat-raft'
        ? (ctx) => {
            const voters = opts.voters.length > 0 ? opts.voters : [ctx.id, ...ctx.seeds]
            if (!voters.includes(ctx.id)) voters.push(ctx.id)
            return new FlatRaft(
              {
                id: ctx.id,
                voters,
                rng: createRng(randomInt(2 ** 32 - 1)),
                config: flatRaftConfig(),
                stored: ctx.stored,
              },
              ctx.nowMs,
            ) as unknown as LeaderMachine
          }
        : undefined,
  })
  const service = node.service
  const addrs = () => node.libp2p.getMultiaddrs().map((a) => a.toString())
  const metrics = new NodeMetrics(service)
  metrics.testHooks = testHooks
  service.addEventListener('leader:change', (e) =>
    log.info('leader:change', { ...e.detail, wallMs: Date.now() }),
  )
  service.addEventListener('peer:cut-off', (e) => log.warn('peer cut off', e.detail))
  // Only when they are written: a listener makes the service build a CustomEvent per trace event.
  if (opts.logLevel === 'debug') service.addEventListener('trace', (e) => log.debug('trace', e.detail))
  service.addEventListener('dial:error', (e) => log.debug('dial failed', e.detail))

  // TEST ONLY, off by default; it samples until the process exits, through a graceful leave too.
  startChaosProbe(node, process.env, testClock)
  // BENCH ONLY, off by default: the failover bench's launch timeline.
  watchLaunchMilestones(node, process.env, log)

  let leaving = false
  const shutdown = async (why: string) => {
    if (leaving) return
    leaving = true
    log.info('leaving', { why })
    const watchdog = setTimeout(() => process.exit(0), 5000)
    watchdog.unref()
    try {
      await node.leave()
      await node.stop()
      admin?.close()
    } catch (err) {
      log.error('leave failed', { error: (err as Error).message })
    }
    log.info('stopped', { wallMs: Date.now() })
    process.exit(0)
  }
  const admin = opts.admin
    ? await startAdminServer({
        ...opts.admin,
        service,
        metrics,
        addrs,
        token: opts.adminToken,
        testHooks,
        debugHang: testHooks.length > 0 && debugHangEnabled(process.env),
        onLeave: () => void shutdown('admin /leave'),
      })
    : undefined
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
  log.info('started', {
    id: node.id,
    addrs: addrs(),
    admin: opts.admin ? `${opts.admin.host}:${(admin?.address() as { port: number } | null)?.port}` : null,
    bootEpoch: service.bootEpoch,
    engine: opts.engine,
    privateNetwork: admission.psk !== undefined,
    allowPeers: admission.allowPeers?.length ?? null,
    adminToken: opts.adminToken !== undefined,
    startupMs: Math.round(performance.now() - t0),
    uptimeMs: Math.round(process.uptime() * 1000),
    pid: process.pid,
    wallMs: Date.now(),
  })
  return -1 // keep running
}

function adminOf(rest: string[]): {
  host: string
  port: number
  json: boolean
  headers: Record<string, string>
} {
  const flags = parseFlags(rest, {
    admin: START_SPECS.admin as (typeof START_SPECS)[string],
    'admin-token': START_SPECS['admin-token'] as (typeof START_SPECS)[string],
    'admin-token-file': START_SPECS['admin-token-file'] as (typeof START_SPECS)[string],
    json: { kind: 'bool', help: '' },
  })
  const raw = flags.get('admin')?.value ?? process.env.CONCLAVE_ADMIN ?? '127.0.0.1:7000'
  const flagStr = (name: string, env: string): string | undefined => {
    const v = flags.get(name)?.value ?? process.env[env]
    return typeof v === 'string' && v !== '' ? v : undefined
  }
  const token = resolveAdminToken(
    flagStr('admin-token', 'CONCLAVE_ADMIN_TOKEN'),
    flagStr('admin-token-file', 'CONCLAVE_ADMIN_TOKEN_FILE'),
    (name) => ({
      source: flags.has(name) ? `--${name}` : `CONCLAVE_${name.toUpperCase().replaceAll('-', '_')}`,
    }),
  )
  return {
    ...parseHostPort(String(raw), flags.has('admin') ? '--admin' : 'CONCLAVE_ADMIN'),
    json: flags.has('json'),
    headers: token ? { authorization: `Bearer ${token}` } : {},
  }
}

async function status(rest: string[]): Promise<number> {
  const { host, port, json, headers } = adminOf(rest)
  const res = await fetch(`http://${host}:${port}/status`, { headers }).catch((err: Error) => {
    throw new UsageError(
      `no node answers on ${host}:${port} (${err.message}); is it started with --admin ${host}:${port}?`,
    )
  })
  if (res.status === 401)
    throw new UsageError(`${host}:${port} wants an admin token (--admin-token or --admin-token-file)`)
  const s = (await res.json()) as Record<string, unknown>
  if (json) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`)
    return 0
  }
  const members = (s.members ?? {}) as Record<string, number>
  process.stdout.write(
    [
      `node          ${s.id}`,
      `role          ${s.role ?? (s.isLeader ? 'leader' : 'follower')}`,
      `global leader ${s.globalLeader ?? (s.leader as { id?: string } | null)?.id ?? '(none known)'}`,
      `global term   ${s.globalTerm ?? (s.leader as { term?: number } | null)?.term ?? 0}`,
      `shard         ${s.shard ?? '-'}  leader ${s.shardLeader ?? '-'}  term ${s.shardTerm ?? '-'}`,
      `lease left    ${s.leaseLeftMs ?? 0} ms`,
      `members       ${Object.entries(members)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    ].join('\n') + '\n',
  )
  return 0
}

async function leave(rest: string[]): Promise<number> {
  const { host, port, headers } = adminOf(rest)
  const res = await fetch(`http://${host}:${port}/leave`, { method: 'POST', headers }).catch((err: Error) => {
    throw new UsageError(`no node answers on ${host}:${port} (${err.message})`)
  })
  process.stdout.write(`${res.status === 202 ? 'leaving' : `unexpected ${res.status}`}\n`)
  return res.status === 202 ? 0 : 1
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code)
  },
  (err: Error) => {
    if (err instanceof UsageError) {
      process.stderr.write(`conclave: ${err.message}\n`)
      process.exit(2)
    }
    const bind = bindFailureMessage(err)
    process.stderr.write(bind ? prefixLines(bind) : `conclave: ${err.stack ?? err.message}\n`)
    process.exit(1)
  },
)
