/**
 * FileStore.persist: synchronous on an in-memory file system (tmpfs), asynchronous on a disk, and
 * in both cases every op is readable by a new store on the same dir once persist returns/resolves.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FileStore, isInMemoryFs } from './file-store.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempIn(parent: string): string {
  const d = mkdtempSync(join(parent, 'conclave-store-'))
  dirs.push(d)
  return d
}

const ops = [
  { key: 'shard/term', value: new Uint8Array([1, 2, 3]) },
  { key: 'shard/term', value: new Uint8Array([4]) },
  { key: 'global/vote', value: new Uint8Array([9]) },
]

describe('FileStore.persist', () => {
  it.skipIf(!existsSync('/dev/shm') || !isInMemoryFs('/dev/shm'))(
    'writes synchronously on tmpfs: durable when it returns',
    () => {
      const store = new FileStore(tempIn('/dev/shm'))
      expect(store.inMemory).toBe(true)
      expect(store.persist(ops)).toBeUndefined()
      const loaded = new FileStore(store.dir.replace(/\/state$/, '')).load()
      expect([...(loaded.get('shard/term') ?? [])]).toEqual([4])
      expect([...(loaded.get('global/vote') ?? [])]).toEqual([9])
    },
  )

  it.skipIf(isInMemoryFs(tmpdir()))('writes asynchronously on a disk: durable when it resolves', async () => {
    const store = new FileStore(tempIn(tmpdir()))
    expect(store.inMemory).toBe(false)
    const pending = store.persist(ops)
    expect(pending).toBeInstanceOf(Promise)
    await pending
    const loaded = new FileStore(store.dir.replace(/\/state$/, '')).load()
    expect([...(loaded.get('shard/term') ?? [])]).toEqual([4])
    expect([...(loaded.get('global/vote') ?? [])]).toEqual([9])
  })
})
