/**
 * The inspector's stop on SIGINT / SIGTERM. A Ctrl-C reaches the inspector twice: from the
 * terminal (its whole process group) and again through bin/conclave-inspector.mjs, which forwards
 * what it gets to this process; the demo then adds a SIGTERM. With `once` handlers the second
 * SIGINT found no listener, took Node's default action and killed the process in the middle of
 * its stop, before the live observer's data dir was removed (the demo left a
 * /tmp/conclave-inspector-* behind every run). So the handlers stay for the process's life and
 * the stop runs once.
 */
import type { EventEmitter } from 'node:events'

export function onShutdownSignals(stop: () => Promise<void>, proc: EventEmitter = process): void {
  let stopping = false
  const handler = () => {
    if (stopping) return
    stopping = true
    void stop()
  }
  proc.on('SIGINT', handler)
  proc.on('SIGTERM', handler)
}
