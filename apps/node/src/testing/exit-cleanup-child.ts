/**
 * Used by exit-cleanup.test.ts: makes a temp dir under argv[2], registers it for removal, starts a
 * `sleep` child registered to be killed, prints {dir, sleepPid}, then waits to be signalled (or,
 * with argv[3] = 'unregister', unregisters the dir and exits normally).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { killNodesOnExit, removeDirOnExit } from '../harness/exit-cleanup.js'

const dir = mkdtempSync(join(process.argv[2] as string, 'exit-cleanup-'))
writeFileSync(join(dir, 'data'), 'x')
const undo = removeDirOnExit(dir)
const sleeper = spawn('sleep', ['60'], { stdio: 'ignore', detached: true })
killNodesOnExit({ nodes: [{ pid: sleeper.pid, alive: true }] })
process.stdout.write(`${JSON.stringify({ dir, sleepPid: sleeper.pid })}\n`)
if (process.argv[3] === 'unregister') {
  undo()
  process.exit(0)
}
setInterval(() => {}, 1000)
