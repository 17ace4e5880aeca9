/**
 * The fuzz run: a real two-node cluster (`conclave start` processes: the target and a healthy
 * peer), then a fuzzer that connects to the target over real libp2p (TCP + Noise + Yamux) and
 * writes random and mutated frames to every protocol stream (/conclave/membership/1,
 * /conclave/shard/1, /conclave/global/1). When the target cuts a fuzzer identity off (as it
 * should), the fuzzer comes back with another identity and goes on. Identities are strangers (a
 * fresh key: their shard and global frames are decoded, then stop at the membership gate); with
 * `insiders`, every other one is a corpus machine's key, which first replays its own signed join
 * so the target takes it for a member and its shard and global frames reach the election rules.
 *
 * What it checks, all from the target itself: the process never exits (no crash); rejections are
 * counted (its /metrics counters, before vs after); its heap stays bounded; and afterwards it
 * still serves: a brand-new node that joins through the target gets the membership from it (the
 * target alive, the healthy peer alive or suspect); whether it also learns a leader is reported. Gossipsub
 * topics are not fuzzed: a node publishes on them but neither subscribes nor decodes a topic
 * message (only the inspector reads them).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createRng,
  DEFAULT_PEER_STREAMS_LIMITS,
  type Layer,
  libp2pBaseOptions,
  PROTOCOLS,
} from '@conclave/core'
import { killNodesOnExit, LocalCluster, removeDirOnExit } from '@conclave/node/harness'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { type CaseKind, type FuzzCase, framed, nextCase } from './cases.js'
import { buildCorpus } from './corpus.js'

export interface FuzzOptions {
  cases: number
  seed: number
  /** Node i (0: the target) listens on basePort + i, for i < 3. */
  basePort: number
  /** Node i serves admin HTTP on adminBasePort + i. Default basePort + 100. */
  adminBasePort?: number
  /** Where a node whose port was taken before it bound moves (LocalClusterInit.sparePort). Default none. */
  sparePort?(): Promise<number | undefined>
  /**
   * Every other session uses a corpus member's key and joins with its signed claim first, so its
   * shard and global frames reach the election rules (default false: outsiders only).
   */
  insiders?: boolean
  /** After the fresh node joined, how long to wait for it to learn a leader (reported only). Default 10 s. */
  leaderWaitMs?: number
  /** Only these case kinds (default all): to find which kind a failure comes from. */
  kinds?: readonly CaseKind[]
  /** Progress lines (stderr in the CLI). */
  log?(line: string): void
}

export interface FuzzResult {
  cases: number
  seed: number
  casesByKind: Record<string, number>
  casesByLayer: Record<string, number>
  /** Fuzzer identities used (a new one after each cut-off). */
  sessions: number
  /** Sessions whose connection the target closed (cut off) while the fuzzer was writing. */
  sessionsCutOff: number
  /** Sessions that used a corpus member's key (joined first with its signed claim). */
  insiderSessions: number
  corpusTypes: Record<string, number>
  /** Deltas of the target's own counters over the run (framesReceived: from every peer, the healthy one included). */
  framesReceived: Record<string, number>
  rejections: Record<string, number>
  rejectionsTotal: number
  cutOffs: Record<string, number>
  connectionsRefused: Record<string, number>
  /** The target's V8 heap after a full GC (POST /debug/gc), before and after the run. */
  heapBeforeBytes: number
  heapAfterBytes: number
  rssBeforeBytes: number
  rssAfterBytes: number
  crashes: number
  /** A fresh node joining through the target after the run got the membership (target alive, peer alive or suspect). */
  servesHealthyPeer: boolean
  freshPeerJoinedMs: number | null
  /** …and learned the global leader (null: not within leaderWaitMs; reported, not a failure). */
  freshPeerLearnedLeaderMs: number | null
  insiders: boolean
  durationMs: number
  casesPerSecond: number
  failures: string[]
}

/** Heap growth above this over a run is reported as unbounded memory. */
export const HEAP_GROWTH_BYTES_MAX = 64 * 1024 * 1024

type Metrics = Map<string, number>

function parseMetrics(text: string): Metrics {
  const out: Metrics = new Map()
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue
    const sp = line.lastIndexOf(' ')
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)))
  }
  return out
}

