/**
 * Parses one JSON line of a trace file into a TraceRecord. A trace file is input, not code: every
 * field the model reads is checked for presence and type, and a bad line becomes a typed
 * TraceLineError that the reader counts and reports — never a crash, never a silent drop.
 * Kinds this inspector does not know (a newer simulator) are reported as `unknown-kind`, so the
 * caller can count them separately and keep going.
 */
import type { EventKind, TraceRecord } from './trace-record.js'

type FieldType =
  | 'string'
  | 'number'
  | 'optional-string'
  | 'optional-number'
  | 'optional-strings'
  | 'optional-boolean'
type FieldSpec = readonly [name: string, type: FieldType | readonly string[]]

const MEMBER_STATES = ['alive', 'suspect', 'dead', 'left'] as const
const ROLES = ['follower', 'precandidate', 'candidate', 'leader', 'observer'] as const
const SCOPES = ['shard', 'global'] as const
const FAULTS = ['crash', 'restart', 'pause', 'resume', 'partition', 'heal', 'loss', 'add'] as const

const BASE: FieldSpec[] = [
  ['node', 'string'],
  ['atMs', 'number'],
]

const SCHEMA: Record<EventKind, readonly FieldSpec[]> = {
  'member:state': [
    ...BASE,
    ['member', 'string'],
    ['state', MEMBER_STATES],
    ['incarnation', 'number'],
    ['via', 'string'],
  ],
  'member:join': [...BASE, ['member', 'string'], ['incarnation', 'number']],
  'member:refute': [...BASE, ['incarnation', 'number']],
  'health:change': [...BASE, ['score', 'number']],
  'wire:reject': [...BASE, ['from', 'string'], ['code', 'string']],
  'shard:role': [...BASE, ['shard', 'number'], ['term', 'number'], ['role', ROLES]],
  'shard:leader': [...BASE, ['shard', 'number'], ['term', 'number'], ['leader', 'string']],
  'lease:hold': [
    ...BASE,
    ['scope', SCOPES],
    ['shard', 'number'],
    ['term', 'number'],
    ['fromMs', 'number'],
    ['untilMs', 'number'],
  ],
  'lease:end': [...BASE, ['scope', SCOPES], ['shard', 'number'], ['term', 'number']],
  'vote:cast': [...BASE, ['scope', SCOPES], ['shard', 'number'], ['term', 'number'], ['candidate', 'string']],
  'global:vote': [...BASE, ['shard', 'number'], ['term', 'number'], ['candidate', 'string']],
  'global:leader': [...BASE, ['term', 'number'], ['leader', 'string']],
  'global:known': [...BASE, ['term', 'number'], ['leader', 'string']],
  'shardmap:commit': [...BASE, ['index', 'number'], ['change', 'string']],
  'sim:fault': [
    ['fault', FAULTS],
    ['node', 'optional-string'],
    ['detail', 'optional-string'],
  ],
  'net:sample': [
    ['node', 'string'],
    ['windowMs', 'number'],
    ['msgs', 'number'],
    ['bytes', 'number'],
  ],
  'node:meta': [
    ['node', 'string'],
    ['priority', 'optional-number'],
    ['addrs', 'optional-strings'],
    ['roles', 'optional-strings'],
    ['observer', 'optional-boolean'],
  ],
}

/** A line longer than this is refused before JSON.parse (bounds memory per line). */
export const TRACE_LINE_BYTES_MAX = 64 * 1024

export type TraceLineErrorCode = 'too-long' | 'bad-json' | 'not-object' | 'unknown-kind' | 'bad-field'

export class TraceLineError extends Error {
  override readonly name = 'TraceLineError'
  constructor(
    readonly code: TraceLineErrorCode,
    readonly lineNo: number,
    detail: string,
  ) {
    super(`trace line ${lineNo}: ${code}: ${detail}`)
  }
}

