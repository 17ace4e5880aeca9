#!/usr/bin/env node
// The README's test command: bootstrap (pnpm + dependencies), run every package's tests through
// turbo, then print one closing line `N passed, N failed` summed over all packages' vitest JSON
// reports (artifacts/test-results/*.json).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const results = join(root, 'artifacts', 'test-results')
const run = (cmd, args) =>
  spawnSync(cmd, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  }).status ?? 1

let rc = run('node', ['scripts/bootstrap.mjs'])
if (rc !== 0) process.exit(rc)
rmSync(results, { recursive: true, force: true })
rc = run('pnpm', [
  'exec',
  'turbo',
  'run',
  'test',
  '--concurrency=1',
  '--continue',
  '--filter=@conclave/*',
  ...process.argv.slice(2),
])

let passed = 0
let failed = 0
let skipped = 0
if (existsSync(results)) {
  for (const file of readdirSync(results)) {
    if (!file.endsWith('.json')) continue
    const report = JSON.parse(readFileSync(join(results, file), 'utf8'))
    passed += report.numPassedTests ?? 0
    failed +=
      (report.numFailedTests ?? 0) +
      (report.numFailedTestSuites && !report.numFailedTests ? report.numFailedTestSuites : 0)
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
  }
}
if (rc !== 0 && failed === 0) failed = 1 // a package failed before reporting (crash, typecheck): never print a green line
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(rc)
