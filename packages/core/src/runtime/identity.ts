/**
 * A node's identity and restart counter in its data dir.
 *
 * Guarantees: the same data dir always yields the same Ed25519 key, hence the same peer id (the
 * NodeId), across restarts; `bootEpoch` is strictly greater on every start (stored durably before
 * it is used), so peers can tell a restarted node from a delayed message of its previous life.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { FileStore } from './file-store.js'

const KEY_FILE = 'peer-key'
const EPOCH_KEY = 'runtime/boot-epoch'

export interface NodeIdentity {
  privateKey: PrivateKey
  /** 1 on the first start, +1 on each start after. */
  bootEpoch: number
}

/** The peer key from the data dir, created (and fsynced) on first use. Ed25519 only. */
export async function loadOrCreatePrivateKey(dataDir: string): Promise<PrivateKey> {
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, KEY_FILE)
  if (existsSync(file)) {
    const key = privateKeyFromProtobuf(new Uint8Array(readFileSync(file)))
    if (key.type !== 'Ed25519') throw new Error(`${file}: ${key.type} key, Conclave needs Ed25519`)
    return key
  }
  const key = await generateKeyPair('Ed25519')
  new FileStore(dataDir).writeRaw(file, privateKeyToProtobuf(key))
  return key
}

/** Reads, increments and durably stores the boot counter; call once per start. */
export function nextBootEpoch(store: FileStore): number {
  const prev = store.load().get(EPOCH_KEY)
  const last = prev ? Number(new TextDecoder().decode(prev)) : 0
  const epoch = (Number.isSafeInteger(last) && last >= 0 ? last : 0) + 1
  store.write([{ key: EPOCH_KEY, value: new TextEncoder().encode(String(epoch)) }])
  return epoch
}

export const RUNTIME_KEY_PREFIX = 'runtime/'
