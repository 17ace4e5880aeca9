/**
 * Topology view: one card per shard, one dot per node, coloured by membership state; rings mark
 * the shard leaders and the global leader, a cross marks a crashed process. Drawn on one canvas,
 * so 1000 nodes is a few thousand arcs per frame. Past `aggregateAbove` nodes each shard becomes
 * a single tile shaded by its share of live members, so the page degrades instead of freezing.
 */
import type { NodeRow, ShardView, ViewFrame } from '../model/view-frame.js'
import { COLORS, STATE_COLORS } from './format.js'

const FLAG_GLOBAL_LEADER = 1
const FLAG_SHARD_LEADER = 2
const FLAG_CRASHED = 4

interface Hit {
  readonly x: number
  readonly y: number
  readonly r: number
  readonly id: string
}

interface Group {
  readonly key: number
  readonly label: string
  readonly shard: ShardView | undefined
  readonly nodes: NodeRow[]
}

export class TopologyView {
  private hits: Hit[] = []
  aggregateAbove = 2000

  constructor(
    private readonly canvas: HTMLCanvasElement,
    onSelect: (id: string) => void,
  ) {
    canvas.addEventListener('click', (e) => {
      const rect = canvas.getBoundingClientRect()
      const x = e.clientX - rect.left
      const y = e.clientY - rect.top
      let best: Hit | null = null
      let bestD = Number.POSITIVE_INFINITY
      for (const h of this.hits) {
        const d = (h.x - x) ** 2 + (h.y - y) ** 2
        if (d <= (h.r + 3) ** 2 && d < bestD) {
          best = h
          bestD = d
        }
      }
      if (best) onSelect(best.id)
    })
  }

  /** Page coordinates of a node's dot (for tests and tooltips). */
  positionOf(id: string): { x: number; y: number } | null {
    const h = this.hits.find((hit) => hit.id === id)
    return h ? { x: h.x, y: h.y } : null
  }

  render(frame: ViewFrame, selected: string | null): void {
    const width = this.canvas.parentElement?.clientWidth ?? 800
    const groups = groupNodes(frame)
    const aggregate = frame.nodes.length > this.aggregateAbove
    const dense = frame.nodes.length > 300
    const dot = dense ? 9 : 14
    const step = dot + (dense ? 4 : 6)
    const cols = 5
    const cardW = aggregate ? 46 : cols * step + 16
    const gap = 8

    // Layout pass: card rectangles in reading order; the unassigned group spans the full width.
    const rects: { g: Group; x: number; y: number; w: number; h: number }[] = []
    let x = 0
    let y = 0
    let rowH = 0
    for (const g of groups) {
      const wide = g.key < 0
      const w = wide ? width : cardW
      const inner = wide ? Math.max(1, Math.floor((width - 16) / step)) : cols
      const h = aggregate && !wide ? 34 : 24 + Math.ceil(g.nodes.length / inner) * step + 6
      if (x > 0 && (wide || x + w > width)) {
        x = 0
        y += rowH + gap
        rowH = 0
      }
      rects.push({ g, x, y, w, h })
      x += w + gap
      rowH = Math.max(rowH, h)
      if (wide) x = width + 1
    }
    const height = y + rowH + 4

    const ratio = window.devicePixelRatio || 1
    this.canvas.width = Math.floor(width * ratio)
    this.canvas.height = Math.floor(height * ratio)
    this.canvas.style.width = `${width}px`
    this.canvas.style.height = `${height}px`
    const ctx = this.canvas.getContext('2d')!
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0)
    ctx.clearRect(0, 0, width, height)
    this.hits = []

