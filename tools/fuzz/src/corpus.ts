/**
 * The seed corpus the mutations start from: real frames of every layer and type, produced by
 * running real ConclaveMachines (real Ed25519 keys, so their membership claims verify) on an
 * in-process, zero-latency network in virtual time: 10 voters (three shards, so the global layer
 * talks), one of them with a higher priority (leadership transfers: timeout-now), and one
 * observer (shard announcements). Nothing is hand-written: when a codec changes, the corpus
 * changes with it.
 */
import {
  ConclaveMachine,
  createRng,
  ed25519Signer,
  type Layer,
  localConclaveConfig,
  type Outbound,
} from '@conclave/core'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

export interface SeedFrame {
  /** Index of the corpus machine that sent it (its key is `Corpus.keys[from]`). */
  from: number
  layer: Layer
  /** `layer/type` as the sender's transport counts it. */
  type: string
  bytes: Uint8Array
}

export interface Corpus {
  frames: SeedFrame[]
  /** The corpus machines' keys: a fuzzer using one is that member (its signed claims are real). */
  keys: PrivateKey[]
  /** Frame count by `layer/type`. */
  types: Record<string, number>
}

/** Frames kept per `layer/type` (the first ones and then every k-th, so late types appear). */
const PER_TYPE_MAX = 40

export async function buildCorpus(seed: number, voters = 10, simulatedMs = 8000): Promise<Corpus> {
  const nodes = voters + 1 // the last one is an observer
  const rng = createRng(seed)
  // Keys from the seed too: the same seed gives the same corpus, byte for byte.
  const keySeeds = Array.from({ length: nodes }, () => Uint8Array.from({ length: 32 }, () => rng.int(256)))
  const keys = await Promise.all(keySeeds.map((s) => generateKeyPairFromSeed('Ed25519', s)))
  const ids = keys.map((k) => peerIdFromPrivateKey(k).toString())
  let nowMs = 0
  const machines = keys.map(
    (key, i) =>
      new ConclaveMachine(
        {
          id: ids[i] as string,
          bootEpoch: 1,
          rng: rng.fork(),
          signer: ed25519Signer(key),
          config: localConclaveConfig(),
          addrs: [`/ip4/127.0.0.1/tcp/${40000 + i}`],
          stored: new Map(),
          priority: i === 1 ? 10 : 0,
          observer: i === voters,
          bootstrap: { bootstrapExpect: voters, seeds: ids.filter((_, j) => j !== i) },
        },
        nowMs,
      ),
  )
  const byId = new Map(ids.map((id, i) => [id, machines[i] as ConclaveMachine]))
  const kept = new Map<string, SeedFrame[]>()
  const seen = new Map<string, number>()
  const keep = (from: number, out: Outbound) => {
    const type = `${out.layer}/${out.type}`
    const n = (seen.get(type) ?? 0) + 1
    seen.set(type, n)
    const list = kept.get(type) ?? []
    if (list.length < PER_TYPE_MAX / 2 || (list.length < PER_TYPE_MAX && n % 7 === 0)) {
      list.push({ from, layer: out.layer, type, bytes: out.bytes.slice() })
      kept.set(type, list)
    }
  }
  let queue: Array<{ from: string; out: Outbound }> = []
  const stepMs = 5
  for (; nowMs <= simulatedMs; nowMs += stepMs) {
    for (const [i, m] of machines.entries()) {
      if (m.nextTickAtMs() <= nowMs) m.tick(nowMs)
      for (const out of m.drain().send) {
        keep(i, out)
        queue.push({ from: ids[i] as string, out })
      }
    }
    const deliver = queue
    queue = []
    for (const { from, out } of deliver) byId.get(out.to)?.receive(from, out.layer, out.bytes, nowMs)
  }
  const frames = [...kept.values()].flat()
  return { frames, keys, types: Object.fromEntries([...kept].map(([t, l]) => [t, l.length])) }
}
