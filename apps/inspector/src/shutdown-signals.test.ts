import { EventEmitter } from 'node:events'
import { expect, it } from 'vitest'
import { onShutdownSignals } from './shutdown-signals.js'

it('stops once however many SIGINT / SIGTERM come, and keeps a listener for each', async () => {
  const proc = new EventEmitter()
  let stops = 0
  let release: () => void = () => {}
  onShutdownSignals(() => {
    stops++
    return new Promise<void>((resolve) => {
      release = resolve
    })
  }, proc)
  proc.emit('SIGINT') // the terminal's
  proc.emit('SIGINT') // forwarded by the bin while the stop runs
  proc.emit('SIGTERM') // the demo's
  expect(stops).toBe(1)
  // A signal with no listener left would take Node's default action: kill the process mid-stop.
  expect(proc.listenerCount('SIGINT')).toBe(1)
  expect(proc.listenerCount('SIGTERM')).toBe(1)
  release()
})
