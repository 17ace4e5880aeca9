/**
 * The reducer: folds one trace record into the ClusterState, and tells the journal what it
 * noticed (timeline entries, completed failovers, chart samples). Pure and deterministic: the
 * same records in the same order give the same state, which is what lets the replay index keep
 * keyframes and fold forward from them (with `out = null`, so nothing is journaled twice).
 *
 * Membership state per member follows SWIM's precedence (SWIM §4.2, memberlist): a report with a
 * higher incarnation wins; at equal incarnation dead/left beat suspect beat alive. A dead or left
 * member comes back only by a join (new boot epoch) or an alive report with a higher incarnation.
 *
 * Failover measurement (global, and per shard): it starts at the first sign that the leader is
 * gone — the driver crashed it (sim:fault), someone suspects or declares it dead, it released its
 * lease, or an election for a newer term began — and ends when every live node knows a leader of
 * a newer term. Without a crash record the start is the first suspicion, so the figure then
 * excludes the time before anyone noticed; the timeline says which cause started each one.
 */
import {
  type ClusterState,
  type FailoverScope,
  mustKnowLeader,
  type NodeInfo,
  type OpenFailover,
} from './cluster-state.js'
import type { JournalSink, TimelineEntry } from './journal.js'
import type { MemberState, NodeId, TraceRecord } from './trace-record.js'

const RANK: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 2 }

/** Short form of a 52-char peer id for timeline text: the last 6 characters, as libp2p prints them. */
export function shortId(id: NodeId): string {
  return id.length > 10 ? `…${id.slice(-6)}` : id
}

function ensureNode(s: ClusterState, id: NodeId, trueMs: number): NodeInfo {
  let n = s.nodes.get(id)
  if (!n) {
    n = {
      id,
      firstSeenMs: trueMs,
      lastHeardMs: trueMs,
      state: 'alive',
      incarnation: 0,
      stateSinceMs: trueMs,
      accusers: new Set(),
      crashed: false,
      shard: null,
      role: null,
      shardTerm: 0,
      knownShardLeader: null,
      knownShardTerm: 0,
      knownGlobalLeader: null,
      knownGlobalTerm: 0,
      shardLease: null,
      globalLease: null,
      health: 0,
      rejections: 0,
      priority: null,
      addrs: [],
      observer: false,
      instrument: false,
    }
    s.nodes.set(id, n)
    s.counts.alive++
  }
  return n
}

function setState(s: ClusterState, n: NodeInfo, state: MemberState, trueMs: number): void {
  if (n.state === state) return
  s.counts[n.state]--
  s.counts[state]++
  n.state = state
  n.stateSinceMs = trueMs
}

function note(out: JournalSink | null, entry: TimelineEntry): void {
  out?.timeline(entry)
}

function openFailover(
  s: ClusterState,
  scope: FailoverScope,
  shard: number | null,
  cause: string,
  out: JournalSink | null,
): void {
  const open = scope === 'global' ? s.globalFailover : s.shardFailovers.get(shard!)
  if (open) return
  const leader = scope === 'global' ? s.global : s.shards.get(shard!)
  if (!leader) return // no leader yet: an initial election, not a failover
  const f: OpenFailover = {
    scope,
    shard,
    startMs: s.nowMs,
    cause,
    oldLeader: leader.leader,
    oldTerm: leader.term,
    electedMs: null,
    newLeader: null,
    newTerm: null,
  }
  if (scope === 'global') {
    s.globalFailover = f
    note(out, {
      trueMs: s.nowMs,
      kind: 'failover',
      level: 1,
      node: leader.leader,
      text: `global leader ${shortId(leader.leader)} lost (${cause}): failover started`,
    })
  } else {
    s.shardFailovers.set(shard!, f)
  }
}

