#!/usr/bin/env node
// Bundles the CLI and everything it imports (Conclave sources, libp2p) into one ESM file,
// dist/conclave.mjs, with esbuild. A bundled node starts several times faster than one that
// compiles TypeScript through tsx, which matters when one machine starts 25–100 of them.
// `ensureBuilt()` rebuilds only when a source file is newer than the bundle.
import { existsSync, readdirSync, renameSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..')
export const BUNDLE = join(here, '..', 'dist', 'conclave.mjs')

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
  const sources = [join(root, 'packages/core/src'), join(here, '..', 'src')]
  if (!force && existsSync(BUNDLE) && statSync(BUNDLE).mtimeMs >= Math.max(...sources.map(newestMtime)))
    return BUNDLE
  const { build } = await import('esbuild')
  // Build beside the bundle and rename over it: several harnesses may rebuild at once, and a
  // process must never load a half-written file.
  const tmp = `${BUNDLE}.${process.pid}.tmp.mjs`
  await build({
    entryPoints: [join(here, '..', 'src', 'cli.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['conclave-source'],
    sourcemap: 'external',
    logLevel: 'warning',
    // Some bundled CommonJS dependencies call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  })
  renameSync(tmp, BUNDLE)
  renameSync(`${tmp}.map`, `${BUNDLE}.map`)
  return BUNDLE
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t0 = performance.now()
  await ensureBuilt({ force: true })
  process.stderr.write(`built ${BUNDLE} in ${Math.round(performance.now() - t0)} ms\n`)
}
