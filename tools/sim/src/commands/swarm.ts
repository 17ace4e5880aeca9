/**
 * `pnpm sim swarm`: random clusters (3..nodes-max nodes) under random fault schedules, a safety
 * phase then a liveness phase, all election invariants checked. Prints each failing seed with
 * the command that replays it exactly.
 */
import { parseArgs } from 'node:util'
import { runSwarm } from '@conclave/sim'
import { ProgressBar } from '../progress.js'
import type { Command } from './command.js'
import { breakArg, intArg } from './election.js'

const usage = `pnpm sim swarm --seeds K [--first-seed F] [--nodes-max N] [--break RULE] [--stop-at-first] [--json]
pnpm sim swarm --seed S [--nodes-max N] [--break RULE]          (replay one seed)

  --seeds K        how many seeds to run: F .. F+K-1 (default 100)
  --first-seed F   first seed (default 1)
  --seed S         run exactly one seed (what a failure report prints)
  --nodes-max N    cluster size is uniform in 3..N per seed (default 200)
  --safety-s D     length of the fault phase per seed, simulated seconds (default 10)
  --break RULE     TEST ONLY: switch a safety rule off (vote-commit | lease | persist); the swarm
                   must then find violations
  --stop-at-first  stop at the first failing seed
  --json           print the report as one JSON object on the last line
Exit code 1 if any seed failed (unless --break, where finding a failure is the point).`

export const swarmCommand: Command = {
  name: 'swarm',
  summary: 'random clusters under random faults: safety then liveness, replayable seeds',
  usage,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        seeds: { type: 'string', default: '100' },
        'first-seed': { type: 'string', default: '1' },
        seed: { type: 'string' },
        'nodes-max': { type: 'string', default: '200' },
        'safety-s': { type: 'string', default: '10' },
        break: { type: 'string' },
        'stop-at-first': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    })
    const unsafeBreak = breakArg(values.break)
    const single = values.seed !== undefined ? intArg('seed', values.seed, 0, 0xffffffff) : undefined
    const seeds = single !== undefined ? 1 : intArg('seeds', values.seeds, 1, 1_000_000)
    const firstSeed = single ?? intArg('first-seed', values['first-seed'], 0, 0xffffffff)
    const nodesMax = intArg('nodes-max', values['nodes-max'], 3, 5000)
    const safetyMs = intArg('safety-s', values['safety-s'], 1, 3600) * 1000
    const bar = new ProgressBar(io, 'swarm')
    let failing = 0
    const report = runSwarm({
      seeds,
      firstSeed,
      nodesMax,
      safetyMs,
      stopAtFirstFailure: values['stop-at-first'],
      ...(unsafeBreak ? { unsafeBreak } : {}),
      onSeed: (r, done) => {
        if (r.violations.length > 0 || r.livenessFailure) failing++
        bar.update(done / seeds, `seed ${r.seed} (${r.nodes} nodes) · ${failing} failing`)
      },
    })
    bar.done()
    if (values.json) io.out(JSON.stringify(report))
    else {
      io.out(
        `swarm: ${report.seeds} seeds (3..${nodesMax} nodes${unsafeBreak ? `, BREAK ${unsafeBreak}` : ''}): ${report.violations} violations, ${report.livenessFailures} liveness failures, ${report.failingSeeds.length} failing seeds`,
      )
      io.out(`growth seeds: ${report.growthSeeds} (shards added by splits: ${report.shardsAdded})`)
      io.out(`relay seeds: ${report.relaySeeds} (global heartbeats through relays)`)
      io.out(
        `founder-cap seeds: ${report.foundersSeeds} (only the smallest ids found the cluster, the rest join)`,
      )
      if (report.firstFailureAfterSeeds !== null)
        io.out(`first failure after ${report.firstFailureAfterSeeds} seeds`)
      for (const f of report.failingSeeds.slice(0, 20)) {
        io.out(
          `  seed ${f.seed} (${f.nodes} nodes): ${f.rules.join(' ') || ''}${f.livenessFailure ? ' liveness' : ''}`,
        )
        io.out(`    ${f.first.slice(0, 200)}`)
        io.out(`    replay: ${f.replay}`)
      }
      io.out(`${report.simSeconds} sim s in ${report.wallSeconds} wall s`)
    }
    return report.failingSeeds.length > 0 && unsafeBreak === undefined ? 1 : 0
  },
}
