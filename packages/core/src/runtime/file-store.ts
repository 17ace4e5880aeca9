/**
 * Durable key/value store in the data dir for the machines' persist ops (Raft §5.2: currentTerm
 * and votedFor must be on stable storage before a vote leaves).
 *
 * Guarantees: `write(ops)` returns only after every op is durable — each value is written to a
 * temporary file, fsynced, renamed over the old one, and the directory is fsynced — so a crash at
 * any point leaves either the old or the new value of each key, never a torn one. It is
 * synchronous on purpose: the driver must not send anything before the write finished, and a
 * blocking write makes that ordering impossible to get wrong.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
import type { PersistOp } from '../sans-io.js'
import { assert } from '../util/assert.js'

/** Bound on one stored value; the machines persist small records (terms, votes, a control log). */
export const STORED_VALUE_BYTES_MAX = 4 * 1024 * 1024
/** Bound on the number of keys; more is a bug in a machine. */
export const STORED_KEYS_MAX = 10_000

export class FileStore {
  readonly dir: string

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'state')
    mkdirSync(this.dir, { recursive: true })
  }

  /** Everything written before (for a restarted machine's `stored`). Leftover temp files are ignored. */
  load(): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>()
    for (const name of readdirSync(this.dir)) {
      if (name.endsWith('.tmp')) continue
      out.set(decodeKey(name), new Uint8Array(readFileSync(join(this.dir, name))))
    }
    assert(out.size <= STORED_KEYS_MAX, () => `store holds ${out.size} keys > ${STORED_KEYS_MAX}`)
    return out
  }

  write(ops: readonly PersistOp[]): void {
    if (ops.length === 0) return
    for (const op of ops) {
      assert(op.value.length <= STORED_VALUE_BYTES_MAX, () => `persist ${op.key}: ${op.value.length} B`)
      const file = join(this.dir, encodeKey(op.key))
      const tmp = `${file}.tmp`
      const fd = openSync(tmp, 'w')
      try {
        writeFileSync(fd, op.value)
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(tmp, file)
    }
    fsyncDir(this.dir)
  }

  /** Atomically replaces one file anywhere (the peer key lives beside the state dir). */
  writeRaw(file: string, value: Uint8Array): void {
    const tmp = `${file}.tmp`
    const fd = openSync(tmp, 'w', 0o600)
    try {
      writeFileSync(fd, value)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, file)
    fsyncDir(dirname(file))
  }
}

/** Keys such as `shard/term` become one flat, reversible file name. */
export function encodeKey(key: string): string {
  assert(key.length > 0 && key.length <= 200, () => `bad store key ${JSON.stringify(key)}`)
  return encodeURIComponent(key).replaceAll('.', '%2E')
}

export function decodeKey(name: string): string {
  return decodeURIComponent(name)
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
