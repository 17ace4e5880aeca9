import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { syntheticTrace } from '../testing/synthetic-trace.js'
import { parseTraceLine, TRACE_LINE_BYTES_MAX, TraceLineError } from './parse-trace-line.js'

function codeOf(line: string): string {
  try {
    parseTraceLine(line, 1)
    return 'ok'
  } catch (e) {
    if (e instanceof TraceLineError) return e.code
    throw e
  }
}

describe('parseTraceLine', () => {
  it('accepts every record the synthetic trace writes, unchanged', () => {
    for (const r of syntheticTrace({ nodes: 8, seed: 1 })) {
      expect(parseTraceLine(JSON.stringify(r), 1)).toEqual(r)
    }
  })

  it.each([
    ['{', 'bad-json'],
    ['[1,2]', 'not-object'],
    ['{"kind":"member:teleport","trueMs":1}', 'unknown-kind'],
    ['{"kind":"member:join","trueMs":1,"node":"a","atMs":1,"member":"b"}', 'bad-field'],
    ['{"kind":"shard:role","trueMs":1,"node":"a","atMs":1,"shard":0,"term":1,"role":"king"}', 'bad-field'],
    ['{"kind":"member:refute","node":"a","atMs":1,"incarnation":2}', 'bad-field'],
    [`{"kind":"x","pad":"${'a'.repeat(TRACE_LINE_BYTES_MAX)}"}`, 'too-long'],
  ])('rejects %s as %s', (line, code) => {
    expect(codeOf(line)).toBe(code)
  })

  it('turns the simulator’s own fault records into sim:fault', () => {
    expect(parseTraceLine('{"trueMs":5,"kind":"pause","node":"a","durationMs":2000}', 1)).toEqual({
      kind: 'sim:fault',
      trueMs: 5,
      fault: 'pause',
      node: 'a',
      detail: '2000 ms',
    })
  })

  it('never throws anything but a TraceLineError on arbitrary or mutated input', () => {
    const valid = JSON.stringify(syntheticTrace({ nodes: 4, seed: 2 })[10])
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc
            .tuple(fc.nat(valid.length), fc.string({ maxLength: 3 }))
            .map(([i, s]) => valid.slice(0, i) + s + valid.slice(i + 1)),
        ),
        (line) => {
          expect(['ok', 'bad-json', 'not-object', 'unknown-kind', 'bad-field', 'too-long']).toContain(
            codeOf(line),
          )
        },
      ),
      { numRuns: 10_000 },
    )
  })
})
