/**
 * Benchmark: V8 heap per member-table row. K fresh nodes each learn the same N join claims
 * (52-character peer-id-shaped ids, `simSigner`), then heapUsed after a full GC is divided by K·N.
 * Prints the measured figure; asserts nothing. Run (needs --expose-gc):
 *   node --expose-gc --import tsx --conditions=conclave-source packages/core/src/membership/row-heap.bench.ts [N] [K]
 */
import { createRng } from '../util/rng.js'
import { simSigner } from './claim.js'
import { lanConfig } from './config.js'
import { Membership } from './membership.js'

const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with node --expose-gc')
const n = Number(process.argv[2] ?? 1000)
const k = Number(process.argv[3] ?? 20)
const cfg = lanConfig()
/** Peer-id-shaped: '12D3KooW' + 44 base58-ish characters that differ per node. */
const ids = Array.from({ length: n }, (_, i) => {
  const rng = createRng(i + 1)
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
  let s = '12D3KooW'
  while (s.length < 52) s += alphabet[rng.int(alphabet.length)]
  return s
})
const frames: { from: string; bytes: Uint8Array }[] = []
for (const [i, id] of ids.entries()) {
  const m = new Membership({ id, bootEpoch: 0, rng: createRng(i), config: cfg, signer: simSigner() }, 0)
  m.join([ids[0] as string], 0)
  m.tick(0)
  for (const o of m.drain().send) frames.push({ from: id, bytes: o.bytes })
}
gc()
const before = process.memoryUsage().heapUsed
const tables: Membership[] = []
for (let j = 0; j < k; j++) {
  const m = new Membership(
    { id: `observer-${j}`, bootEpoch: 0, rng: createRng(1000 + j), config: cfg, signer: simSigner() },
    0,
  )
  for (const f of frames) m.receive(f.from, 'membership', f.bytes, 1)
  m.drain()
  tables.push(m)
}
gc()
const bytesPerRow = (process.memoryUsage().heapUsed - before) / (k * n)
console.log(
  `row-heap: ${k} tables × ${tables[0]?.aliveCount()} rows: ${bytesPerRow.toFixed(0)} B of V8 heap per member row`,
)
