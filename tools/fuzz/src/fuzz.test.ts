/**
 * A small fuzz run in `npm test` (the big one is `pnpm fuzz --cases K`): a real target process,
 * frames from the fuzzer over real libp2p, then the checks of fuzz.ts (no crash, rejections
 * counted by the target itself, bounded heap, a fresh node still served through the target).
 */

import { testPorts } from '@conclave/node/harness'
import { describe, expect, it } from 'vitest'
import { runFuzz } from './fuzz.js'

describe('pnpm fuzz, small run', () => {
  it('300 cases: no crash, rejections counted by the target, a fresh peer still served', async () => {
    const r = await runFuzz({
      cases: 300,
      seed: 7,
      ...(await testPorts('fuzz', 3)),
      leaderWaitMs: 1000,
    })
    expect(r.failures).toEqual([])
    expect(r.crashes).toBe(0)
    expect(r.cases).toBe(300)
    expect(r.rejectionsTotal).toBeGreaterThan(0)
    // Frames reached every layer's decoder, and malformed framing cut sessions off.
    for (const layer of ['membership', 'shard', 'global'])
      expect(r.framesReceived[layer] ?? 0).toBeGreaterThan(0)
    expect(Object.keys(r.cutOffs).length).toBeGreaterThan(0)
    expect(r.servesHealthyPeer).toBe(true)
  }, 180_000)
})
