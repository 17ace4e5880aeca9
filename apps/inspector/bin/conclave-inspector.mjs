#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx, with the workspace's `conclave-source` condition),
// so the inspector needs no build step in the workspace.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const child = spawn(
  process.execPath,
  [
    '--conditions=conclave-source',
    '--import',
    import.meta.resolve('tsx'),
    join(here, '..', 'src', 'cli.ts'),
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', cwd: process.cwd() },
)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
