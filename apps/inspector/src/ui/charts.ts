/**
 * Three small canvas charts, no library: failover durations (one bar per failover, global in
 * violet, shard in grey), messages per second (cluster on the left axis, busiest node on the
 * right), members by state (stacked areas). The x axis spans the whole trace, so in a replay the
 * series grow as the scrubber moves.
 */
import type { ViewFrame } from '../model/view-frame.js'
import { COLORS } from './format.js'

interface Box {
  ctx: CanvasRenderingContext2D
  w: number
  h: number
  left: number
  right: number
  top: number
  bottom: number
}

function prepare(canvas: HTMLCanvasElement, left = 38, right = 8): Box {
  const w = canvas.clientWidth || 300
  const h = canvas.clientHeight || 140
  const ratio = window.devicePixelRatio || 1
  canvas.width = Math.floor(w * ratio)
  canvas.height = Math.floor(h * ratio)
  const ctx = canvas.getContext('2d')!
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0)
  ctx.clearRect(0, 0, w, h)
  ctx.font = '10px system-ui, sans-serif'
  return { ctx, w, h, left, right: w - right, top: 6, bottom: h - 16 }
}

function niceMax(v: number): number {
  if (v <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p
  return 10 * p
}

function axes(b: Box, yMax: number, label: (v: number) => string, side: 'left' | 'right' = 'left'): void {
  const { ctx } = b
  ctx.strokeStyle = COLORS.line
  ctx.fillStyle = COLORS.muted
  ctx.lineWidth = 1
  ctx.textBaseline = 'middle'
  for (let i = 0; i <= 2; i++) {
    const y = b.bottom - ((b.bottom - b.top) * i) / 2
    if (side === 'left') {
      ctx.beginPath()
      ctx.moveTo(b.left, Math.round(y) + 0.5)
      ctx.lineTo(b.right, Math.round(y) + 0.5)
      ctx.stroke()
      const t = label((yMax * i) / 2)
      ctx.fillText(t, b.left - 4 - ctx.measureText(t).width, y)
    } else {
      ctx.fillText(label((yMax * i) / 2), b.right + 3, y)
    }
  }
}

function timeAxis(b: Box, frame: ViewFrame): void {
  const { ctx } = b
  ctx.fillStyle = COLORS.muted
  ctx.textBaseline = 'alphabetic'
  const spanS = (frame.endMs - frame.startMs) / 1000
  ctx.fillText('0 s', b.left, b.h - 3)
  const end = `${spanS.toFixed(0)} s`
  ctx.fillText(end, b.right - ctx.measureText(end).width, b.h - 3)
  // The scrub position.
  const x = xOf(b, frame, frame.tMs)
  ctx.strokeStyle = '#c9cfdb'
  ctx.setLineDash([3, 3])
  ctx.beginPath()
  ctx.moveTo(Math.round(x) + 0.5, b.top)
  ctx.lineTo(Math.round(x) + 0.5, b.bottom)
  ctx.stroke()
  ctx.setLineDash([])
}

function xOf(b: Box, frame: ViewFrame, tMs: number): number {
  const span = Math.max(1, frame.endMs - frame.startMs)
  return b.left + ((tMs - frame.startMs) / span) * (b.right - b.left)
}

function empty(b: Box, text: string): void {
  b.ctx.fillStyle = COLORS.muted
  b.ctx.textBaseline = 'middle'
  b.ctx.fillText(text, b.left + 8, (b.top + b.bottom) / 2)
}

export function drawFailovers(canvas: HTMLCanvasElement, frame: ViewFrame): void {
  const b = prepare(canvas, 44)
  const list = frame.failovers
  const yMax = niceMax(Math.max(0, ...list.map((f) => f.durationMs)))
  axes(b, yMax, (v) => (v >= 1000 ? `${+(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`))
  timeAxis(b, frame)
  if (list.length === 0) {
    empty(b, 'no failover yet')
    return
  }
  const barW = Math.max(3, Math.min(14, (b.right - b.left) / Math.max(20, list.length * 2)))
  for (const f of list) {
    const x = xOf(b, frame, f.trueMs)
    const hgt = ((b.bottom - b.top) * f.durationMs) / yMax
    b.ctx.fillStyle = f.scope === 'global' ? COLORS.global : '#b7bdca'
    b.ctx.fillRect(x - barW / 2, b.bottom - hgt, barW, hgt)
  }
}

export function drawRates(canvas: HTMLCanvasElement, frame: ViewFrame): void {
  const b = prepare(canvas, 44, 36)
  const pts = frame.rates
  const clusterMax = niceMax(Math.max(0, ...pts.map((p) => p.clusterPerSec)))
  const busiestMax = niceMax(Math.max(0, ...pts.map((p) => p.busiestPerSec)))
  const fmt = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k` : `${Math.round(v)}`)
  axes(b, clusterMax, fmt)
  b.ctx.fillStyle = COLORS.suspect
  axes(b, busiestMax, fmt, 'right')
  timeAxis(b, frame)
  if (pts.length === 0) {
    empty(b, 'no traffic samples in this trace')
    return
  }
  const line = (get: (p: (typeof pts)[number]) => number, max: number, color: string) => {
    b.ctx.strokeStyle = color
    b.ctx.lineWidth = 1.6
    b.ctx.beginPath()
    pts.forEach((p, i) => {
      const x = xOf(b, frame, p.trueMs + 500)
      const y = b.bottom - ((b.bottom - b.top) * get(p)) / max
      if (i === 0) b.ctx.moveTo(x, y)
      else b.ctx.lineTo(x, y)
    })
    b.ctx.stroke()
  }
  line((p) => p.clusterPerSec, clusterMax, COLORS.accent)
  line((p) => p.busiestPerSec, busiestMax, COLORS.suspect)
}

export function drawMembers(canvas: HTMLCanvasElement, frame: ViewFrame): void {
  const b = prepare(canvas, 44)
  const pts = frame.members
  const total = (p: (typeof pts)[number]) => p.alive + p.suspect + p.dead + p.left
  const yMax = niceMax(Math.max(0, ...pts.map(total)))
  axes(b, yMax, (v) => `${Math.round(v)}`)
  timeAxis(b, frame)
  if (pts.length === 0) {
    empty(b, 'no members yet')
    return
  }
  const layers = [
    ['alive', COLORS.alive],
    ['suspect', COLORS.suspect],
    ['dead', COLORS.dead],
    ['left', COLORS.left],
  ] as const
  const y = (v: number) => b.bottom - ((b.bottom - b.top) * v) / yMax
  // Stacked from the bottom: each layer is the band between the cumulative sums.
  let below = pts.map(() => 0)
  for (const [key, color] of layers) {
    const above = pts.map((p, i) => below[i]! + p[key])
    b.ctx.fillStyle = color
    b.ctx.globalAlpha = 0.85
    b.ctx.beginPath()
    pts.forEach((p, i) => {
      const x = xOf(b, frame, p.trueMs)
      if (i === 0) b.ctx.moveTo(x, y(above[i]!))
      else b.ctx.lineTo(x, y(above[i]!))
    })
    for (let i = pts.length - 1; i >= 0; i--) b.ctx.lineTo(xOf(b, frame, pts[i]!.trueMs), y(below[i]!))
    b.ctx.closePath()
    b.ctx.fill()
    b.ctx.globalAlpha = 1
    below = above
  }
}
