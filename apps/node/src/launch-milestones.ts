/**
 * BENCH ONLY: the node side of the failover bench's launch timeline (tools/bench, docs/performance.md
 * "Session 8 (issue 4, launch)"). Off unless CONCLAVE_LAUNCH_MEMBERS=N is set (the harness sets it to
 * the cluster's size).
 *
 * Logs one `launch:milestone` info line the first time each of these holds, read from the node's
 * own trace (nothing is recomputed or polled):
 * - `members`: N members alive in this node's view (itself included; what `--bootstrap-expect=N`
 *   waits for before the first election);
 * - `shard`: this node is in a shard (its first `shard:role` other than `observer`);
 * - `shard-leader`: this node learned a leader of its shard (its first `shard:leader`).
 * Each line carries the node's wall clock (`wallMs`); all processes of the bench share it. It reads
 * the trace as a plain observer (`ConclaveService.observeTrace`), not as a `trace` listener, which
 * would make the service build a CustomEvent for every trace event of the launch the bench measures;
 * once all three are logged it unsubscribes, so a running node pays nothing for it.
 */
import type { ConclaveNode, TraceEvent } from '@conclave/core'
import type { Logger } from './logger.js'
import { UsageError } from './options.js'

export type LaunchMilestone = 'members' | 'shard' | 'shard-leader'

/** CONCLAVE_LAUNCH_MEMBERS: an integer in [1, 100000], or unset (off). */
export function launchMembersTarget(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > 100_000)
    throw new UsageError(
      `CONCLAVE_LAUNCH_MEMBERS: expected an integer in [1, 100000], got ${JSON.stringify(raw)}`,
    )
  return n
}

export function watchLaunchMilestones(node: ConclaveNode, env: NodeJS.ProcessEnv, log: Logger): void {
  const membersTarget = launchMembersTarget(env.CONCLAVE_LAUNCH_MEMBERS)
  if (membersTarget === undefined) return
  const service = node.service
  const done = new Set<LaunchMilestone>()
  const reach = (what: LaunchMilestone, fields: object) => {
    if (done.has(what)) return
    done.add(what)
    log.info('launch:milestone', { what, ...fields, wallMs: Date.now() })
  }
  const aliveMembers = (): number => {
    let n = 1 // this node: membership's table holds the others
    for (const m of service.machine.membership?.members() ?? []) if (m.state === 'alive') n++
    return n
  }
  const unsubscribe = service.observeTrace((ev: TraceEvent) => {
    if (ev.kind === 'member:join' || ev.kind === 'member:state') {
      if (!done.has('members')) {
        const alive = aliveMembers()
        if (alive >= membersTarget) reach('members', { alive })
      }
    } else if (ev.kind === 'shard:role' && ev.role !== 'observer') reach('shard', { shard: ev.shard })
    else if (ev.kind === 'shard:leader') reach('shard-leader', { shard: ev.shard, term: ev.term })
    if (done.size === 3) unsubscribe()
  })
}
