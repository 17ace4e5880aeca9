/**
 * TEST ONLY: switches the chaos harness (tools/chaos, docs/testing.md) sets through environment
 * variables. Every one is off unless its variable is set, and a node that runs with any of them
 * says so loudly in its log. They exist so the harness can run the real `conclave start` with a
 * skewed clock or with one safety rule broken on purpose; never set them in production.
 *
 * Two explicit opt-ins: a variable alone does nothing but stop the node. `conclave start` refuses
 * to run when any CONCLAVE_TEST_* variable is set unless it was also given the command-line flag
 * `--enable-test-hooks` (a flag only: no environment variable or config-file key turns it on), so
 * a stray variable inherited from a shell or a unit file cannot turn a safety rule off. A node
 * running hooks lists them in GET /status (`testHooks`) and in the metric
 * `conclave_test_hooks_active`, besides the warning in its log.
 *
 * - CONCLAVE_TEST_CLOCK_OFFSET_MS, CONCLAVE_TEST_CLOCK_DRIFT_PPM: the protocol clock starts this
 *   far ahead of (or behind) the host clock and runs this many parts per million fast (or slow).
 * - CONCLAVE_TEST_CLOCK_FILE: a JSON file `{ "offsetMs": n, "driftPpm": n }` re-read on SIGUSR2,
 *   so the harness changes the skew of a running node (drift continuously, offset as a step).
 * - CONCLAVE_TEST_BREAK: lease | vote-commit | persist — turn that safety rule off
 *   (ConclaveConfig.unsafe, the same switch as the simulator's `--break`).
 * - CONCLAVE_TEST_DEBUG_HANG=1: the admin HTTP serves POST /debug/hang, which spins or blocks
 *   the main thread on request (debug-hang.ts; the hang watch's test).
 */
import { readFileSync } from 'node:fs'
import { type ConclaveConfig, type SkewedClock, skewedClock, type UnsafeBreak } from '@conclave/core'
import type { Logger } from '../logger.js'
import { UsageError } from '../options.js'

const BREAKS: readonly UnsafeBreak[] = ['lease', 'vote-commit', 'persist']

/** The command-line flag that is the second opt-in (cli.ts removes it before option parsing). */
export const ENABLE_TEST_HOOKS_FLAG = '--enable-test-hooks'

/**
 * The CONCLAVE_TEST_* variables set (non-empty), sorted. Throws a UsageError when any is set but
 * the flag was not given: the node must not start with a test hook it was not explicitly told to
 * enable. With the flag and no variable, nothing is active.
 */
export function activeTestHooks(env: NodeJS.ProcessEnv, flagGiven: boolean): string[] {
  const set = Object.keys(env)
    .filter((k) => k.startsWith('CONCLAVE_TEST_') && env[k] !== undefined && env[k] !== '')
    .sort()
  if (set.length > 0 && !flagGiven)
    throw new UsageError(
      `${set.join(', ')} set but conclave start was not given ${ENABLE_TEST_HOOKS_FLAG}: test-only hooks (a skewed clock, a broken safety rule, the chaos probe) need both; unset them in production`,
    )
  return set
}

function num(env: NodeJS.ProcessEnv, name: string): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return 0
  const n = Number(raw)
  if (!Number.isFinite(n)) throw new UsageError(`${name}: expected a number, got ${JSON.stringify(raw)}`)
  return n
}

/** The skewed test clock when any CONCLAVE_TEST_CLOCK_* variable is set, else undefined. */
export function testClockFromEnv(env: NodeJS.ProcessEnv, log: Logger): SkewedClock | undefined {
  const file = env.CONCLAVE_TEST_CLOCK_FILE
  if (
    env.CONCLAVE_TEST_CLOCK_OFFSET_MS === undefined &&
    env.CONCLAVE_TEST_CLOCK_DRIFT_PPM === undefined &&
    !file
  )
    return undefined
  const clock = skewedClock(
    num(env, 'CONCLAVE_TEST_CLOCK_OFFSET_MS'),
    num(env, 'CONCLAVE_TEST_CLOCK_DRIFT_PPM'),
  )
  log.warn('TEST ONLY: skewed protocol clock', { offsetMs: clock.offsetMs(), driftPpm: clock.driftPpm() })
  if (file) {
    process.on('SIGUSR2', () => {
      try {
        const j = JSON.parse(readFileSync(file, 'utf8')) as { offsetMs?: unknown; driftPpm?: unknown }
        const offsetMs = Number(j.offsetMs ?? clock.offsetMs())
        const driftPpm = Number(j.driftPpm ?? clock.driftPpm())
        if (!Number.isFinite(offsetMs) || !Number.isFinite(driftPpm)) throw new Error('not numbers')
        clock.set(offsetMs, driftPpm)
        log.warn('TEST ONLY: clock skew changed', { offsetMs, driftPpm })
      } catch (err) {
        log.error('TEST ONLY: bad clock file', { file, error: (err as Error).message })
      }
    })
  }
  return clock
}

/** The config with the safety rule named by CONCLAVE_TEST_BREAK turned off (unset: unchanged). */
export function withTestBreak(config: ConclaveConfig, env: NodeJS.ProcessEnv, log: Logger): ConclaveConfig {
  const raw = env.CONCLAVE_TEST_BREAK
  if (raw === undefined || raw === '') return config
  if (!(BREAKS as readonly string[]).includes(raw))
    throw new UsageError(
      `CONCLAVE_TEST_BREAK: expected one of ${BREAKS.join(' | ')}, got ${JSON.stringify(raw)}`,
    )
  log.warn('TEST ONLY: safety rule broken on purpose', { break: raw })
  return { ...config, unsafe: { break: raw as UnsafeBreak } }
}
