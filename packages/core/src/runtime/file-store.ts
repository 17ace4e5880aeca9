/**
 * Durable key/value store in the data dir for the machines' persist ops (Raft §5.2: currentTerm
 * and votedFor must be on stable storage before a vote leaves).
 *
 * Guarantees: `write(ops)` returns only after every op is durable — each value is written to a
 * temporary file, fsynced, renamed over the old one, and the directory is fsynced — so a crash at
 * any point leaves either the old or the new value of each key, never a torn one. `write` is
 * synchronous (startup, tests); `writeAsync` does the same on libuv's thread pool so the event
 * loop keeps running while the disk works (measured: up to ~100 ms per synchronous persist with
 * 25 nodes on one disk). The driver holds every send that depends on a write until it resolves
 * (runtime/driver.ts) and issues writes one batch at a time.
 *
 * `persist` picks one: synchronous when the data dir is in memory (tmpfs/ramfs: fsync is a no-op
 * and a write costs microseconds), asynchronous otherwise. The asynchronous path is about eight
 * thread-pool round trips (open, write, datasync, close, rename, open dir, sync, close), each
 * waiting for this process to be scheduled again: on a host with load average 50–60 that made a
 * persist — and every vote, which must wait for it — take hundreds of ms (measured: a shard
 * candidate's voters cast their votes p50 2.1 s after it started, 25 nodes, data dirs on tmpfs).
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statfsSync,
  writeFileSync,
} from 'node:fs'
import { open, rename } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { PersistOp } from '../sans-io.js'
import { assert } from '../util/assert.js'

/** Bound on one stored value; the machines persist small records (terms, votes, a control log). */
export const STORED_VALUE_BYTES_MAX = 4 * 1024 * 1024
/** Bound on the number of keys; more is a bug in a machine. */
export const STORED_KEYS_MAX = 10_000

/** statfs(2) f_type of the in-memory file systems (linux/magic.h): TMPFS_MAGIC, RAMFS_MAGIC. */
const MEMORY_FS_TYPES: ReadonlySet<number> = new Set([0x01021994, 0x858458f6])

export class FileStore {
  readonly dir: string
  /** The data dir is in memory (tmpfs/ramfs): `persist` writes synchronously. */
  readonly inMemory: boolean

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'state')
    mkdirSync(this.dir, { recursive: true })
    this.inMemory = isInMemoryFs(this.dir)
  }

  /** Make ops durable: `write` on an in-memory file system, `writeAsync` on a disk (see top). */
  persist(ops: readonly PersistOp[]): void | Promise<void> {
    return this.inMemory ? this.write(ops) : this.writeAsync(ops)
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

  /**
   * Same result as `write`, without blocking the event loop: the ops' temp files are written and
   * fdatasynced in parallel, renamed, then the directory is fsynced once. Resolves when durable.
   * The caller must not start another write before this one resolves (the driver chains them).
   */
  async writeAsync(ops: readonly PersistOp[]): Promise<void> {
    if (ops.length === 0) return
    // One file per key, in parallel: a key written twice in one batch keeps its last value.
    const last = new Map<string, PersistOp>()
    for (const op of ops) last.set(op.key, op)
    await Promise.all(
      [...last.values()].map(async (op) => {
        assert(op.value.length <= STORED_VALUE_BYTES_MAX, () => `persist ${op.key}: ${op.value.length} B`)
        const file = join(this.dir, encodeKey(op.key))
        const tmp = `${file}.tmp`
        const fh = await open(tmp, 'w')
        try {
          await fh.writeFile(op.value)
          await fh.datasync()
        } finally {
          await fh.close()
        }
        return [tmp, file] as const
      }),
    ).then(async (pairs) => {
      for (const [tmp, file] of pairs) await rename(tmp, file)
    })
    const dh = await open(this.dir, 'r')
    try {
      await dh.sync()
    } finally {
      await dh.close()
    }
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

/** True when `dir` is on tmpfs or ramfs (false when statfs is unavailable or fails). */
export function isInMemoryFs(dir: string): boolean {
  try {
    return MEMORY_FS_TYPES.has(statfsSync(dir).type)
  } catch {
    return false
  }
}