/** Closes the failover if every live node (of the shard, for a shard failover) knows the new term. */
function checkFailover(
  s: ClusterState,
  scope: FailoverScope,
  shard: number | null,
  out: JournalSink | null,
): void {
  const f = scope === 'global' ? s.globalFailover : s.shardFailovers.get(shard!)
  if (!f || f.newTerm === null || f.newLeader === null || f.electedMs === null) return
  let waitedFor = 0
  for (const n of s.nodes.values()) {
    if (!mustKnowLeader(n)) continue
    if (scope === 'global') {
      waitedFor++
      if (n.knownGlobalTerm < f.newTerm) return
    } else if (n.shard === shard && !n.observer) {
      waitedFor++
      if (n.knownShardTerm < f.newTerm) return
    }
  }
  if (waitedFor === 0) {
    // Nobody known to wait for (a live observer that does not see the shard's members): a
    // duration would be vacuous, so the episode is dropped rather than reported as 0 ms.
    if (scope === 'global') s.globalFailover = null
    else s.shardFailovers.delete(shard!)
    return
  }
  const durationMs = s.nowMs - f.startMs
  out?.failover({
    trueMs: s.nowMs,
    scope,
    shard,
    durationMs,
    electedAfterMs: f.electedMs - f.startMs,
    oldLeader: f.oldLeader,
    newLeader: f.newLeader,
    cause: f.cause,
  })
  const where = scope === 'global' ? 'global' : `shard ${shard}`
  note(out, {
    trueMs: s.nowMs,
    kind: 'failover',
    level: scope === 'global' ? 1 : 2,
    node: f.newLeader,
    text: `${where} failover ${f.oldLeader ? shortId(f.oldLeader) : '?'} → ${shortId(f.newLeader)} in ${Math.round(durationMs)} ms (${f.cause})`,
    durationMs,
  })
  if (scope === 'global') s.globalFailover = null
  else s.shardFailovers.delete(shard!)
}

function checkAllFailovers(s: ClusterState, out: JournalSink | null): void {
  checkFailover(s, 'global', null, out)
  for (const shard of [...s.shardFailovers.keys()]) checkFailover(s, 'shard', shard, out)
}

/** A node is gone or going (crash, suspicion, death, leave): open failovers for what it led. */
function leaderLost(s: ClusterState, id: NodeId, cause: string, out: JournalSink | null): void {
  if (s.global?.leader === id) openFailover(s, 'global', null, cause, out)
  for (const [shard, info] of s.shards) {
    if (info.leader === id) openFailover(s, 'shard', shard, cause, out)
  }
}

function onGlobalLeader(s: ClusterState, leader: NodeId, term: number, out: JournalSink | null): void {
  const current = s.global
  if (current && term <= current.term) return
  // Opened while s.global still names the previous leader, so the episode records it as the old one.
  if (current) openFailover(s, 'global', null, 'leader change', out)
  s.global = { leader, term, sinceMs: s.nowMs }
  const f = s.globalFailover
  if (f) {
    f.electedMs = s.nowMs
    f.newLeader = leader
    f.newTerm = term
  }
  note(out, {
    trueMs: s.nowMs,
    kind: 'global-leader',
    level: 1,
    node: leader,
    text: `${shortId(leader)} is global leader, term ${term}`,
  })
}

function onShardLeader(
  s: ClusterState,
  shard: number,
  leader: NodeId,
  term: number,
  out: JournalSink | null,
): void {
  const current = s.shards.get(shard)
  if (current && term <= current.term) return
  if (current) openFailover(s, 'shard', shard, 'leader change', out)
  s.shards.set(shard, { leader, term, sinceMs: s.nowMs })
  const f = s.shardFailovers.get(shard)
  if (f) {
    f.electedMs = s.nowMs
    f.newLeader = leader
    f.newTerm = term
  }
  note(out, {
    trueMs: s.nowMs,
    kind: 'shard-leader',
    level: 2,
    node: leader,
    text: `${shortId(leader)} leads shard ${shard}, term ${term}`,
  })
}

function onGlobalElection(s: ClusterState, term: number, candidate: NodeId, out: JournalSink | null): void {
  if (term <= s.globalElectionTerm) return
  s.globalElectionTerm = term
  if (s.global && term > s.global.term) openFailover(s, 'global', null, 'election', out)
  note(out, {
    trueMs: s.nowMs,
    kind: 'election',
    level: 1,
    node: candidate,
    text: `global election, term ${term}: ${shortId(candidate)} runs`,
  })
}

function onShardElection(
  s: ClusterState,
  shard: number,
  term: number,
  candidate: NodeId,
  out: JournalSink | null,
): void {
  if (term <= (s.shardElectionTerms.get(shard) ?? 0)) return
  s.shardElectionTerms.set(shard, term)
  const current = s.shards.get(shard)
  if (current && term > current.term) openFailover(s, 'shard', shard, 'election', out)
  note(out, {
    trueMs: s.nowMs,
    kind: 'election',
    level: 2,
    node: candidate,
    text: `shard ${shard} election, term ${term}: ${shortId(candidate)} runs`,
  })
}

