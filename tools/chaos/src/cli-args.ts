/**
 * The chaos CLI's usage (its options) and the replay command it prints for a failing schedule.
 * Guarantees: `replayCommand` names every flag that shapes the replayed schedule or how it is
 * judged (`--nodes`, `--seed`, `--schedule`, `--faults`, `--break`, `--liveness-ms`,
 * `--warmup-ms`), so parsing the printed words as the CLI does gives back the same (seed, index, nodes,
 * fault kinds), and therefore the same `planSchedule` output (schedule.test.ts checks this).
 */

import { VIOLATION_KINDS } from './checker.js'
import { FAULT_KINDS } from './schedule.js'

export const BREAKS = ['lease', 'vote-commit', 'persist', 'fence']

/** The CLI's usage; every `--name` in it is an option the CLI accepts (@conclave/flags). */
export const CHAOS_USAGE = `pnpm chaos --nodes N --schedules K [--seed S] [--schedule I] [--json] [--help]
  --nodes N | A..B    real node processes, each in its own network namespace (5–25, default 5);
                      A..B: the schedules are shared out over clusters of A, (A+B)/2 and B nodes
  --schedules K       seeded fault schedules to run one after another (default 3)
  --seed S            run seed (default: from the clock, printed); same seed = same fault schedules
  --schedule I        replay schedule I of the seed alone (e.g. a failing one)
  --first-schedule F  run schedules F .. F+K-1 (continue a long run in parts; default 0)
  --warmup-ms MS      wait this long for the first leader known to all before schedule 0 (default 300000)
  --faults a,b        only these fault kinds (${FAULT_KINDS.join(', ')})
  --liveness-ms MS    bound for a leader known to every node after the faults heal (default 10000)
  --break RULE[,RULE] TEST ONLY: break a safety rule on purpose (${BREAKS.join(', ')}); fence = the
                      resource accepts stale tokens. The run then should report violations.
  --expect-violations KIND[,KIND]
                      exit 0 only if the checker found at least one violation of every listed
                      kind (${VIOLATION_KINDS.join(', ')}), to check that --break is caught
  --out DIR           report directory (default artifacts/chaos/seed-S)
  --node-log-level L  the nodes' log level (default info); debug also logs every protocol trace
                      event and failed dial, and every line a node logs (samples aside) goes to
                      DIR/node-log.jsonl stamped with host time, for diagnosing a failing schedule
  --tcp-rto-max-ms MS every node's cap on TCP's retransmission backoff (Linux >= 6.15): passed to
                      each node as its --tcp-rto-max-ms (a socket option, which wins over the
                      namespace's sysctl) and, unless 0, set as net.ipv4.tcp_rto_max_ms in every
                      namespace too. 0 = the kernel's own backoff (default 120000) everywhere;
                      1000..120000; unset = the nodes' default (1000)
  --json              print the summary as one JSON object on the last line
pnpm chaos --cleanup  remove what a killed harness left (namespaces, the fenced resource, data dirs)`

export interface ReplaySpec {
  nodes: number
  seed: number
  schedule: number
  faults?: readonly string[]
  breakRules: readonly string[]
  livenessMs: number
  warmupMs: number
}

/** The argument words (after `pnpm chaos`) that replay one schedule alone. */
export function replayArgs(r: ReplaySpec): string[] {
  const args = ['--nodes', String(r.nodes), '--seed', String(r.seed), '--schedule', String(r.schedule)]
  if (r.faults !== undefined) args.push('--faults', r.faults.join(','))
  if (r.breakRules.length > 0) args.push('--break', r.breakRules.join(','))
  args.push('--liveness-ms', String(r.livenessMs), '--warmup-ms', String(r.warmupMs))
  return args
}

export function replayCommand(r: ReplaySpec): string {
  return `pnpm chaos ${replayArgs(r).join(' ')}`
}
