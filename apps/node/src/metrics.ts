/**
 * Prometheus text exposition for one node. Figures are read from the trace (leader changes,
 * member states, rejections) and the transport's counters; nothing is recomputed or invented.
 *
 * conclave_failover_seconds: measured on this node, from the moment it first saw the global
 * leader it followed as gone (no leader known, or that leader suspect/dead/left in membership)
 * to the moment it learned a different leader.
 *
 * conclave_lease_lapses_total / conclave_lease_lapse_ms_total{scope}: a lease this node held
 * (shard or global) that ran out before the next round extended it in the same term: isLeader()
 * (global) or the shard leader's right to ack was false in between, though nobody else led.
 * From the node's own lease:hold claims: a hold emitted at `atMs` after the previous hold's
 * `untilMs`, same shard and term, is one lapse of `atMs − untilMs` (own clock).
 *
 * conclave_global_rounds_total{phase,end} and the other conclave_global_* counters: this node's
 * part in the global election (core global/election-stats.ts): its own PreVote and vote rounds
 * and how they ended, the answers it got (in the round, by ms after its start; or late), and how
 * it answered other candidates, with the refusing rule. conclave_timer_lateness_ms: the driver's
 * timer runs by how late they ran (the event-loop lag the election timeouts lived with).
 */
import {
  type ConclaveService,
  type LeaderChange,
  type LeaseScope,
  RESPONSE_MS_BOUNDS,
  rtoCapStats,
  TIMER_LATE_MS_BOUNDS,
  type TraceEvent,
  userTimeoutStats,
} from '@conclave/core'

const FAILOVER_BUCKETS_S = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30]

export class NodeMetrics {
  leaderChanges = 0
  /** Admin HTTP requests refused for a missing or wrong bearer token. */
  adminUnauthorized = 0
  private readonly failoverCounts = new Array<number>(FAILOVER_BUCKETS_S.length).fill(0)
  private failoverSum = 0
  private failoverCount = 0
  private currentLeader: string | null = null
  private lostAtMs: number | undefined
  private readonly machineRejections = new Map<string, number>()
  /** The lease held now per scope (its last claim), and the lapses seen (one entry per scope). */
  private readonly leaseHeld = new Map<LeaseScope, { shard: number; term: number; untilMs: number }>()
  private readonly leaseLapses: Record<LeaseScope, { count: number; ms: number }> = {
    shard: { count: 0, ms: 0 },
    global: { count: 0, ms: 0 },
  }
  /** TEST ONLY hooks this process runs with (CONCLAVE_TEST_* names; testing/test-hooks.ts). */
  testHooks: readonly string[] = []

  constructor(private readonly service: ConclaveService) {
    service.addEventListener('leader:change', (e) => this.onLeaderChange(e.detail))
    // A plain call per trace event, not a `trace` CustomEvent (a leader emits one per round).
    service.observeTrace((ev) => this.onTrace(ev))
  }

  private onLeaderChange(d: LeaderChange): void {
    const nowMs = this.service.clock.nowMs()
    this.leaderChanges++
    if (d.leader === null) {
      this.lostAtMs ??= nowMs
    } else if (d.leader !== this.currentLeader) {
      if (this.lostAtMs !== undefined && this.currentLeader !== null)
        this.observeFailover((nowMs - this.lostAtMs) / 1000)
      this.lostAtMs = undefined
      this.currentLeader = d.leader
    }
    if (d.leader !== null && this.currentLeader === null) this.currentLeader = d.leader
  }

  private onTrace(ev: TraceEvent): void {
    if (ev.kind === 'member:state' && ev.member === this.currentLeader && ev.state !== 'alive') {
      this.lostAtMs ??= this.service.clock.nowMs()
    }
    if (ev.kind === 'wire:reject')
      this.machineRejections.set(ev.code, (this.machineRejections.get(ev.code) ?? 0) + 1)
    else if (ev.kind === 'lease:hold') {
      const prev = this.leaseHeld.get(ev.scope)
      if (prev && prev.shard === ev.shard && prev.term === ev.term && ev.atMs > prev.untilMs) {
        const lapses = this.leaseLapses[ev.scope]
        lapses.count++
        lapses.ms += ev.atMs - prev.untilMs
      }
      this.leaseHeld.set(ev.scope, { shard: ev.shard, term: ev.term, untilMs: ev.untilMs })
    } else if (ev.kind === 'lease:end') this.leaseHeld.delete(ev.scope)
  }

