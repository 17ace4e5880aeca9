/**
 * Printing an election report: a short human summary on stdout, or (with --json) the whole
 * report as one JSON object on the last line. Shared by `pnpm sim election` and `baseline`.
 */
import type { ElectionReport } from '@conclave/sim'
import type { Io } from './command.js'

const ms = (v: number | null) => (v === null ? '-' : `${v} ms`)

export function printElectionReport(io: Io, r: ElectionReport, json: boolean): void {
  if (json) {
    io.out(JSON.stringify(r))
    return
  }
  io.out(
    `${r.algo} · ${r.scenario} · ${r.nodes} nodes · ${r.shards} shards · seed ${r.seed}${r.start === 'converged' ? ' · converged start' : ''}${r.unsafeBreak ? ` · BREAK ${r.unsafeBreak}` : ''}`,
  )
  io.out(`  first leader known to all   ${ms(r.firstLeaderMs)}`)
  const globalDials = Object.entries(r.launchDialsByType)
    .filter(([k]) => k.startsWith('global/'))
    .reduce((a, [, n]) => a + n, 0)
  io.out(
    `  launch dials (node pairs)   ${r.launchDials} (${globalDials} by a global frame); ${r.launchGlobalMsgs} global msgs`,
  )
  io.out(
    `  launch: every shard led    ${r.launchShardsLedMs === null ? '-' : `${Math.round(r.launchShardsLedMs)} ms`}; global election ${JSON.stringify(r.launchGlobalElection)}`,
  )
  io.out(
    `  global failover             p50 ${ms(r.globalFailoverP50Ms)}  p99 ${ms(r.globalFailoverP99Ms)}  max ${ms(r.globalFailoverMaxMs)}  (${r.globalFailovers} samples, ${r.globalFailoversUnrecovered} unrecovered)`,
  )
  io.out(
    `  shard failover              p50 ${ms(r.shardFailoverP50Ms)}  p99 ${ms(r.shardFailoverP99Ms)}  (${r.shardFailovers} samples, ${r.shardFailoversUnrecovered} unrecovered)`,
  )
  io.out(
    `  election msgs per failover  ${r.electionMsgsPerFailover ?? '-'} (above steady state: ${r.electionMsgsPerFailoverAboveSteady ?? '-'})`,
  )
  io.out(
    `  msgs/node/s steady          mean ${r.msgsPerNodePerSecMean ?? '-'}  busiest ${r.msgsPerNodePerSecMax ?? '-'}`,
  )
  io.out(
    `  msgs/node/s whole run       mean ${r.msgsPerNodePerSecRunMean ?? '-'}  busiest ${r.msgsPerNodePerSecRunMax ?? '-'}`,
  )
  io.out(
    `  shard voters at the end     min ${r.shardVotersMin ?? '-'}  max ${r.shardVotersMax ?? '-'}  (${r.nodesWithoutShard} nodes in no shard)`,
  )
  io.out(`  leader changes              ${r.leaderChanges} (${r.disruptions} needless)`)
  io.out(
    `  fenced writes               ${r.fencedWritesAccepted} accepted, ${r.fencedWritesRefused} refused as stale`,
  )
  io.out(
    `  violations                  ${r.violations}${r.violations ? ` ${JSON.stringify(r.violationsByRule)}` : ''}`,
  )
  for (const v of r.firstViolations) io.out(`    [${v.invariant}:${v.rule}] t=${v.trueMs} ms ${v.message}`)
  io.out(`  liveness                    ${r.livenessOk ? 'ok' : 'FAILED'}`)
  io.out(`  trace                       ${r.traceHash}`)
  io.out(
    `  speed                       ${r.simSeconds} sim s in ${r.wallSeconds} wall s (${r.simSecondsPerWallSecond}x)`,
  )
}
