import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveStartOptions, UsageError } from './options.js'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
/** A temp dir removed after the file's tests (each run left four behind before). */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-opt-'))
  dirs.push(dir)
  return dir
}

const PEER = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDaJbgRHKdydZC3T7mz5b9P3Uy8RwWag7WThngx2S4nY7'

describe('conclave start options', () => {
  it('flag beats environment beats config file beats default', () => {
    const dir = tempDir()
    const file = join(dir, 'c.json')
    writeFileSync(
      file,
      JSON.stringify({ dataDir: '/from-file', priority: 1, 'log-level': 'warn', init: true }),
    )
    const o = resolveStartOptions(['--config', file, '--priority=3'], {
      CONCLAVE_PRIORITY: '2',
      CONCLAVE_DATA_DIR: '/from-env',
    })
    expect(o.priority).toBe(3)
    expect(o.dataDir).toBe('/from-env')
    expect(o.logLevel).toBe('warn')
    expect(o.init).toBe(true)
    expect(o.listen).toEqual(['/ip4/127.0.0.1/tcp/0'])
    expect(o.preset).toBe('lan')
  })

  it('parses lists, admin address and bootstrap-expect', () => {
    const o = resolveStartOptions(
      [
        '--data-dir',
        'd',
        '--bootstrap',
        `${PEER},${PEER}`,
        '--admin',
        '127.0.0.1:7000',
        '--bootstrap-expect',
        '5',
      ],
      {},
    )
    expect(o.bootstrap).toHaveLength(2)
    expect(o.admin).toEqual({ host: '127.0.0.1', port: 7000 })
    expect(o.bootstrapExpect).toBe(5)
  })

  it.each([
    [['--init'], /--data-dir is required/],
    [['--data-dir', 'd'], /nothing to join/],
    [['--data-dir', 'd', '--init', '--priority', '1.5'], /--priority: expected an integer/],
    [['--data-dir', 'd', '--init', '--admin', 'localhost'], /HOST:PORT/],
    [['--data-dir', 'd', '--init', '--admin', '70000'], /HOST:PORT/],
    [['--data-dir', 'd', '--bootstrap', '/ip4/1.2.3.4/tcp/1'], /missing \/p2p/],
    [['--data-dir', 'd', '--init', '--log-level', 'loud'], /one of debug/],
    [['--data-dir', 'd', '--init', '--nope'], /unknown option --nope/],
    [['--data-dir'], /needs a value/],
    [['--data-dir', 'd', '--init', '--admin', '0.0.0.0:7000'], /not a loopback address/],
    [['--data-dir', 'd', '--init', '--admin', '10.0.0.5:7000', '--admin-token', 'short'], /at least 16/],
    [
      ['--data-dir', 'd', '--init', '--tcp-rto-max-ms', '200'],
      /--tcp-rto-max-ms: expected 0 .* \[1000, 120000\]/,
    ],
    [['--data-dir', 'd', '--init', '--tcp-rto-max-ms', '120001'], /--tcp-rto-max-ms: expected 0/],
    [['--data-dir', 'd', '--init', '--tcp-rto-max-ms', '1.5s'], /--tcp-rto-max-ms: expected 0/],
    [['--data-dir', 'd', '--init', '--tcp-rto-max-ms', '-1'], /--tcp-rto-max-ms: expected 0/],
  ])('rejects %j with a clear message', (argv, message) => {
    expect(() => resolveStartOptions(argv, {})).toThrow(UsageError)
    expect(() => resolveStartOptions(argv, {})).toThrow(message)
  })

  it('admission and admin-token options: flag, env and config file names', () => {
    const dir = tempDir()
    const tokenFile = join(dir, 'token')
    writeFileSync(tokenFile, 'from-file-0123456789\n', { mode: 0o600 })
    const file = join(dir, 'c.json')
    writeFileSync(file, JSON.stringify({ pskFile: '/etc/conclave/swarm.key', adminTokenFile: tokenFile }))
    const o = resolveStartOptions(
      ['--config', file, '--data-dir', 'd', '--init', '--admin', '10.1.2.3:7000'],
      {
        CONCLAVE_ALLOW_PEERS: 'a,b',
      },
    )
    expect(o.pskFile).toBe('/etc/conclave/swarm.key')
    expect(o.adminToken).toBe('from-file-0123456789')
    expect(o.allowPeers).toEqual(['a', 'b'])
    expect(o.admin).toEqual({ host: '10.1.2.3', port: 7000 })
    // A bare port is loopback.
    expect(resolveStartOptions(['--data-dir', 'd', '--init', '--admin', '7000'], {}).admin).toEqual({
      host: '127.0.0.1',
      port: 7000,
    })
    // Loopback needs no token; no allow-list means anyone with the key.
    const p = resolveStartOptions(['--data-dir', 'd', '--init', '--admin', '127.0.0.1:7000'], {})
    expect(p.adminToken).toBeUndefined()
    expect(p.allowPeers).toBeUndefined()
    expect(p.pskFile).toBeUndefined()
  })

  it('tcp-rto-max-ms: flag, env and config file names; unset leaves createConclave its default', () => {
    const base = ['--data-dir', 'd', '--init']
    expect(resolveStartOptions(base, {}).tcpRtoMaxMs).toBeUndefined()
    expect(resolveStartOptions([...base, '--tcp-rto-max-ms', '0'], {}).tcpRtoMaxMs).toBe(0)
    expect(resolveStartOptions([...base, '--tcp-rto-max-ms=2500'], {}).tcpRtoMaxMs).toBe(2500)
    expect(resolveStartOptions(base, { CONCLAVE_TCP_RTO_MAX_MS: '120000' }).tcpRtoMaxMs).toBe(120_000)
    const dir = tempDir()
    const file = join(dir, 'c.json')
    writeFileSync(file, JSON.stringify({ tcpRtoMaxMs: 1000 }))
    expect(resolveStartOptions([...base, '--config', file], {}).tcpRtoMaxMs).toBe(1000)
    writeFileSync(file, JSON.stringify({ 'tcp-rto-max-ms': 500 }))
    expect(() => resolveStartOptions([...base, '--config', file], {})).toThrow(
      /c\.json:tcp-rto-max-ms: expected 0 \(the kernel's own backoff\)/,
    )
  })

  it('refuses an admin token file that other users may read', () => {
    const dir = tempDir()
    const tokenFile = join(dir, 'token')
    writeFileSync(tokenFile, 'from-file-0123456789\n', { mode: 0o600 })
    chmodSync(tokenFile, 0o644)
    const argv = ['--data-dir', 'd', '--init', '--admin-token-file', tokenFile]
    expect(() => resolveStartOptions(argv, {})).toThrow(UsageError)
    expect(() => resolveStartOptions(argv, {})).toThrow(/mode 0644 .*chmod 600/)
    chmodSync(tokenFile, 0o600)
    expect(resolveStartOptions(argv, {}).adminToken).toBe('from-file-0123456789')
  })
})