function onMemberState(
  s: ClusterState,
  observer: NodeId,
  memberId: NodeId,
  state: MemberState,
  incarnation: number,
  out: JournalSink | null,
): void {
  const m = ensureNode(s, memberId, s.nowMs)
  const before = m.state
  if (state !== 'alive' && incarnation >= m.incarnation) m.accusers.add(observer)
  if (before === 'dead' || before === 'left') {
    if (state !== 'alive' || incarnation <= m.incarnation) return
  } else if (incarnation < m.incarnation || (incarnation === m.incarnation && RANK[state] <= RANK[before])) {
    return
  }
  if (state === 'alive') m.accusers.clear()
  m.incarnation = incarnation
  setState(s, m, state, s.nowMs)
  const who = shortId(memberId)
  if (state === 'suspect') {
    note(out, {
      trueMs: s.nowMs,
      kind: 'suspect',
      level: 2,
      node: memberId,
      text: `${who} suspected by ${shortId(observer)}`,
    })
    leaderLost(s, memberId, 'suspected', out)
  } else if (state === 'dead') {
    note(out, {
      trueMs: s.nowMs,
      kind: 'dead',
      level: 1,
      node: memberId,
      text: `${who} declared dead by ${shortId(observer)}`,
    })
    leaderLost(s, memberId, 'declared dead', out)
    checkAllFailovers(s, out)
  } else if (state === 'left') {
    note(out, { trueMs: s.nowMs, kind: 'left', level: 1, node: memberId, text: `${who} left` })
    leaderLost(s, memberId, 'left', out)
    checkAllFailovers(s, out)
  } else if (before === 'dead' || before === 'left') {
    note(out, {
      trueMs: s.nowMs,
      kind: 'rejoin',
      level: 2,
      node: memberId,
      text: `${who} is back, incarnation ${incarnation}`,
    })
  }
}

function onMemberJoin(
  s: ClusterState,
  observer: NodeId,
  memberId: NodeId,
  incarnation: number,
  out: JournalSink | null,
): void {
  const known = s.nodes.get(memberId)
  const m = ensureNode(s, memberId, s.nowMs)
  if (!known) {
    m.incarnation = incarnation
    note(out, {
      trueMs: s.nowMs,
      kind: 'join',
      level: 2,
      node: memberId,
      text: `${shortId(memberId)} joined (seen by ${shortId(observer)})`,
    })
  } else if (m.state === 'dead' || m.state === 'left') {
    // A join after death is a new life (new boot epoch), whatever the incarnation.
    m.incarnation = incarnation
    m.accusers.clear()
    setState(s, m, 'alive', s.nowMs)
    note(out, {
      trueMs: s.nowMs,
      kind: 'rejoin',
      level: 2,
      node: memberId,
      text: `${shortId(memberId)} rejoined`,
    })
  } else if (incarnation > m.incarnation) {
    m.incarnation = incarnation
  }
}

function onFault(s: ClusterState, r: TraceRecord & { kind: 'sim:fault' }, out: JournalSink | null): void {
  const target = r.node !== undefined ? ensureNode(s, r.node, r.trueMs) : null
  const label = `${r.fault}${target ? ` ${shortId(target.id)}` : ''}${r.detail ? ` (${r.detail})` : ''}`
  // Adding a node and resuming a paused one are routine; crashes, partitions and the rest are not.
  const routine = r.fault === 'add' || r.fault === 'resume'
  note(out, {
    trueMs: r.trueMs,
    kind: r.fault === 'add' ? 'join' : 'fault',
    level: routine ? 2 : 1,
    node: target?.id ?? null,
    text: r.fault === 'add' && target ? `${shortId(target.id)} started` : label,
  })
  if (!target) return
  if (r.fault === 'crash') {
    target.crashed = true
    target.shardLease = null
    target.globalLease = null
    leaderLost(s, target.id, 'crash', out)
    checkAllFailovers(s, out)
  } else if (r.fault === 'restart') {
    // A restarted process lost what it knew in memory: it must learn the leaders again.
    target.crashed = false
    target.role = null
    target.knownGlobalLeader = null
    target.knownGlobalTerm = 0
    target.knownShardLeader = null
    target.knownShardTerm = 0
  }
}

