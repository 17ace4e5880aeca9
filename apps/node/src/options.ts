/**
 * `conclave start` options from three sources with the same names: flags (`--data-dir`),
 * environment variables (`CONCLAVE_DATA_DIR`) and a JSON config file (`"data-dir"` or
 * `"dataDir"`). Precedence: flag > environment > config file > default. Every bad value is a
 * clear UsageError naming the option and the source it came from.
 */
import { readFileSync } from 'node:fs'
import {
  AdmissionConfigError,
  checkPrivateFile,
  isRtoMaxMs,
  RTO_MAX_MS_MAX,
  RTO_MAX_MS_MIN,
} from '@conclave/core'
import { multiaddr } from '@multiformats/multiaddr'
import { ADMIN_TOKEN_CHARS_MIN, isLoopbackHost } from './admin-auth.js'

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type Preset = 'lan' | 'wan' | 'local'
export type Engine = 'conclave' | 'flat-raft'

export interface StartOptions {
  listen: string[]
  bootstrap: string[]
  dataDir: string
  priority: number
  admin: { host: string; port: number } | undefined
  init: boolean
  bootstrapExpect: number | undefined
  logLevel: LogLevel
  preset: Preset
  observer: boolean
  /** `flat-raft` runs the baseline (benchmark comparison); needs `voters`. */
  engine: Engine
  voters: string[]
  /** Swarm-key file of the cluster's pre-shared key (private network); undefined = open mesh. */
  pskFile: string | undefined
  /** Peer ids listed by --allow-peers; with allowPeersFile, undefined when neither is set (anyone). */
  allowPeers: string[] | undefined
  /** File of allowed peer ids (read at start). */
  allowPeersFile: string | undefined
  /** Bearer token for the admin HTTP API; required when `admin` is not a loopback address. */
  adminToken: string | undefined
  /**
   * Cap on each connection's TCP retransmission backoff, ms (createConclave's tcpRtoMaxMs):
   * undefined = its default (1000), 0 = the kernel's own backoff, else 1000 .. 120000.
   */
  tcpRtoMaxMs: number | undefined
}

interface Spec {
  kind: 'string' | 'list' | 'int' | 'bool'
  help: string
}

export const START_SPECS: Record<string, Spec> = {
  listen: { kind: 'list', help: 'listen multiaddrs, comma-separated (default /ip4/127.0.0.1/tcp/0)' },
  bootstrap: { kind: 'list', help: 'multiaddrs with /p2p/<peer id> of running nodes, comma-separated' },
  'data-dir': { kind: 'string', help: 'directory for the peer key and durable state (required)' },
  priority: { kind: 'int', help: 'election priority, higher preferred (default 0)' },
  admin: {
    kind: 'string',
    help: 'admin HTTP address HOST:PORT, or PORT for 127.0.0.1:PORT (default off; off loopback needs --admin-token)',
  },
  init: { kind: 'bool', help: 'this node may form a new cluster alone (the first node)' },
  'bootstrap-expect': { kind: 'int', help: 'wait for N members before the first election' },
  'log-level': { kind: 'string', help: 'debug | info | warn | error (default info)' },
  preset: { kind: 'string', help: 'timing preset: lan | wan | local (default lan)' },
  observer: { kind: 'bool', help: 'never vote or lead; only follow the leaders' },
  engine: { kind: 'string', help: 'conclave | flat-raft (baseline, for comparisons; default conclave)' },
  voters: { kind: 'list', help: 'flat-raft only: every voter peer id (default: self + bootstrap ids)' },
  'psk-file': {
    kind: 'string',
    help: 'cluster pre-shared key (swarm key file, see conclave keygen --psk); only key holders connect',
  },
  'allow-peers': { kind: 'list', help: 'only these peer ids may connect, comma-separated (default anyone)' },
  'allow-peers-file': { kind: 'string', help: 'file of allowed peer ids, one per line (# comments)' },
  'admin-token': {
    kind: 'string',
    help: `bearer token for admin HTTP (>= ${ADMIN_TOKEN_CHARS_MIN} chars; required off loopback; visible in ps: prefer --admin-token-file or CONCLAVE_ADMIN_TOKEN)`,
  },
  'admin-token-file': {
    kind: 'string',
    help: 'file holding the admin token (first line; must not be readable by group or others)',
  },
  'tcp-rto-max-ms': {
    kind: 'int',
    help: `cap on TCP's retransmission backoff per connection, ms: ${RTO_MAX_MS_MIN}..${RTO_MAX_MS_MAX} (Linux >= 6.15; default 1000), 0 = the kernel's own`,
  },
  config: { kind: 'string', help: 'JSON config file with the same option names' },
}