function fieldOk(value: unknown, type: FieldSpec[1]): boolean {
  if (typeof type !== 'string') return typeof value === 'string' && type.includes(value)
  switch (type) {
    case 'string':
      return typeof value === 'string'
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    case 'optional-string':
      return value === undefined || typeof value === 'string'
    case 'optional-number':
      return value === undefined || (typeof value === 'number' && Number.isFinite(value))
    case 'optional-boolean':
      return value === undefined || typeof value === 'boolean'
    case 'optional-strings':
      return value === undefined || (Array.isArray(value) && value.every((v) => typeof v === 'string'))
  }
}

/**
 * The simulator writes its injected faults as `{ trueMs, kind: 'crash', node, durationMs, … }`
 * (packages/sim trace.ts FaultRecord); they become `sim:fault` records here.
 */
function fromSimFault(obj: Record<string, unknown>): Record<string, unknown> {
  const details: string[] = []
  if (typeof obj.durationMs === 'number') details.push(`${obj.durationMs} ms`)
  if (typeof obj.lossRate === 'number') details.push(`loss ${obj.lossRate}`)
  if (Array.isArray(obj.groupA) && Array.isArray(obj.groupB)) {
    details.push(`${obj.groupA.length} | ${obj.groupB.length}${obj.oneWay === true ? ' one-way' : ''}`)
  }
  return {
    kind: 'sim:fault',
    trueMs: obj.trueMs,
    fault: obj.kind,
    ...(typeof obj.node === 'string' ? { node: obj.node } : {}),
    ...(details.length > 0 ? { detail: details.join(', ') } : {}),
  }
}

/** Fields holding node ids: the same 52-char ids recur in every record, so they are interned. */
const ID_FIELDS = ['node', 'member', 'via', 'leader', 'candidate', 'from'] as const

/**
 * Keeps one copy of each node id string. JSON.parse makes a fresh string per occurrence; a
 * 1000-node trace has millions of occurrences of 1000 ids (measured: ~1.3 GB heap without it).
 * Bounded: past idsMax distinct strings, new ones are no longer interned (still correct).
 */
export class IdInterner {
  private readonly ids = new Map<string, string>()
  constructor(private readonly idsMax = 1_000_000) {}

  intern(id: string): string {
    const known = this.ids.get(id)
    if (known !== undefined) return known
    if (this.ids.size < this.idsMax) this.ids.set(id, id)
    return id
  }
}

/** Checks an already-decoded object (live events arrive as objects, not lines). */
export function toTraceRecord(value: unknown, lineNo: number, interner?: IdInterner): TraceRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TraceLineError('not-object', lineNo, 'expected a JSON object')
  }
  let obj = value as Record<string, unknown>
  if (typeof obj.kind === 'string' && (FAULTS as readonly string[]).includes(obj.kind))
    obj = fromSimFault(obj)
  const kind = obj.kind
  if (typeof kind !== 'string' || !Object.hasOwn(SCHEMA, kind)) {
    throw new TraceLineError('unknown-kind', lineNo, String(kind))
  }
  if (!fieldOk(obj.trueMs, 'number')) throw new TraceLineError('bad-field', lineNo, 'trueMs')
  for (const [name, type] of SCHEMA[kind as EventKind]) {
    if (!fieldOk(obj[name], type)) throw new TraceLineError('bad-field', lineNo, `${kind}.${name}`)
  }
  if (interner) {
    for (const f of ID_FIELDS) {
      const v = obj[f]
      if (typeof v === 'string') obj[f] = interner.intern(v)
    }
  }
  return obj as unknown as TraceRecord
}

export function parseTraceLine(line: string, lineNo: number, interner?: IdInterner): TraceRecord {
  if (line.length > TRACE_LINE_BYTES_MAX) throw new TraceLineError('too-long', lineNo, `${line.length} chars`)
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    throw new TraceLineError('bad-json', lineNo, line.slice(0, 60))
  }
  return toTraceRecord(value, lineNo, interner)
}
