#!/usr/bin/env node
// The `conclave` command: runs the bundled CLI (dist/conclave.cjs), rebuilding it first with
// esbuild when a TypeScript source is newer (about a second; see build.mjs). No separate build
// step is needed on a fresh clone. Set CONCLAVE_TSX=1 to run the sources through tsx instead.
import { register } from 'node:module'

if (process.env.CONCLAVE_TSX === '1') {
  register('./source-condition.mjs', import.meta.url)
  const { register: registerTsx } = await import('tsx/esm/api')
  registerTsx()
  await import('../src/cli.ts')
} else {
  const { ensureBuilt } = await import('./build.mjs')
  await import(await ensureBuilt())
}
