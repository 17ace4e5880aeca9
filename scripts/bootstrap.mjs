#!/usr/bin/env node
// Makes a fresh machine (only Node and npm) ready: installs pnpm if it is missing, then the
// workspace's dependencies when the lockfile changed since the last install. Idempotent and
// quick when nothing changed, so every root script can call it first.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PNPM_VERSION = '12.4.2'
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const quiet = process.argv.includes('--quiet')
const log = (line) => {
  if (!quiet) process.stderr.write(`[bootstrap] ${line}\n`)
}

function has(cmd, args) {
  return spawnSync(cmd, args, { stdio: 'ignore', shell: process.platform === 'win32' }).status === 0
}

if (!has('pnpm', ['--version'])) {
  log(`pnpm not found: installing pnpm@${PNPM_VERSION} with npm`)
  execFileSync('npm', ['install', '--global', `pnpm@${PNPM_VERSION}`], { stdio: 'inherit' })
}

const marker = join(root, 'node_modules', '.modules.yaml')
const lock = join(root, 'pnpm-lock.yaml')
const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs)
if (stale) {
  log('installing dependencies (pnpm install)')
  const args = ['install', ...(existsSync(lock) && process.env.CI ? ['--frozen-lockfile'] : [])]
  const r = spawnSync('pnpm', args, { cwd: root, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
