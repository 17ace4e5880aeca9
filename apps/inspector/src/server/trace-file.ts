/**
 * Loads a JSON-lines trace file (`{ trueMs, ...event }` per line, as the simulator's `--trace`
 * writes it) into a TraceModel, streaming, so a 1000-node trace never sits in memory as text.
 * Bad lines are counted per error code and the first few are kept for the report; loading goes on.
 */
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import {
  IdInterner,
  parseTraceLine,
  TraceLineError,
  type TraceLineErrorCode,
} from '../model/parse-trace-line.js'
import type { TraceModel } from '../model/trace-model.js'

export interface LoadReport {
  readonly lines: number
  readonly records: number
  readonly rejected: Partial<Record<TraceLineErrorCode, number>>
  /** The first few rejections, verbatim, for the operator. */
  readonly samples: string[]
  readonly elapsedMs: number
}

const SAMPLES_MAX = 5

export async function loadTraceFile(path: string, model: TraceModel): Promise<LoadReport> {
  const started = performance.now()
  const rejected: Partial<Record<TraceLineErrorCode, number>> = {}
  const samples: string[] = []
  let lines = 0
  let records = 0
  const interner = new IdInterner()
  const input = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity })
  for await (const line of input) {
    lines++
    if (line.trim() === '') continue
    try {
      model.append(parseTraceLine(line, lines, interner))
      records++
    } catch (e) {
      if (!(e instanceof TraceLineError)) throw e
      rejected[e.code] = (rejected[e.code] ?? 0) + 1
      if (samples.length < SAMPLES_MAX) samples.push(e.message)
    }
  }
  model.finish()
  return { lines, records, rejected, samples, elapsedMs: performance.now() - started }
}
