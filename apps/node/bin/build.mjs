#!/usr/bin/env node
// Bundles the CLI and everything it imports (Conclave sources, libp2p) into one CommonJS file,
// dist/conclave.cjs, with esbuild, and makes its V8 code cache (conclave-cached.cjs). A bundled
// node starts several times faster than one that compiles TypeScript through tsx, and the code
// cache saves a further ≈ 30 % of a start's CPU, which matters when one machine starts 25–100 of
// them. `ensureBuilt()` rebuilds only when a source file (or this directory's launcher and build
// script) is newer than the bundle, and returns the file to run: `node <it> start …`.
//
// V8 checks a code cache against its source by the source's LENGTH only, so a cache made from one
// bundle is accepted by a rebuilt bundle of the same length, and runs the old code. Hence the
// bundle ends with its content hash (stampBundle) and its cache is named by it
// (dist/conclave.cjs.<hash>.v8cache): a rebuild never meets an older bundle's cache, whichever
// process wrote it and when.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..')
export const BUNDLE = join(here, '..', 'dist', 'conclave.cjs')
/** What to run: the bundle with its code cache. */
export const LAUNCHER = join(here, 'conclave-cached.cjs')
/** The bundle's last line: this and its content hash (read by conclave-cached.cjs). */
export const BUNDLE_ID_MARK = '//! conclave-bundle-id '
/** How long the build's warm-up node runs before it writes the code cache (its start is done by then). */
const WARMUP_MS = 1500

function newestMtime(dir) {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p))
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs)
  }
  return newest
}

export async function ensureBuilt({ force = false } = {}) {
  const sources = [join(root, 'packages/core/src'), join(here, '..', 'src'), here]
  if (!force && existsSync(BUNDLE) && statSync(BUNDLE).mtimeMs >= Math.max(...sources.map(newestMtime)))
    return LAUNCHER
  const { build } = await import('esbuild')
  // Build beside the bundle and rename over it: several harnesses may rebuild at once, and a
  // process must never load a half-written file.
  const tmp = `${BUNDLE}.${process.pid}.tmp.cjs`
  await build({
    entryPoints: [join(here, '..', 'src', 'cli.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    conditions: ['conclave-source'],
    sourcemap: 'external',
    logLevel: 'warning',
    // The sources' `import.meta.url` (e.g. createRequire in tcp-rto-cap.ts) is the bundle's URL.
    define: { 'import.meta.url': '__conclaveBundleUrl' },
    banner: { js: "const __conclaveBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  })
  stampBundle(tmp)
  removeCodeCaches(dirname(BUNDLE))
  renameSync(tmp, BUNDLE)
  renameSync(`${tmp}.map`, `${BUNDLE}.map`)
  writeCodeCache()
  return LAUNCHER
}

/**
 * Append the bundle's id (a hash of its content) as its last line; the launcher names the code
 * cache by it. After the source map's last mapping, so the map stays right.
 */
export function stampBundle(file) {
  const id = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 32)
  appendFileSync(file, `\n${BUNDLE_ID_MARK}${id}\n`)
  return id
}

/** Older bundles' code caches (and temporary files of their writes): none can serve a new bundle. */
export function removeCodeCaches(dir) {
  for (const name of readdirSync(dir))
    if (name.startsWith('conclave.cjs.') && name.includes('.v8cache'))
      rmSync(join(dir, name), { force: true })
}

/**
 * The environment without CONCLAVE_* settings, for a node that must not join a real cluster (the
 * warm-up node here, `pnpm bench conn`'s timed starts).
 */
export function envWithoutConclave() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONCLAVE_')))
}

/** Run one node on the new bundle until its start path is compiled; it writes the code cache. */
function writeCodeCache() {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-warmup-'))
  try {
    spawnSync(
      process.execPath,
      [
        LAUNCHER,
        'start',
        `--data-dir=${join(dir, 'data')}`,
        '--listen=/ip4/127.0.0.1/tcp/0',
        '--init',
        '--log-level=error',
      ],
      {
        env: { ...envWithoutConclave(), CONCLAVE_CODE_CACHE_WARMUP_MS: String(WARMUP_MS) },
        stdio: 'ignore',
        timeout: 30_000,
      },
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t0 = performance.now()
  await ensureBuilt({ force: true })
  process.stderr.write(`built ${BUNDLE} in ${Math.round(performance.now() - t0)} ms\n`)
}