/** Deltas of every series of `name`, keyed by its label values joined with `/`. */
function deltas(before: Metrics, after: Metrics, name: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [series, v] of after) {
    if (series !== name && !series.startsWith(`${name}{`)) continue
    const d = v - (before.get(series) ?? 0)
    if (d === 0) continue
    const labels = [...series.matchAll(/="([^"]*)"/g)].map((m) => m[1]).join('/') || name
    out[labels] = d
  }
  return out
}

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0)
}

/** One fuzzer identity: its own key, one connection to the target, one stream per layer. */
class Session {
  private readonly streams = new Map<Layer, Stream>()
  cutOff = false
  private constructor(private readonly node: Libp2p) {}

  static async open(target: string, key?: PrivateKey): Promise<Session> {
    const privateKey = key ?? (await generateKeyPair('Ed25519'))
    const base = libp2pBaseOptions({ privateKey, listen: [], bootstrap: [] })
    const node = await createLibp2p({ ...base, services: {} })
    const s = new Session(node)
    await node.dial(multiaddr(target), { signal: AbortSignal.timeout(10_000) })
    return s
  }

  /** Resolves once the target has closed this session's connection, or after `waitMsMax`. */
  async closed(waitMsMax: number): Promise<void> {
    const untilMs = performance.now() + waitMsMax
    while (this.alive && performance.now() < untilMs) await new Promise((r) => setTimeout(r, 5))
  }

  get alive(): boolean {
    return !this.cutOff && this.node.getConnections().some((c) => c.status === 'open')
  }

  /** Write one case; false once the target has closed this session (cut off). */
  async write(target: string, c: FuzzCase): Promise<boolean> {
    try {
      let stream = this.streams.get(c.layer)
      if (stream?.status !== 'open') {
        stream = await this.node.dialProtocol(multiaddr(target), PROTOCOLS[c.layer], {
          signal: AbortSignal.timeout(10_000),
        })
        this.streams.set(c.layer, stream)
      }
      if (!stream.send(c.wire)) await stream.onDrain({ signal: AbortSignal.timeout(10_000) })
      return true
    } catch {
      this.cutOff = true
      return false
    }
  }