    for (const { g, x: cx, y: cy, w, h } of rects) {
      const failing = g.shard?.failing ?? false
      ctx.fillStyle = failing ? '#fff6f6' : '#fafbfc'
      ctx.strokeStyle = failing ? COLORS.dead : COLORS.line
      ctx.lineWidth = 1
      roundRect(ctx, cx + 0.5, cy + 0.5, w - 1, h - 1, 7)
      ctx.fill()
      ctx.stroke()
      ctx.fillStyle = COLORS.shard
      ctx.font = '600 11px system-ui, sans-serif'
      ctx.textBaseline = 'middle'
      ctx.fillText(g.label, cx + 8, cy + 11)
      if (g.shard) {
        ctx.fillStyle = COLORS.muted
        ctx.font = '10px system-ui, sans-serif'
        // Tiles (aggregated) are too narrow for the term: it is in the node detail and timeline.
        if (!aggregate) {
          const termText = `t${g.shard.term}`
          ctx.fillText(termText, cx + w - 8 - ctx.measureText(termText).width, cy + 11)
        }
        // Lease bar: the shard leader's lease left, full at 1 s.
        const frac = Math.min(1, g.shard.leaseLeftMs / 1000)
        ctx.fillStyle = '#e9ecf2'
        ctx.fillRect(cx + 8, cy + 19, w - 16, 2)
        ctx.fillStyle = frac > 0 ? COLORS.alive : COLORS.dead
        ctx.fillRect(cx + 8, cy + 19, (w - 16) * frac, 2)
      }
      if (aggregate && g.key >= 0) {
        const live = g.shard ? g.shard.live / Math.max(1, g.shard.size) : 1
        ctx.fillStyle = live >= 1 ? COLORS.alive : live > 0.5 ? COLORS.suspect : COLORS.dead
        ctx.fillRect(cx + 8, cy + 24, (w - 16) * live, 5)
        continue
      }
      const inner = g.key < 0 ? Math.max(1, Math.floor((w - 16) / step)) : cols
      g.nodes.forEach((n, i) => {
        const px = cx + 8 + (i % inner) * step + step / 2
        const py = cy + 24 + Math.floor(i / inner) * step + step / 2
        this.drawNode(ctx, n, px, py, dot / 2, n[0] === selected)
      })
    }
  }

  private drawNode(
    ctx: CanvasRenderingContext2D,
    n: NodeRow,
    x: number,
    y: number,
    r: number,
    selected: boolean,
  ): void {
    const flags = n[4]
    ctx.beginPath()
    ctx.arc(x, y, r, 0, Math.PI * 2)
    ctx.fillStyle = STATE_COLORS[n[1]] ?? COLORS.left
    ctx.fill()
    if (flags & FLAG_GLOBAL_LEADER) {
      ctx.lineWidth = 3
      ctx.strokeStyle = COLORS.global
      ctx.beginPath()
      ctx.arc(x, y, r + 2.5, 0, Math.PI * 2)
      ctx.stroke()
    } else if (flags & FLAG_SHARD_LEADER) {
      ctx.lineWidth = 2
      ctx.strokeStyle = COLORS.shard
      ctx.beginPath()
      ctx.arc(x, y, r + 1.5, 0, Math.PI * 2)
      ctx.stroke()
    }
    if (flags & FLAG_CRASHED) {
      ctx.strokeStyle = '#fff'
      ctx.lineWidth = 1.6
      const d = r * 0.55
      ctx.beginPath()
      ctx.moveTo(x - d, y - d)
      ctx.lineTo(x + d, y + d)
      ctx.moveTo(x + d, y - d)
      ctx.lineTo(x - d, y + d)
      ctx.stroke()
    }
    if (selected) {
      ctx.lineWidth = 1.5
      ctx.strokeStyle = COLORS.accent
      ctx.setLineDash([2, 2])
      ctx.beginPath()
      ctx.arc(x, y, r + 5, 0, Math.PI * 2)
      ctx.stroke()
      ctx.setLineDash([])
    }
    this.hits.push({ x, y, r, id: n[0] })
  }
}

function groupNodes(frame: ViewFrame): Group[] {
  const byShard = new Map<number, NodeRow[]>()
  for (const n of frame.nodes) {
    const list = byShard.get(n[2]) ?? []
    list.push(n)
    byShard.set(n[2], list)
  }
  const shards = new Map(frame.shards.map((s) => [s.shard, s]))
  const groups: Group[] = [...byShard.entries()]
    .sort((a, b) => (a[0] < 0 ? 1 : b[0] < 0 ? -1 : a[0] - b[0]))
    .map(([key, nodes]) => ({
      key,
      label: key < 0 ? `not in a shard · ${nodes.length}` : `#${key}`,
      shard: shards.get(key),
      // By id: every dot keeps its place while scrubbing, whoever leads.
      nodes: nodes.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    }))
  return groups
}

function roundRect(
  ctx: CanvasRenderingContext2D,
  x: number,
  y: number,
  w: number,
  h: number,
  r: number,
): void {
  ctx.beginPath()
  ctx.moveTo(x + r, y)
  ctx.arcTo(x + w, y, x + w, y + h, r)
  ctx.arcTo(x + w, y + h, x, y + h, r)
  ctx.arcTo(x, y + h, x, y, r)
  ctx.arcTo(x, y, x + w, y, r)
  ctx.closePath()
}
