/**
 * The timeline picture of one schedule: one row per node over host time; the global lease as a
 * bar coloured by term (one colour per term, the term written on it), the process down or
 * paused as grey, the faults shaded behind the rows they hit with their names on top, the heal
 * as a dashed line, the moment every running node knew the leader as a green line, violations
 * as red marks. Pure: from the recorded history to an SVG string.
 */
import type { LeaseSpan, Violation } from './checker.js'
import type { ProcEvent } from './netns-cluster.js'

export interface FaultSpan {
  label: string
  nodes: number[]
  fromMs: number
  toMs: number
}

export interface TimelineInput {
  title: string
  nodes: number
  fromMs: number
  toMs: number
  spans: readonly LeaseSpan[]
  faults: readonly FaultSpan[]
  procs: readonly ProcEvent[]
  healMs: number | undefined
  agreedMs: number | undefined
  violations: readonly Violation[]
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export function timelineSvg(t: TimelineInput): string {
  const left = 60
  const rowH = 18
  const top = 30 + 14 * Math.max(1, t.faults.length)
  const width = 1200
  const plotW = width - left - 20
  const height = top + t.nodes * rowH + 40
  const spanMs = Math.max(1, t.toMs - t.fromMs)
  const x = (ms: number) => left + (Math.min(Math.max(ms, t.fromMs), t.toMs) - t.fromMs) * (plotW / spanMs)
  const rowY = (n: number) => top + n * rowH
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace" font-size="11" role="img">`,
    `<title>${esc(t.title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="16" font-size="13">${esc(t.title)}</text>`,
  )
  // Faults: shaded over the rows they hit, labelled in the header.
  t.faults.forEach((f, k) => {
    const x0 = x(f.fromMs)
    const x1 = Math.max(x0 + 1, x(f.toMs))
    const hue = (k * 67) % 360
    for (const n of f.nodes)
      out.push(
        `<rect x="${x0.toFixed(1)}" y="${rowY(n)}" width="${(x1 - x0).toFixed(1)}" height="${rowH}" fill="hsl(${hue},70%,60%)" fill-opacity="0.25"/>`,
      )
    out.push(
      `<rect x="${x0.toFixed(1)}" y="${24 + k * 14}" width="${(x1 - x0).toFixed(1)}" height="10" fill="hsl(${hue},70%,60%)" fill-opacity="0.6"/>`,
      `<text x="${(x0 + 3).toFixed(1)}" y="${33 + k * 14}">${esc(f.label)}</text>`,
    )
  })
  for (let n = 0; n < t.nodes; n++) {
    out.push(
      `<text x="4" y="${rowY(n) + 13}">n${n}</text>`,
      `<line x1="${left}" x2="${left + plotW}" y1="${rowY(n) + rowH}" y2="${rowY(n) + rowH}" stroke="#eee"/>`,
    )
  }
  // Process down / paused: grey bars.
  const byNode = new Map<number, ProcEvent[]>()
  for (const e of t.procs) {
    let l = byNode.get(e.node)
    if (!l) {
      l = []
      byNode.set(e.node, l)
    }
    l.push(e)
  }
  for (const [n, events] of byNode) {
    events.sort((a, b) => a.hostMs - b.hostMs)
    events.forEach((e, k) => {
      if (e.state !== 'down' && e.state !== 'stopped') return
      const end = events[k + 1]?.hostMs ?? t.toMs
      const x0 = x(e.hostMs)
      out.push(
        `<rect x="${x0.toFixed(1)}" y="${rowY(n) + 6}" width="${Math.max(1, x(end) - x0).toFixed(1)}" height="6" fill="${e.state === 'down' ? '#888' : '#bbb'}"><title>${e.state}${e.unexpected ? ` (${esc(e.unexpected)})` : ''}</title></rect>`,
      )
    })
  }
  // Leases, coloured by term.
  for (const s of t.spans) {
    if (s.toMs < t.fromMs || s.fromMs > t.toMs) continue
    const x0 = x(s.fromMs)
    const w = Math.max(1, x(s.toMs) - x0)
    const hue = (s.term * 137) % 360
    out.push(
      `<rect x="${x0.toFixed(1)}" y="${rowY(s.node) + 2}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="hsl(${hue},65%,45%)"><title>n${s.node} term ${s.term}</title></rect>`,
    )
    if (w > 24)
      out.push(`<text x="${(x0 + 2).toFixed(1)}" y="${rowY(s.node) + 13}" fill="#fff">t${s.term}</text>`)
  }
  const bottom = rowY(t.nodes)
  if (t.healMs !== undefined)
    out.push(
      `<line x1="${x(t.healMs)}" x2="${x(t.healMs)}" y1="${top - 4}" y2="${bottom}" stroke="#000" stroke-dasharray="4 3"/>`,
      `<text x="${x(t.healMs) + 2}" y="${bottom + 12}">healed</text>`,
    )
  if (t.agreedMs !== undefined)
    out.push(
      `<line x1="${x(t.agreedMs)}" x2="${x(t.agreedMs)}" y1="${top - 4}" y2="${bottom}" stroke="#0a0"/>`,
      `<text x="${x(t.agreedMs) - 2}" y="${bottom + 24}" fill="#0a0" text-anchor="end">leader known to all (+${t.healMs === undefined ? '?' : Math.round(t.agreedMs - t.healMs)} ms)</text>`,
    )
  for (const v of t.violations)
    out.push(
      `<circle cx="${x(v.atHostMs).toFixed(1)}" cy="${top - 8}" r="4" fill="#d00"><title>${esc(`${v.kind}: ${v.detail}`)}</title></circle>`,
    )
  // Time axis: seconds from the schedule's start.
  for (let s = 0; s * 1000 <= spanMs; s += spanMs > 60_000 ? 10 : spanMs > 20_000 ? 5 : 1) {
    const xs = x(t.fromMs + s * 1000)
    out.push(
      `<line x1="${xs}" x2="${xs}" y1="${bottom}" y2="${bottom + 4}" stroke="#000"/>`,
      `<text x="${xs - 6}" y="${bottom + 36}">${s}s</text>`,
    )
  }
  out.push('</svg>')
  return out.join('\n')
}