  async close(): Promise<void> {
    await this.node.stop()
  }
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzResult> {
  const log = o.log ?? (() => {})
  const failures: string[] = []
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'conclave-fuzz-'))
  // Ctrl-C or `timeout` skip the finally below: the dir and the nodes go on a signal too.
  const unwatchDir = removeDirOnExit(dir)
  // Node 0 is the target; every node bootstraps through it only. Node 2 starts after the run.
  const cluster = new LocalCluster({
    nodes: 3,
    initialNodes: 2,
    dir,
    basePort: o.basePort,
    adminBasePort: o.adminBasePort ?? o.basePort + 100,
    ...(o.sparePort ? { sparePort: o.sparePort } : {}),
    seedsMax: 1,
    bootstrapExpect: 2,
    onLog: (i, line) => {
      if (i !== 0 || (line.level !== 'raw' && line.level !== 'error')) return
      targetErrors.push(String(line.msg))
      if (targetErrors.length > 40) targetErrors.shift()
    },
  })
  const unwatchNodes = killNodesOnExit(cluster)
  const targetErrors: string[] = []
  const t0 = performance.now()
  // The nodes inherit this: with --expose-gc their admin API offers POST /debug/gc, so the heap
  // figures below are what a full collection leaves (retained memory, not garbage).
  const nodeOptions = process.env.NODE_OPTIONS
  process.env.NODE_OPTIONS = `${nodeOptions ?? ''} --expose-gc`.trim()
  try {
    try {
      await cluster.start()
    } finally {
      if (nodeOptions === undefined) delete process.env.NODE_OPTIONS
      else process.env.NODE_OPTIONS = nodeOptions
    }
    const leader = await cluster.waitFor(
      () => cluster.agreedLeader(),
      // Generous: two processes on a loaded 2-core host once took over 60 s.
      120_000,
      'the target and its peer to elect a leader',
    )
    log(`cluster up: leader ${leader.id.slice(-8)} term ${leader.term}`)
    const metricsUrl = `http://127.0.0.1:${cluster.adminPort(0)}/metrics`
    const read = async () => {
      await fetch(`http://127.0.0.1:${cluster.adminPort(0)}/debug/gc`, { method: 'POST' }).catch(() => {})
      return parseMetrics(await (await fetch(metricsUrl)).text())
    }
    /** The target's admin JSON, or undefined when it does not answer (it crashed). */
    const adminJson = async <T>(path: string): Promise<T | undefined> => {
      try {
        return (await (await fetch(`http://127.0.0.1:${cluster.adminPort(0)}${path}`)).json()) as T
      } catch {
        return undefined
      }
    }

    const corpus = await buildCorpus(o.seed)
    log(`corpus: ${corpus.frames.length} real frames of ${Object.keys(corpus.types).length} types`)
    const before = await read()

    const rng = createRng(o.seed)
    const target = cluster.addr(0)
    const byKind: Record<string, number> = {}
    const byLayer: Record<string, number> = {}
    let sent = 0
    let sessions = 0
    let sessionsCutOff = 0
    let insiderSessions = 0
    let insider: number | undefined
    /** When each corpus key may be used again (the target bans a cut-off identity for banMs). */
    const keyFreeAtMs = corpus.keys.map(() => 0)
    const banMs = DEFAULT_PEER_STREAMS_LIMITS.banMs + 1000
    const fuzzStartMs = performance.now()
    let session: Session | undefined
    while (sent < o.cases) {
      if (!session?.alive) {
        if (session) {
          sessionsCutOff++
          if (insider !== undefined) keyFreeAtMs[insider] = performance.now() + banMs
          await session.close()
        }
        session = undefined
        if (cluster.nodes[0]?.alive !== true) break
        // Every other session is an insider, when a corpus key is not banned.
        insider = undefined
        if (o.insiders && sessions % 2 === 1) {
          const free = keyFreeAtMs.findIndex((t) => t <= performance.now())
          if (free >= 0) insider = free
        }
        try {
          session = await Session.open(target, insider === undefined ? undefined : corpus.keys[insider])
          if (insider !== undefined) {
            insiderSessions++
            for (const f of corpus.frames)
              if (f.from === insider && f.type === 'membership/join')
                await session.write(target, { kind: 'valid', layer: 'membership', wire: framed(f.bytes) })
          }
        } catch (err) {
          // A fuzzer identity still banned, or the target gone: checked just above on the next turn.
          log(`session failed to open: ${(err as Error).message}`)
          await new Promise((r) => setTimeout(r, 50))
          continue
        }
        sessions++
      }
      const c = nextCase(rng, corpus.frames, DEFAULT_PEER_STREAMS_LIMITS.frameBytesMax, o.kinds)
      const ok = await session.write(target, c)
      sent++
      byKind[c.kind as CaseKind] = (byKind[c.kind] ?? 0) + 1
      byLayer[c.layer] = (byLayer[c.layer] ?? 0) + 1
      if (!ok) continue
      // Let the target's answer (a reset, a close) reach us before the next write; a broken length
      // prefix always ends the session, so wait for that (bounded) instead of writing into it.
      if (c.kind === 'bad-prefix') await session.closed(2000)
      else await new Promise((r) => setImmediate(r))
      if (sent % 1000 === 0) log(`${sent}/${o.cases} cases, ${sessions} sessions`)
    }
    const fuzzMs = performance.now() - fuzzStartMs
    // Let the last frames in flight reach the target before the connection closes.
    await new Promise((r) => setTimeout(r, 500))
    await session?.close()

    // Health: still running; a fresh node joining through the target is served (it gets the
    // membership: the target alive, the healthy peer alive or suspect) and learns the leader.
    const status = await adminJson<{ globalLeader?: string }>('/status')
    const joinStartMs = performance.now()
    cluster.spawnNode(2)
    const realIds = [cluster.ids[0], cluster.ids[1]]
    let freshJoinedMs: number | null = null
    let freshMs: number | null = null
    // 30 s to join; once joined, leaderWaitMs more to learn a leader (reported only).
    const leaderWaitMs = o.leaderWaitMs ?? 10_000
    let deadline = performance.now() + 30_000
    while (performance.now() < deadline && (freshJoinedMs === null || freshMs === null)) {
      await new Promise((r) => setTimeout(r, 100))
      if (freshJoinedMs === null) {
        const members = await fetch(`http://127.0.0.1:${cluster.adminPort(2)}/members`)
          .then((r) => r.json() as Promise<{ id: string; state: string }[]>)
          .catch(() => [])
        // Served: the target answered its join (alive) and synced it the healthy peer (alive or,
        // on a loaded host, briefly suspect: SWIM's verdict on the peer, not the target's service).
        const state = (id: string | undefined) => members.find((m) => m.id === id)?.state
        const peerState = state(realIds[1])
        if (state(realIds[0]) === 'alive' && (peerState === 'alive' || peerState === 'suspect')) {
          freshJoinedMs = Math.round(performance.now() - joinStartMs)
          deadline = Math.min(deadline, performance.now() + leaderWaitMs)
        }
      }
      if (freshMs === null && cluster.nodes[2]?.leader?.id)
        freshMs = Math.round(performance.now() - joinStartMs)
    }
    const targetAlive = cluster.nodes[0]?.alive === true
    if (!targetAlive)
      failures.push(`the target process exited (crash); its last stderr lines:\n${targetErrors.join('\n')}`)
    const serves = targetAlive && freshJoinedMs !== null
    if (!serves) {
      const seen = await fetch(`http://127.0.0.1:${cluster.adminPort(2)}/members`)
        .then((r) => r.json() as Promise<{ id: string; state: string }[]>)
        .catch(() => [])
      const view = seen.map((m) => `${m.id.slice(-6)}:${m.state}`).join(' ')
      failures.push(
        `a fresh node joining through the target did not see it alive and the healthy peer alive or suspect within 30 s; it saw: ${view || 'nothing'} (target ${cluster.ids[0]?.slice(-6)}, peer ${cluster.ids[1]?.slice(-6)})`,
      )
    }
    // A leader afterwards is reported, not required: the run relays real signed claims of corpus
    // nodes that never answer, the global leader assigns them as voters, and a two-voter shard
    // that takes in two dead voters has no quorum left to remove them (docs/security.md, "Fuzz").
    const leaderKnown = status?.globalLeader != null && freshMs !== null
    if (!leaderKnown) {
      const members =
        (await adminJson<{ id: string; state: string; meta: { shard: number | null } }[]>('/members')) ?? []
      log(
        `no leader known to a fresh node within ${leaderWaitMs} ms of joining; the target's status ${JSON.stringify(status)}; members ${members
          .map((m) => `${m.id.slice(-6)}:${m.state}:${m.meta.shard}`)
          .join(' ')}`,
      )
    }

    const after = targetAlive ? await read().catch(() => before) : before
    const rejections = deltas(before, after, 'conclave_rejected_frames_total')
    const heapBefore = before.get('conclave_process_heap_used_bytes') ?? 0
    const heapAfter = after.get('conclave_process_heap_used_bytes') ?? 0
    if (heapAfter - heapBefore > HEAP_GROWTH_BYTES_MAX)
      failures.push(`heap grew by ${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MiB`)
    if (o.cases >= 100 && sum(rejections) === 0) failures.push('no rejection was counted')
    if (o.cases >= 1000 && byKind['forged-claim'] && !rejections['membership/bad-signature'])
      failures.push('no forged claim was counted as bad-signature')
    return {
      cases: sent,
      seed: o.seed,
      casesByKind: byKind,
      casesByLayer: byLayer,
      sessions,
      sessionsCutOff,
      insiderSessions,
      corpusTypes: corpus.types,
      framesReceived: deltas(before, after, 'conclave_messages_received_total'),
      rejections,
      rejectionsTotal: sum(rejections),
      cutOffs: deltas(before, after, 'conclave_peers_cut_off_total'),
      connectionsRefused: deltas(before, after, 'conclave_connections_refused_total'),
      heapBeforeBytes: heapBefore,
      heapAfterBytes: heapAfter,
      rssBeforeBytes: before.get('conclave_process_resident_bytes') ?? 0,
      rssAfterBytes: after.get('conclave_process_resident_bytes') ?? 0,
      crashes: targetAlive ? 0 : 1,
      servesHealthyPeer: serves,
      freshPeerJoinedMs: freshJoinedMs,
      freshPeerLearnedLeaderMs: freshMs,
      insiders: o.insiders === true,
      durationMs: Math.round(performance.now() - t0),
      casesPerSecond: Math.round(sent / (fuzzMs / 1000)),
      failures,
    }
  } finally {
    await cluster.stopAll()
    unwatchNodes()
    unwatchDir()
    rmSync(dir, { recursive: true, force: true })
  }
}
