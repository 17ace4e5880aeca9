/**
 * The `conclave` command line. Apps only wire configuration to the runtime: every decision is
 * the machine's. Commands: start, status, leave, keygen, help.
 */

import { randomInt } from 'node:crypto'
import type { ConclaveNode, LeaderMachine } from '@conclave/core'
import {
  createConclave,
  createRng,
  FlatRaft,
  flatRaftConfig,
  lanConclaveConfig,
  loadOrCreatePrivateKey,
  localConclaveConfig,
  wanConclaveConfig,
} from '@conclave/core'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { startAdminServer } from './admin-server.js'
import { jsonLogger } from './logger.js'
import { NodeMetrics } from './metrics.js'
import {
  parseFlags,
  parseHostPort,
  resolveStartOptions,
  START_SPECS,
  type StartOptions,
  UsageError,
} from './options.js'

const HELP = `conclave — leader election for libp2p meshes

  conclave start [options]          run a node (flags, CONCLAVE_* env vars or --config file)
  conclave status [--admin H:P] [--json]   role, leader, term, shard, lease, members
  conclave leave [--admin H:P]      graceful leave with handover; the node exits
  conclave keygen --data-dir DIR    create (or read) the node key, print its peer id

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
    case 'start':
      return start(resolveStartOptions(rest, process.env))
    case 'status':
      return status(rest)
    case 'leave':
      return leave(rest)
    case 'keygen': {
      const flags = parseFlags(rest, { 'data-dir': START_SPECS['data-dir'] as (typeof START_SPECS)[string] })
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

async function start(opts: StartOptions): Promise<number> {
  const log = jsonLogger(opts.logLevel)
  const t0 = performance.now()
  const config =
    opts.preset === 'local'
      ? localConclaveConfig()
      : opts.preset === 'wan'
        ? wanConclaveConfig()
        : lanConclaveConfig()
  const node: ConclaveNode = await createConclave({
    dataDir: opts.dataDir,
    listen: opts.listen,
    bootstrap: opts.bootstrap,
    priority: opts.priority,
    init: opts.init,
    bootstrapExpect: opts.bootstrapExpect,
    observer: opts.observer,
    config,
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
  service.addEventListener('leader:change', (e) =>
    log.info('leader:change', { ...e.detail, wallMs: Date.now() }),
  )
  service.addEventListener('peer:cut-off', (e) => log.warn('peer cut off', e.detail))
  service.addEventListener('trace', (e) => log.debug('trace', e.detail))
  service.addEventListener('dial:error', (e) => log.debug('dial failed', e.detail))

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
    startupMs: Math.round(performance.now() - t0),
    uptimeMs: Math.round(process.uptime() * 1000),
    pid: process.pid,
    wallMs: Date.now(),
  })
  return -1 // keep running
}

function adminOf(rest: string[]): { host: string; port: number; json: boolean } {
  const flags = parseFlags(rest, {
    admin: START_SPECS.admin as (typeof START_SPECS)[string],
    json: { kind: 'bool', help: '' },
  })
  const raw = flags.get('admin')?.value ?? process.env.CONCLAVE_ADMIN ?? '127.0.0.1:7000'
  return {
    ...parseHostPort(String(raw), flags.has('admin') ? '--admin' : 'CONCLAVE_ADMIN'),
    json: flags.has('json'),
  }
}

async function status(rest: string[]): Promise<number> {
  const { host, port, json } = adminOf(rest)
  const res = await fetch(`http://${host}:${port}/status`).catch((err: Error) => {
    throw new UsageError(
      `no node answers on ${host}:${port} (${err.message}); is it started with --admin ${host}:${port}?`,
    )
  })
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
  const { host, port } = adminOf(rest)
  const res = await fetch(`http://${host}:${port}/leave`, { method: 'POST' }).catch((err: Error) => {
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
    process.stderr.write(`conclave: ${err.stack ?? err.message}\n`)
    process.exit(1)
  },
)