  private observeFailover(seconds: number): void {
    this.failoverSum += seconds
    this.failoverCount++
    FAILOVER_BUCKETS_S.forEach((b, i) => {
      if (seconds <= b) this.failoverCounts[i] = (this.failoverCounts[i] ?? 0) + 1
    })
  }

  render(): string {
    const s = this.service
    const lines: string[] = []
    const metric = (name: string, type: string, help: string) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    // A histogram's cumulative buckets from per-bucket counts (one more count above the last bound).
    const histogram = (
      name: string,
      labels: string,
      bounds: readonly number[],
      counts: readonly number[],
    ) => {
      let cum = 0
      for (const [i, b] of [...bounds, '+Inf'].entries()) {
        cum += counts[i] ?? 0
        lines.push(`${name}_bucket{${labels}le="${b}"} ${cum}`)
      }
    }
    // Counters kept per election phase and one more label (the global election's records).
    const perPhase = (
      name: string,
      label: string,
      byPhase: Readonly<Record<string, Readonly<Record<string, number>>>>,
    ) => {
      for (const [phase, counts] of Object.entries(byPhase))
        for (const [key, n] of Object.entries(counts))
          lines.push(`${name}{phase="${phase}",${label}="${key}"} ${n}`)
    }
    metric('conclave_is_leader', 'gauge', '1 while this node holds the global lease')
    lines.push(`conclave_is_leader ${s.isLeader() ? 1 : 0}`)
    metric(
      'conclave_lease_lapses_total',
      'counter',
      'leases this node held that ran out before the next round of the same term extended them',
    )
    for (const [scope, l] of Object.entries(this.leaseLapses))
      lines.push(`conclave_lease_lapses_total{scope="${scope}"} ${l.count}`)
    metric(
      'conclave_lease_lapse_ms_total',
      'counter',
      'time between such a lapse and its renewal (own clock)',
    )
    for (const [scope, l] of Object.entries(this.leaseLapses))
      lines.push(`conclave_lease_lapse_ms_total{scope="${scope}"} ${Math.round(l.ms)}`)
    metric('conclave_global_term', 'gauge', 'global term of the leader this node knows')
    lines.push(`conclave_global_term ${s.leader()?.term ?? 0}`)
    metric('conclave_members', 'gauge', 'members this node knows, by SWIM state')
    const byState: Record<string, number> = { alive: 0, suspect: 0, dead: 0, left: 0 }
    const members = s.isStarted() ? s.machine.membership?.members() : undefined
    if (members) for (const m of members) byState[m.state] = (byState[m.state] ?? 0) + 1
    for (const [state, n] of Object.entries(byState)) lines.push(`conclave_members{state="${state}"} ${n}`)
    metric('conclave_leader_changes_total', 'counter', 'changes of the known global leader (id or term)')
    lines.push(`conclave_leader_changes_total ${this.leaderChanges}`)
    metric(
      'conclave_failover_seconds',
      'histogram',
      'from losing the followed leader to knowing a new one, on this node',
    )
    for (const [i, b] of FAILOVER_BUCKETS_S.entries()) {
      lines.push(`conclave_failover_seconds_bucket{le="${b}"} ${this.failoverCounts[i]}`)
    }
    lines.push(`conclave_failover_seconds_bucket{le="+Inf"} ${this.failoverCount}`)
    lines.push(
      `conclave_failover_seconds_sum ${this.failoverSum}`,
      `conclave_failover_seconds_count ${this.failoverCount}`,
    )
    const t = s.transport
    if (t) {
      metric('conclave_messages_sent_total', 'counter', 'frames handed to the network, by layer/type')
      for (const [k, v] of t.stats.sentMsgs) lines.push(`conclave_messages_sent_total{type="${k}"} ${v}`)
      metric('conclave_bytes_sent_total', 'counter', 'framed bytes handed to the network, by layer/type')
      for (const [k, v] of t.stats.sentBytes) lines.push(`conclave_bytes_sent_total{type="${k}"} ${v}`)
      metric('conclave_messages_received_total', 'counter', 'frames received, by layer')
      for (const [k, v] of t.stats.recvMsgs) lines.push(`conclave_messages_received_total{layer="${k}"} ${v}`)
      metric('conclave_bytes_received_total', 'counter', 'frame bytes received, by layer')
      for (const [k, v] of t.stats.recvBytes) lines.push(`conclave_bytes_received_total{layer="${k}"} ${v}`)
      metric('conclave_frames_dropped_total', 'counter', 'outbound frames dropped before leaving, by reason')
      for (const [k, v] of t.stats.dropped) lines.push(`conclave_frames_dropped_total{reason="${k}"} ${v}`)
      metric(
        'conclave_dials_total',
        'counter',
        'connections opened (none to the peer yet), by the frame that dialled',
      )
      for (const [k, v] of t.stats.dialsByFrame) lines.push(`conclave_dials_total{frame="${k}"} ${v}`)
      metric(
        'conclave_connection_stalls_total',
        'counter',
        'peers whose connections the kernel kept retransmitting on without an ACK, aborted and redialled',
      )
      lines.push(`conclave_connection_stalls_total ${t.stats.stalls}`)
      metric(
        'conclave_dial_syn_aborts_total',
        'counter',
        'dials aborted because their SYN went unanswered, retried at once',
      )
      lines.push(`conclave_dial_syn_aborts_total ${t.stats.synAborts}`)
      metric(
        'conclave_tcp_table_reads_total',
        'counter',
        'reads of the kernel TCP table looking for stalls (only after an RTO expiry in the network namespace)',
      )
      lines.push(`conclave_tcp_table_reads_total ${t.stats.tcpTableReads}`)
    }
    metric(
      'conclave_tcp_rto_cap_total',
      'counter',
      'connections whose TCP retransmission backoff this process capped (capped), could not (refused: kernel before 6.15; unavailable: no setsockopt here)',
    )
    for (const [k, v] of Object.entries(rtoCapStats))
      lines.push(`conclave_tcp_rto_cap_total{result="${k}"} ${v}`)
    metric(
      'conclave_tcp_user_timeout_total',
      'counter',
      'capped connections given TCP_USER_TIMEOUT 900 s, so the cap keeps the kernel give-up of ~15 min (set), or not (refused: they give up after ~15 s of silence)',
    )
    for (const [k, v] of Object.entries(userTimeoutStats))
      lines.push(`conclave_tcp_user_timeout_total{result="${k}"} ${v}`)
    metric(
      'conclave_rejected_frames_total',
      'counter',
      'frames rejected (malformed, forged, rate-limited), by where and code',
    )
    for (const [k, v] of Object.entries(t?.rejections.snapshot() ?? {}))
      lines.push(`conclave_rejected_frames_total{where="transport",code="${k}"} ${v}`)
    // The machines' own counters count every rejection; the trace's wire:reject events are
    // rate-limited (one per second in membership), so they are only the fallback.
    const m = s.isStarted() ? s.machine : undefined
    const membershipRejections = m?.membership?.rejections?.snapshot()
    for (const [k, v] of Object.entries(membershipRejections ?? {}))
      lines.push(`conclave_rejected_frames_total{where="membership",code="${k}"} ${v}`)
    const protocolRejections = m?.rejections?.snapshot()
    const fromTrace = membershipRejections === undefined && protocolRejections === undefined
    for (const [k, v] of fromTrace ? this.machineRejections : Object.entries(protocolRejections ?? {}))
      lines.push(`conclave_rejected_frames_total{where="protocol",code="${k}"} ${v}`)
    metric('conclave_peers_cut_off_total', 'counter', 'peers disconnected and banned for abuse, by reason')
    for (const [k, v] of Object.entries(t?.cutOffs.snapshot() ?? {}))
      lines.push(`conclave_peers_cut_off_total{reason="${k}"} ${v}`)
    metric(
      'conclave_connections_refused_total',
      'counter',
      'connections refused by the gater: not-allowed (allow-list), banned (cut off recently)',
    )
    for (const [k, v] of Object.entries(s.admission?.snapshot() ?? {}))
      lines.push(`conclave_connections_refused_total{reason="${k}"} ${v}`)
    metric('conclave_admin_unauthorized_total', 'counter', 'admin HTTP requests refused with 401')
    lines.push(`conclave_admin_unauthorized_total ${this.adminUnauthorized}`)
    const d = s.driver
    if (d) {
      metric('conclave_persist_ops_total', 'counter', 'persist ops written (fsynced) before sending')
      lines.push(`conclave_persist_ops_total ${d.counts.persistOps}`)
      metric(
        'conclave_persist_seconds_total',
        'counter',
        'time from issuing each persist write until it was durable, summed (asynchronous writes overlap other work)',
      )
      lines.push(`conclave_persist_seconds_total ${(d.counts.persistMs / 1000).toFixed(3)}`)
      metric(
        'conclave_driver_timer_ticks_total',
        'counter',
        "ticks run by the driver's timer (process wake-ups)",
      )
      lines.push(`conclave_driver_timer_ticks_total ${d.counts.timerTicks}`)
      metric(
        'conclave_process_stalls_total',
        'counter',
        "stalls of this process (timers late by ≥ a probe timeout: the driver's own, or the 500 ms loop monitor's), seen and reported to Lifeguard (overlaps reported once)",
      )
      lines.push(`conclave_process_stalls_total{what="seen"} ${s.stalls.count}`)
      lines.push(`conclave_process_stalls_total{what="reported"} ${s.stalls.reported}`)
      lines.push(`conclave_process_stalls_total{what="driver-timer"} ${d.counts.lateTimers}`)
    }
    const ge = m?.globalElectionStats?.()
    if (ge) {
      metric(
        'conclave_global_rounds_started_total',
        'counter',
        'global election rounds this node started, by phase',
      )
      for (const [phase, n] of Object.entries(ge.started))
        lines.push(`conclave_global_rounds_started_total{phase="${phase}"} ${n}`)
      metric(
        'conclave_global_rounds_total',
        'counter',
        "this node's global election rounds that ended, by phase and how (won, timed-out, stepped-back, superseded, shard-lost, no-own-vote)",
      )
      perPhase('conclave_global_rounds_total', 'end', ge.ended)
      metric(
        'conclave_global_timeouts_without_shard_lease_total',
        'counter',
        'global election timeouts that started no round because this shard leader held no shard lease',
      )
      lines.push(`conclave_global_timeouts_without_shard_lease_total ${ge.timeoutsWithoutShardLease}`)
      metric(
        'conclave_global_leader_step_downs_total',
        'counter',
        'global leaderships of this node that ended',
      )
      lines.push(`conclave_global_leader_step_downs_total ${ge.leaderStepDowns}`)
      metric(
        'conclave_global_answers_total',
        'counter',
        "answers to this node's own global (pre)vote requests: granted or refused in their round, or late",
      )
      perPhase('conclave_global_answers_total', 'result', ge.answers)
      metric(
        'conclave_global_answer_ms',
        'histogram',
        "answers to this node's requests that arrived in their round, by ms after the round started",
      )
      for (const [phase, buckets] of Object.entries(ge.answerMs))
        histogram('conclave_global_answer_ms', `phase="${phase}",`, RESPONSE_MS_BOUNDS, buckets)
      metric(
        'conclave_global_answered_total',
        'counter',
        "how this node answered other candidates' global (pre)vote requests: granted, or the refusing rule",
      )
      perPhase('conclave_global_answered_total', 'answer', ge.answered)
    }
    if (d) {
      metric('conclave_timer_lateness_ms', 'histogram', "the driver's timer runs by ms after their deadline")
      histogram('conclave_timer_lateness_ms', '', TIMER_LATE_MS_BOUNDS, d.timerLateMs)
    }
    const health = m?.membership?.health?.()
    if (health !== undefined) {
      metric(
        'conclave_local_health',
        'gauge',
        'Lifeguard local health: 0 = healthy; SWIM probes and their timeouts are stretched by (1 + health)',
      )
      lines.push(`conclave_local_health ${health}`)
    }
    metric(
      'conclave_test_hooks_active',
      'gauge',
      'number of TEST ONLY hooks (CONCLAVE_TEST_* with --enable-test-hooks; names in GET /status) this node runs with; 0 in production',
    )
    lines.push(`conclave_test_hooks_active ${this.testHooks.length}`)
    const mem = process.memoryUsage()
    metric('conclave_process_resident_bytes', 'gauge', 'resident set size of this process')
    lines.push(`conclave_process_resident_bytes ${mem.rss}`)
    metric('conclave_process_heap_used_bytes', 'gauge', 'V8 heap in use by this process')
    lines.push(`conclave_process_heap_used_bytes ${mem.heapUsed}`)
    const cpu = process.cpuUsage()
    metric('conclave_process_cpu_seconds_total', 'counter', 'user+system CPU of this process')
    lines.push(`conclave_process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`)
    return `${lines.join('\n')}\n`
  }
}
