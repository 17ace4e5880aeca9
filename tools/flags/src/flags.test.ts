import { describe, expect, it } from 'vitest'
import { FlagError, intFlag, optionsIn, parseFlags } from './flags.js'

const USAGE = 'pnpm tool --nodes N [--base-port P] [--json]'
const known = optionsIn(USAGE)

describe('tool flags', () => {
  it('takes the options a usage text names', () => {
    expect([...known].sort()).toEqual(['base-port', 'json', 'nodes'])
  })

  it('reads --k v, --k=v, bare --k, and skips a lone --', () => {
    const f = parseFlags(['--', '--nodes', '5', '--base-port=24000', '--json'], known, USAGE)
    expect(Object.fromEntries(f)).toEqual({ nodes: '5', 'base-port': '24000', json: 'true' })
  })

  it('refuses an option the usage does not name, and a stray word, with the usage', () => {
    expect(() => parseFlags(['--node', '5'], known, USAGE)).toThrow(FlagError)
    expect(() => parseFlags(['--node', '5'], known, USAGE)).toThrow(/unknown option --node\n.*--nodes N/)
    expect(() => parseFlags(['5'], known, USAGE)).toThrow(/unexpected argument 5/)
  })

  it('bounds integers and keeps the default when absent', () => {
    const f = parseFlags(['--nodes', '7', '--base-port', '80'], known, USAGE)
    expect(intFlag(f, 'nodes', 25, 1, 500)).toBe(7)
    expect(intFlag(f, 'json', 3, 1, 5)).toBe(3)
    expect(() => intFlag(f, 'base-port', 30000, 1024, 60000)).toThrow(/\[1024, 60000\], got 80/)
    expect(() => intFlag(parseFlags(['--nodes', '2.5'], known, USAGE), 'nodes', 1, 1, 9)).toThrow(FlagError)
  })
})