export function applyRecord(s: ClusterState, r: TraceRecord, out: JournalSink | null): void {
  out?.advance(r.trueMs, s.counts)
  if (r.trueMs > s.nowMs) s.nowMs = r.trueMs
  s.records++
  switch (r.kind) {
    case 'sim:fault':
      onFault(s, r, out)
      return
    case 'net:sample':
      ensureNode(s, r.node, r.trueMs)
      out?.netSample(r.trueMs, r.node, r.msgs, r.windowMs)
      return
    case 'node:meta': {
      const n = ensureNode(s, r.node, r.trueMs)
      if (r.priority !== undefined) n.priority = r.priority
      if (r.addrs !== undefined) n.addrs = [...r.addrs]
      if (r.observer !== undefined) n.observer = r.observer
      if (r.roles?.includes('inspector')) n.instrument = true
      return
    }
    default:
      break
  }
  const n = ensureNode(s, r.node, r.trueMs)
  n.lastHeardMs = r.trueMs
  switch (r.kind) {
    case 'member:state':
      onMemberState(s, r.node, r.member, r.state, r.incarnation, out)
      return
    case 'member:join':
      onMemberJoin(s, r.node, r.member, r.incarnation, out)
      return
    case 'member:refute':
      if (r.incarnation > n.incarnation) {
        n.incarnation = r.incarnation
        n.accusers.clear()
        if (n.state === 'suspect') setState(s, n, 'alive', r.trueMs)
        note(out, {
          trueMs: r.trueMs,
          kind: 'refute',
          level: 2,
          node: n.id,
          text: `${shortId(n.id)} refuted suspicion, incarnation ${r.incarnation}`,
        })
      }
      return
    case 'health:change':
      n.health = r.score
      return
    case 'wire:reject':
      n.rejections++
      return
    case 'shard:role':
      n.role = r.role
      n.shardTerm = r.term
      if (r.role === 'observer') {
        n.observer = true
        n.shard = null
      } else {
        // A node outside every shard (joining, or its shard dissolved) reports role observer
        // until it is placed; placed in a shard it counts again for that shard's failovers.
        n.observer = false
        n.shard = r.shard
      }
      if (r.role === 'candidate') onShardElection(s, r.shard, r.term, n.id, out)
      return
    case 'shard:leader':
      if (r.term >= n.knownShardTerm) {
        n.knownShardLeader = r.leader
        n.knownShardTerm = r.term
      }
      onShardLeader(s, r.shard, r.leader, r.term, out)
      checkFailover(s, 'shard', r.shard, out)
      return
    case 'lease:hold': {
      const claim = {
        scope: r.scope,
        term: r.term,
        untilLocalMs: r.untilMs,
        atLocalMs: r.atMs,
        atTrueMs: r.trueMs,
      }
      if (r.scope === 'global') n.globalLease = claim
      else n.shardLease = claim
      return
    }
    case 'lease:end':
      if (r.scope === 'global') {
        n.globalLease = null
        if (s.global?.leader === n.id) openFailover(s, 'global', null, 'lease released', out)
      } else {
        n.shardLease = null
        if (s.shards.get(r.shard)?.leader === n.id) openFailover(s, 'shard', r.shard, 'lease released', out)
      }
      note(out, {
        trueMs: r.trueMs,
        kind: 'lease-end',
        level: r.scope === 'global' ? 1 : 2,
        node: n.id,
        text: `${shortId(n.id)} released its ${r.scope === 'global' ? 'global' : `shard ${r.shard}`} lease, term ${r.term}`,
      })
      return
    case 'vote:cast':
      if (r.scope === 'global') onGlobalElection(s, r.term, r.candidate, out)
      else onShardElection(s, r.shard, r.term, r.candidate, out)
      return
    case 'global:vote':
      onGlobalElection(s, r.term, r.candidate, out)
      return
    case 'global:leader':
    case 'global:known':
      if (r.term >= n.knownGlobalTerm) {
        n.knownGlobalLeader = r.leader
        n.knownGlobalTerm = r.term
      }
      onGlobalLeader(s, r.leader, r.term, out)
      checkFailover(s, 'global', null, out)
      return
    case 'shardmap:commit':
      if (r.index > s.shardmapIndex) {
        s.shardmapIndex = r.index
        note(out, {
          trueMs: r.trueMs,
          kind: 'shardmap',
          level: 2,
          node: n.id,
          text: `shard map #${r.index}: ${r.change}`,
        })
      }
      return
  }
}
