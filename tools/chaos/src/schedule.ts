/**
 * The nemesis's fault schedules, as pure data from (seed, schedule index): the same pair always
 * gives the same faults, offsets, durations and node picks, so a failing schedule replays with
 * `--seed S --schedule I`. Only faults aimed at "the leader" are resolved when they start (the
 * leader is whoever holds the lease then). A schedule is 1–3 faults whose start offsets and
 * durations let them run one at a time or overlap; every fault heals by the schedule's end.
 */
import { createRng, type Rng } from '@conclave/core'

export type FaultKind =
  | 'isolate-leader'
  | 'split'
  | 'bridge'
  | 'ring'
  | 'one-way'
  | 'kill'
  | 'pause'
  | 'loss'
  | 'clock'
  | 'rolling-restart'
  | 'leave-join'

export const FAULT_KINDS: readonly FaultKind[] = [
  'isolate-leader',
  'split',
  'bridge',
  'ring',
  'one-way',
  'kill',
  'pause',
  'loss',
  'clock',
  'rolling-restart',
  'leave-join',
]

export interface Fault {
  kind: FaultKind
  /** Offset from the schedule's start. */
  startMs: number
  durationMs: number
  /**
   * Node indices picked at plan time, in a random order; faults aimed at the leader put the
   * leader first at run time. Partitions read `nodes` as their first side.
   */
  nodes: number[]
  /** Aim at the node that holds the lease when the fault starts (replacing nodes[0]). */
  atLeader: boolean
  /** loss: drop probability; clock: drift in ppm (±, within the drift bound). */
  amount: number
  /**
   * kill: restart with the protocol clock this far off the host's (0 = unchanged). A running
   * node's clock never steps (the runtime clock is monotonic by design, and a step is outside
   * the lease's drift model), so offsets are applied at restarts only.
   */
  offsetMs: number
}

export interface Schedule {
  index: number
  seed: number
  faults: Fault[]
}

export interface ScheduleShape {
  nodes: number
  /** Clock-drift bound ρ of the protocol (0.01): clock faults stay within 0.9·ρ. */
  driftBound: number
  /** Nodes 0..seeds-1 are the bootstrap seeds: leave-join never gives them a new identity. */
  seeds: number
  /** Only these fault kinds (default all). */
  kinds?: readonly FaultKind[]
}

/** Per-schedule seed: the run seed and the index mixed (splitmix-style), never 0. */
export function scheduleSeed(seed: number, index: number): number {
  let z = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
  return (z ^ (z >>> 16)) >>> 0 || 1
}

function pick(rng: Rng, n: number, k: number, from = 0): number[] {
  const all = [...Array(n - from).keys()].map((i) => i + from)
  for (let i = all.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[all[i], all[j]] = [all[j] as number, all[i] as number]
  }
  return all.slice(0, k)
}

export function planSchedule(seed: number, index: number, shape: ScheduleShape): Schedule {
  const s = scheduleSeed(seed, index)
  const rng = createRng(s)
  const kinds = shape.kinds ?? FAULT_KINDS
  const n = shape.nodes
  const minority = Math.max(1, Math.floor((n - 1) / 2))
  const count = rng.range(1, 3)
  const faults: Fault[] = []
  for (let f = 0; f < count; f++) {
    const kind = kinds[rng.int(kinds.length)] as FaultKind
    const startMs = rng.range(0, 6) * 1000 + rng.int(1000)
    const base: Fault = { kind, startMs, durationMs: 0, nodes: [], atLeader: false, amount: 0, offsetMs: 0 }
    switch (kind) {
      case 'isolate-leader':
        faults.push({ ...base, durationMs: rng.range(2000, 6000), nodes: pick(rng, n, 1), atLeader: true })
        break
      case 'split':
        faults.push({
          ...base,
          durationMs: rng.range(2000, 6000),
          nodes: pick(rng, n, rng.range(1, minority)),
        })
        break
      case 'bridge':
      case 'ring':
        // bridge: nodes[0] sees both halves, nodes[1..] is one half; ring: nodes is the ring order.
        faults.push({ ...base, durationMs: rng.range(2000, 6000), nodes: pick(rng, n, n) })
        break
      case 'one-way':
        // nodes: the side whose packets the others stop receiving (the leader half of the time).
        faults.push({
          ...base,
          durationMs: rng.range(2000, 6000),
          nodes: pick(rng, n, rng.range(1, minority)),
          atLeader: rng.float() < 0.5,
        })
        break
      case 'kill':
        faults.push({
          ...base,
          durationMs: rng.range(1000, 4000),
          nodes: pick(rng, n, 1),
          atLeader: rng.float() < 0.5,
          offsetMs: rng.float() < 0.3 ? rng.range(-60_000, 60_000) : 0,
        })
        break
      case 'pause':
        faults.push({
          ...base,
          durationMs: rng.range(1000, 3000),
          nodes: pick(rng, n, 1),
          atLeader: rng.float() < 0.5,
        })
        break
      case 'loss':
        faults.push({
          ...base,
          durationMs: rng.range(3000, 6000),
          nodes: pick(rng, n, rng.range(1, n)),
          amount: rng.range(5, 30) / 100,
        })
        break
      case 'clock': {
        const ppmMax = Math.floor(shape.driftBound * 0.9 * 1e6)
        faults.push({
          ...base,
          durationMs: rng.range(3000, 8000),
          nodes: pick(rng, n, rng.range(1, Math.max(1, Math.floor(n / 2)))),
          amount: rng.range(-ppmMax, ppmMax),
        })
        break
      }
      case 'rolling-restart':
        faults.push({ ...base, durationMs: 0, nodes: pick(rng, n, Math.min(n, 3)) })
        break
      case 'leave-join':
        if (n > shape.seeds)
          faults.push({ ...base, durationMs: rng.range(2000, 5000), nodes: pick(rng, n, 1, shape.seeds) })
        break
    }
  }
  faults.sort((a, b) => a.startMs - b.startMs)
  return { index, seed: s, faults }
}

/** One line for a fault; `leader` is the node it hit when it was aimed at the leader. */
export function describeFault(f: Fault, leader?: number): string {
  const list = `n${f.nodes.slice(0, 4).join(',n')}${f.nodes.length > 4 ? ',…' : ''}`
  const who = f.atLeader ? (leader === undefined ? 'leader' : `leader n${leader}`) : list
  const at = `@${(f.startMs / 1000).toFixed(1)}s`
  const dur = f.durationMs ? ` for ${(f.durationMs / 1000).toFixed(1)}s` : ''
  switch (f.kind) {
    case 'loss':
      return `loss ${Math.round(f.amount * 100)}% into ${f.nodes.length} nodes ${at}${dur}`
    case 'clock':
      return `clock drift ${f.amount > 0 ? '+' : ''}${f.amount}ppm on ${who} ${at}${dur}`
    case 'kill':
      return `kill -9 ${who} ${at}${dur}${f.offsetMs ? ` (restart with clock ${f.offsetMs > 0 ? '+' : ''}${f.offsetMs}ms)` : ''}`
    case 'ring':
    case 'bridge':
      return `${f.kind} ${at}${dur}`
    case 'isolate-leader':
      return `isolate ${who} ${at}${dur}`
    default:
      return `${f.kind} ${who} ${at}${dur}`
  }
}
