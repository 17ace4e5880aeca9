#!/usr/bin/env node
// `pnpm demo`: a narrated simulation of 1000 nodes (tools/sim/src/commands/demo.ts), run from
// the TypeScript sources through tsx. Extra arguments pass through: pnpm demo --nodes 200 --seed 3
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const r = spawnSync(
  process.execPath,
  [
    '--conditions=conclave-source',
    '--import',
    'tsx',
    join(root, 'tools/sim/src/cli.ts'),
    'demo',
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: 'inherit' },
)
process.exit(r.status ?? 1)
