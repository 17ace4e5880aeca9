/**
 * Cleanups a harness process owes however it ends: its temp data dirs removed and its node
 * processes killed. A `finally` block covers a normal end and a thrown error, but not Ctrl-C
 * (SIGINT), `timeout`'s SIGTERM or a closed terminal (SIGHUP): the default action ends the process
 * at once, and the bench left /dev/shm/conclave-bench-* (its nodes' data, up to 100 dirs) behind.
 *
 * Guarantees: each registered cleanup runs at most once, synchronously, on the first of those
 * signals or at process exit, unless it was unregistered first (the normal path, after its own
 * `finally` did the work). After the cleanups, a signal is raised again with its default action,
 * so the process ends as the signal would have ended it (status 128 + n), unless some other part
 * of the process listens for that signal too (it then decides).
 */
import { rmSync } from 'node:fs'

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
const cleanups = new Set<() => void>()
let installed = false

function runAll(): void {
  for (const fn of [...cleanups]) {
    cleanups.delete(fn)
    try {
      fn()
    } catch {
      // the others still run
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll()
  for (const s of SIGNALS) process.removeListener(s, onSignal)
  process.kill(process.pid, signal)
}

/** Run `fn` (synchronous) if the process ends by a signal or exits first; returns the unregister. */
export function onExitCleanup(fn: () => void): () => void {
  if (!installed) {
    installed = true
    for (const s of SIGNALS) process.on(s, onSignal)
    process.on('exit', runAll)
  }
  cleanups.add(fn)
  return () => {
    cleanups.delete(fn)
  }
}

/** Remove `dir` (recursively) if the process ends by a signal or exits first; returns the unregister. */
export function removeDirOnExit(dir: string): () => void {
  return onExitCleanup(() => rmSync(dir, { recursive: true, force: true }))
}

/** SIGKILL every live node of `cluster` if the process ends by a signal or exits first. */
export function killNodesOnExit(cluster: {
  nodes: readonly ({ pid: number | undefined; alive: boolean } | undefined)[]
}): () => void {
  return onExitCleanup(() => {
    for (const n of cluster.nodes) {
      if (!n?.alive || n.pid === undefined) continue
      try {
        process.kill(n.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  })
}
