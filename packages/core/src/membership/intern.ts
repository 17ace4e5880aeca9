/**
 * Id interning: every decoded node id is a fresh string (~70 B for a libp2p peer id), and a node
 * decodes each member's id many times (every claim, suspicion and dead notice that names it).
 * `internId` returns one canonical string per distinct id, so a member table row, its ring slot
 * and its queue entries share one copy instead of holding their own.
 *
 * Guarantees: the result equals the input (interning never changes meaning); the table is
 * bounded (`INTERN_MAX` ids; past that, ids are returned as they are, uninterned, and the cost
 * is only memory). It is process-wide: a real process runs one node, whose table is the bound
 * that matters; the simulator runs many nodes in one process and they share it.
 */
import type { NodeId } from '../sans-io.js'

/** Bound on interned ids: 4× the largest cluster we simulate (the table costs ~100 B per id). */
export const INTERN_MAX = 20_000

const interned = new Map<string, string>()

export function internId(id: NodeId): NodeId {
  const have = interned.get(id)
  if (have !== undefined) return have
  if (interned.size < INTERN_MAX) interned.set(id, id)
  return id
}
