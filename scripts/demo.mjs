#!/usr/bin/env node
// `pnpm demo`: starts a real local cluster — 25 `conclave` node processes (--nodes N) on 127.0.0.1, each its
// own libp2p node — narrates who leads and in which term, kills the leader every 20 s and prints
// the measured failover (tools/bench/src/demo.ts). Once the first leader is agreed it starts the
// live inspector (apps/inspector, an observer peer) and prints its URL (default
// http://127.0.0.1:7070/; --inspector-port N, --no-inspector). Ctrl-C stops it and every node cleanly.
//   pnpm demo --nodes 30 --every 15      options pass through
//   pnpm demo --sim [--nodes 1000 ...]   the simulator's narrated demo (tools/sim) instead
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const sim = args.includes('--sim')
const entry = sim ? [join(root, 'tools/sim/src/cli.ts'), 'demo'] : [join(root, 'tools/bench/src/demo.ts')]
const child = spawn(
  process.execPath,
  ['--conditions=conclave-source', '--import', 'tsx', ...entry, ...args.filter((a) => a !== '--sim')],
  {
    cwd: root,
    stdio: 'inherit',
  },
)
// Ctrl-C reaches the child through the terminal's process group; it stops its nodes and exits.
process.on('SIGINT', () => {})
process.on('SIGTERM', () => child.kill('SIGTERM'))
child.on('exit', (code) => process.exit(code ?? 0))
