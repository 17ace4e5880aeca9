/**
 * The launcher (bin/conclave-cached.cjs) never runs a bundle with another bundle's code cache. V8
 * checks a cache against its source's length only: a cache made from one bundle, handed to a
 * rebuilt bundle of the same length, is accepted and runs the old code. Here two same-length
 * stand-in bundles (one console.log each; no Conclave node is started) are stamped as build.mjs
 * stamps the real one, in a copy of the bin/ + dist/ layout.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'

const BIN = fileURLToPath(new URL('../bin/', import.meta.url))
const BUILD_SCRIPT = new URL('../bin/build.mjs', import.meta.url).href

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A bin/ + dist/ tree with a copy of the launcher; returns it and how to run it. */
function layout(): { dist: string; run(env?: Record<string, string>): string } {
  const root = mkdtempSync(join(tmpdir(), 'conclave-code-cache-'))
  dirs.push(root)
  mkdirSync(join(root, 'bin'))
  mkdirSync(join(root, 'dist'))
  const launcher = join(root, 'bin', 'conclave-cached.cjs')
  copyFileSync(join(BIN, 'conclave-cached.cjs'), launcher)
  return {
    dist: join(root, 'dist'),
    run(env = {}) {
      const r = spawnSync(process.execPath, [launcher], { env: { ...process.env, ...env }, encoding: 'utf8' })
      expect(r.status).toBe(0)
      return r.stdout.trim()
    },
  }
}

describe('bundle code cache', () => {
  it('a rebuilt bundle of the same length runs its own code, not the old cache', async () => {
    const { stampBundle } = (await import(BUILD_SCRIPT)) as { stampBundle(file: string): string }
    const { dist, run } = layout()
    const bundle = join(dist, 'conclave.cjs')
    writeFileSync(bundle, "console.log('bundle-A')\n")
    const idA = stampBundle(bundle)
    // The build's warm-up: writes the cache and exits.
    expect(run({ CONCLAVE_CODE_CACHE_WARMUP_MS: '1' })).toBe('bundle-A')
    const caches = () => readdirSync(dist).filter((n) => n.includes('.v8cache'))
    expect(caches()).toHaveLength(1)
    expect(run()).toBe('bundle-A')

    // A rebuild whose warm-up wrote no cache: same length, other code.
    const sizeA = statSync(bundle).size
    writeFileSync(bundle, "console.log('bundle-B')\n")
    const idB = stampBundle(bundle)
    expect(statSync(bundle).size).toBe(sizeA)
    expect(idB).not.toBe(idA)
    expect(run()).toBe('bundle-B')
    // The cache is named by the bundle's id; B's first run writes its own only after 10 s.
    expect(caches()).toEqual([`conclave.cjs.${idA}.v8cache`])
  })

  it('a rebuild removes the older bundles caches and their temporary files, nothing else', async () => {
    const { removeCodeCaches } = (await import(BUILD_SCRIPT)) as { removeCodeCaches(dir: string): void }
    const { dist } = layout()
    const names = [
      'conclave.cjs',
      'conclave.cjs.map',
      'conclave.cjs.123.tmp.cjs',
      'conclave.cjs.v8cache',
      'conclave.cjs.0123456789abcdef0123456789abcdef.v8cache',
      'conclave.cjs.0123456789abcdef0123456789abcdef.v8cache.77.tmp',
    ]
    for (const n of names) writeFileSync(join(dist, n), 'x')
    removeCodeCaches(dist)
    expect(readdirSync(dist).sort()).toEqual(['conclave.cjs', 'conclave.cjs.123.tmp.cjs', 'conclave.cjs.map'])
  })

  it('a bundle without an id (the build before ids) writes no cache', () => {
    const { dist, run } = layout()
    writeFileSync(join(dist, 'conclave.cjs'), "console.log('unstamped')\n")
    expect(run({ CONCLAVE_CODE_CACHE_WARMUP_MS: '1' })).toBe('unstamped')
    expect(readdirSync(dist).filter((n) => n.includes('.v8cache'))).toEqual([])
    expect(run()).toBe('unstamped')
  })
})
