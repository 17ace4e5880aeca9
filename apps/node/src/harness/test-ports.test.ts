import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { canBind, TEST_PORT_BLOCKS, testPorts } from './test-ports.js'

const repo = fileURLToPath(new URL('../../../../', import.meta.url))

/** The bench, demo and fuzz defaults (tools/bench cli/demo/diag, tools/fuzz cli), admin included, 100 nodes. */
const TOOL_RANGES = [
  [20_000, 22_100], // demo and diag: base 20000, admin +2000
  [25_000, 25_200], // fuzz: base 25000, admin +100
  [30_000, 32_100], // bench: base 30000, admin +2000
] as const

describe('test port blocks', () => {
  it('are disjoint, clear of the tools, and below the ephemeral range', () => {
    const blocks = Object.entries(TEST_PORT_BLOCKS).map(
      ([name, b]) => [name, b.first, b.first + b.size] as const,
    )
    for (const [name, lo, hi] of blocks) {
      expect(lo, name).toBeGreaterThanOrEqual(1024)
      expect(hi, name).toBeLessThanOrEqual(32_768)
      for (const [other, olo, ohi] of blocks)
        if (other !== name) expect(hi <= olo || ohi <= lo, `${name} overlaps ${other}`).toBe(true)
      for (const [tlo, thi] of TOOL_RANGES)
        expect(hi <= tlo || thi <= lo, `${name} overlaps a tool`).toBe(true)
    }
  })

  it('a slot lies in its block; the same pid gets the same slot, the next pid the next one', async () => {
    const free = async () => true
    const a = await testPorts('cluster', 5, 4242, free)
    expect(a.adminBasePort).toBe(a.basePort + 5)
    expect(a.basePort).toBeGreaterThanOrEqual(TEST_PORT_BLOCKS.cluster.first)
    expect(a.adminBasePort + 5).toBeLessThanOrEqual(
      TEST_PORT_BLOCKS.cluster.first + TEST_PORT_BLOCKS.cluster.size,
    )
    expect((await testPorts('cluster', 5, 4242, free)).basePort).toBe(a.basePort)
    const b = await testPorts('cluster', 5, 4243, free)
    expect(Math.abs(b.basePort - a.basePort)).toBeGreaterThanOrEqual(10)
  })

  it('skips a slot with a port that is taken, on the real network stack', async () => {
    const first = await testPorts('cluster', 5)
    const holder: Server = createServer()
    await new Promise<void>((r) => holder.listen({ port: first.adminBasePort + 2, host: '127.0.0.1' }, r))
    try {
      expect(await canBind(first.adminBasePort + 2)).toBe(false)
      const next = await testPorts('cluster', 5)
      expect(next.basePort).not.toBe(first.basePort)
      expect(
        next.basePort > first.adminBasePort + 2 || next.adminBasePort + 5 <= first.adminBasePort + 2,
      ).toBe(true)
    } finally {
      await new Promise((r) => holder.close(r))
    }
    expect(await canBind(first.adminBasePort + 2)).toBe(true)
  })

  it('spare ports: outside the slot, in the block, free when asked, each once, then none', async () => {
    const block = TEST_PORT_BLOCKS.fuzz
    const taken = new Set<number>()
    const isFree = async (p: number) => !taken.has(p)
    const slot = await testPorts('fuzz', 100, 3, isFree) // 200 ports: 5 slots, pid 3 takes the 4th
    expect(slot.basePort).toBe(block.first + 600)
    taken.add(block.first + 801) // the second port after the slot is held by someone else
    const spares: number[] = []
    for (let p = await slot.sparePort(); p !== undefined; p = await slot.sparePort()) spares.push(p)
    expect(spares.slice(0, 3)).toEqual([block.first + 800, block.first + 802, block.first + 803])
    expect(spares.at(-1)).toBe(block.first + 599) // wrapped round to just before the slot
    expect(spares.length).toBe(block.size - 200 - 1)
    expect(new Set(spares).size).toBe(spares.length)
    expect(spares.every((p) => p >= block.first && p < block.first + block.size)).toBe(true)
    expect(spares.some((p) => p >= slot.basePort && p < slot.basePort + 200)).toBe(false)
  })

  it('throws when no slot is free', async () => {
    await expect(testPorts('fuzz', 5, 1, async () => false)).rejects.toThrow(/no free slot/)
  })

  it('every test that starts nodes on fixed ports takes them from testPorts', () => {
    const files: string[] = []
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.name === 'node_modules' || e.name.startsWith('.')) continue
        const p = join(d, e.name)
        if (e.isDirectory()) walk(p)
        else if (e.name.endsWith('.test.ts')) files.push(p)
      }
    }
    for (const top of ['apps', 'packages', 'tools']) walk(join(repo, top))
    const offenders = files.filter((f) => {
      const text = readFileSync(f, 'utf8')
      return /basePort:\s*\d|basePort:\s*base\b|new LocalCluster\(\{[^}]*basePort: *\d/.test(text)
    })
    expect(offenders.map((f) => relative(repo, f))).toEqual([])
    expect(files.length).toBeGreaterThan(20)
  })
})
