/**
 * `pnpm sim baseline --algo raft|bully`: the same scenarios, checkers and figures as
 * `pnpm sim election`, run on a comparison algorithm (flat Raft over all N nodes, or Bully).
 * Baselines are expected to violate some invariants under partitions (no leases, no quorum for
 * Bully); the exit code is 0 regardless — the report says what broke.
 */
import { type Command, UsageError } from './command.js'
import { runElectionCommand } from './election.js'

const usage = `pnpm sim baseline --algo raft|bully --nodes N [--seed S] [--scenario NAME|all] [--repeats R] [--json]

  --algo X        raft: flat Raft election over all N nodes (50 ms heartbeats, 150-300 ms timeout)
                  bully: Garcia-Molina's Bully algorithm (rank = priority, then id;
                  50 ms heartbeats, 150-300 ms leader timeout, answer 50, coordinator 200 ms)
  --timing X      own (default): the timing above; conclave: Conclave's global-group detection
                  timing (LAN preset: 120 ms heartbeats, 300-600 ms timeout) and, for Bully, its
                  rank step (15 ms) as answer bound, coordinator 4 x 15 = 60 ms; own-rtt: the
                  own timing with that 15 / 60 ms answer / coordinator bound (Bully)
  other options as for \`pnpm sim election\` (default scenario crash-global-leader)`

export const baselineCommand: Command = {
  name: 'baseline',
  summary: 'the same scenarios on flat Raft or Bully, for comparison',
  usage,
  async run(argv, io) {
    const i = argv.indexOf('--algo')
    const algo = i >= 0 ? argv[i + 1] : undefined
    if (algo !== 'raft' && algo !== 'bully') throw new UsageError('--algo must be raft or bully')
    await runElectionCommand(algo, argv, io, 'crash-global-leader')
    return 0
  },
}