type Raw = Map<string, { value: string | boolean | string[] | number; source: string }>

/** Parse `--name value`, `--name=value` and bare boolean flags against the specs. */
export function parseFlags(argv: readonly string[], specs: Record<string, Spec>): Raw {
  const out: Raw = new Map()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`)
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2)
    const spec = specs[name]
    if (!spec) throw new UsageError(`unknown option --${name} (see --help)`)
    let value: string
    if (eq > 0) value = arg.slice(eq + 1)
    else if (spec.kind === 'bool') value = 'true'
    else {
      const next = argv[++i]
      if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value`)
      value = next
    }
    out.set(name, { value, source: `--${name}` })
  }
  return out
}

export function resolveStartOptions(argv: readonly string[], env: NodeJS.ProcessEnv): StartOptions {
  const flags = parseFlags(argv, START_SPECS)
  const merged: Raw = new Map()
  const configPath = flags.get('config')?.value ?? env.CONCLAVE_CONFIG
  if (typeof configPath === 'string') {
    let json: unknown
    try {
      json = JSON.parse(readFileSync(configPath, 'utf8'))
    } catch (err) {
      throw new UsageError(`config file ${configPath}: ${(err as Error).message}`)
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new UsageError(`config file ${configPath}: expected a JSON object`)
    for (const [k, v] of Object.entries(json)) {
      const name = k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
      if (!START_SPECS[name] || name === 'config')
        throw new UsageError(`config file ${configPath}: unknown option "${k}"`)
      merged.set(name, { value: v as string, source: `${configPath}:${k}` })
    }
  }
  for (const name of Object.keys(START_SPECS)) {
    const envName = `CONCLAVE_${name.toUpperCase().replaceAll('-', '_')}`
    const v = env[envName]
    if (v !== undefined && v !== '') merged.set(name, { value: v, source: envName })
  }
  for (const [k, v] of flags) merged.set(k, v)

  const get = (name: string) => merged.get(name)
  const str = (name: string): string | undefined => {
    const e = get(name)
    if (e === undefined) return undefined
    if (typeof e.value !== 'string') throw new UsageError(`${e.source}: expected a string`)
    return e.value
  }
  const list = (name: string): string[] => {
    const e = get(name)
    if (e === undefined) return []
    if (Array.isArray(e.value)) return e.value.map(String)
    return String(e.value)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  }
  const int = (name: string, min: number, max: number): number | undefined => {
    const e = get(name)
    if (e === undefined) return undefined
    const n = typeof e.value === 'number' ? e.value : Number(e.value)
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UsageError(
        `${e.source}: expected an integer in [${min}, ${max}], got ${JSON.stringify(e.value)}`,
      )
    return n
  }
  const bool = (name: string): boolean => {
    const e = get(name)
    if (e === undefined) return false
    const v = String(e.value).toLowerCase()
    if (v === 'true' || v === '1' || v === 'yes') return true
    if (v === 'false' || v === '0' || v === 'no') return false
    throw new UsageError(`${e.source}: expected true or false, got ${JSON.stringify(e.value)}`)
  }
  const oneOf = <T extends string>(name: string, allowed: readonly T[], dflt: T): T => {
    const v = str(name)
    if (v === undefined) return dflt
    if (!(allowed as readonly string[]).includes(v))
      throw new UsageError(
        `${get(name)?.source}: expected one of ${allowed.join(' | ')}, got ${JSON.stringify(v)}`,
      )
    return v as T
  }

  const dataDir = str('data-dir')
  if (!dataDir)
    throw new UsageError('--data-dir is required (or CONCLAVE_DATA_DIR, or "data-dir" in the config file)')
  const listen = list('listen')
  for (const a of listen) checkMultiaddr(a, 'listen', false)
  const bootstrap = list('bootstrap')
  for (const a of bootstrap) checkMultiaddr(a, 'bootstrap', true)
  const init = bool('init')
  const bootstrapExpect = int('bootstrap-expect', 1, 100_000)
  const engine = oneOf<Engine>('engine', ['conclave', 'flat-raft'], 'conclave')
  if (engine === 'conclave' && !init && bootstrap.length === 0 && bootstrapExpect === undefined) {
    throw new UsageError(
      'nothing to join: pass --bootstrap <multiaddr/p2p/id>, or --init for the first node (or --bootstrap-expect N)',
    )
  }
  const adminRaw = str('admin')
  const admin = adminRaw ? parseHostPort(adminRaw, get('admin')?.source ?? '--admin') : undefined
  const adminToken = resolveAdminToken(str('admin-token'), str('admin-token-file'), get)
  if (admin && !isLoopbackHost(admin.host) && adminToken === undefined)
    throw new UsageError(
      `${get('admin')?.source}: ${admin.host} is not a loopback address; the admin API there needs --admin-token or --admin-token-file`,
    )
  const tcpRtoMaxMs = rtoMaxMs(get('tcp-rto-max-ms'))
  const allowList = [...list('allow-peers')]
  const allowFile = str('allow-peers-file')
  return {
    listen: listen.length > 0 ? listen : ['/ip4/127.0.0.1/tcp/0'],
    bootstrap,
    dataDir,
    priority: int('priority', -1_000_000, 1_000_000) ?? 0,
    admin,
    init,
    bootstrapExpect,
    logLevel: oneOf<LogLevel>('log-level', ['debug', 'info', 'warn', 'error'], 'info'),
    preset: oneOf<Preset>('preset', ['lan', 'wan', 'local'], 'lan'),
    observer: bool('observer'),
    engine,
    voters: list('voters'),
    pskFile: str('psk-file'),
    allowPeers: allowList.length > 0 || allowFile ? allowList : undefined,
    allowPeersFile: allowFile,
    adminToken,
    tcpRtoMaxMs,
  }
}

/** `--tcp-rto-max-ms`: 0 (the kernel's own backoff) or what the kernel accepts, 1000 .. 120000. */
function rtoMaxMs(e: { value: unknown; source: string } | undefined): number | undefined {
  if (e === undefined) return undefined
  const n = typeof e.value === 'number' ? e.value : Number(e.value)
  if (!isRtoMaxMs(n))
    throw new UsageError(
      `${e.source}: expected 0 (the kernel's own backoff) or an integer in [${RTO_MAX_MS_MIN}, ${RTO_MAX_MS_MAX}] ms (what the kernel accepts), got ${JSON.stringify(e.value)}`,
    )
  return n
}

/**
 * The admin token from the option or the first line of its file; checked for length. A token
 * file that group or others may read is refused (checkPrivateFile). Prefer the file or the
 * environment to `--admin-token`, whose value any local user sees in `ps`.
 */
export function resolveAdminToken(
  token: string | undefined,
  file: string | undefined,
  get: (name: string) => { source: string } | undefined,
): string | undefined {
  let value = token
  let source = get('admin-token')?.source ?? '--admin-token'
  if (value === undefined && file !== undefined) {
    source = `admin token file ${file}`
    try {
      value = (readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '').trim()
      checkPrivateFile(file, 'admin token file')
    } catch (err) {
      if (err instanceof AdmissionConfigError) throw new UsageError(err.message)
      throw new UsageError(`${source}: ${(err as Error).message}`)
    }
  }
  if (value === undefined) return undefined
  if (value.length < ADMIN_TOKEN_CHARS_MIN || /\s/.test(value))
    throw new UsageError(
      `${source}: the admin token needs at least ${ADMIN_TOKEN_CHARS_MIN} characters and no spaces`,
    )
  return value
}

/** `HOST:PORT`, or a bare `PORT` / `:PORT` meaning loopback (127.0.0.1:PORT). */
export function parseHostPort(s: string, source: string): { host: string; port: number } {
  const bare = /^:?(\d+)$/.exec(s)
  if (bare && Number(bare[1]) <= 65535) return { host: '127.0.0.1', port: Number(bare[1]) }
  const m = /^(.*):(\d+)$/.exec(s)
  const port = m ? Number(m[2]) : Number.NaN
  if (!m?.[1] || port > 65535)
    throw new UsageError(`${source}: expected HOST:PORT such as 127.0.0.1:7000, got ${JSON.stringify(s)}`)
  return { host: m[1], port }
}

function checkMultiaddr(a: string, what: string, needPeer: boolean): void {
  try {
    const ma = multiaddr(a)
    if (needPeer && !ma.getComponents().some((c) => c.name === 'p2p'))
      throw new Error('missing /p2p/<peer id>')
  } catch (err) {
    throw new UsageError(`--${what}: bad multiaddr ${JSON.stringify(a)}: ${(err as Error).message}`)
  }
}
