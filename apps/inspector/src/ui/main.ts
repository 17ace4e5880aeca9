/**
 * The page controller: asks the server for the frame at the scrub position and renders it.
 * Replay: the scrubber, play/pause and speed move t; at most one frame request is in flight and
 * the newest wanted t wins, so playing at speed never queues work. Live: frames pushed over SSE
 * are drawn while following the head; touching the scrubber stops following ("● live" resumes).
 */
import type { NodeDetail, ViewFrame } from '../model/view-frame.js'
import { drawFailovers, drawMembers, drawRates } from './charts.js'
import { el, ms, relSeconds, STATE_COLORS, shortId } from './format.js'
import { renderDetail } from './node-detail.js'
import { renderTimeline } from './timeline.js'
import { TopologyView } from './topology.js'

interface Meta {
  mode: 'replay' | 'live'
  startMs: number
  endMs: number
  totalRecords: number
  nodes: number
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T

const ui = {
  meta: null as Meta | null,
  frame: null as ViewFrame | null,
  tMs: 0,
  playing: false,
  speed: 1,
  selected: null as string | null,
  clusterOnly: false,
  following: true,
  inFlight: false,
  wantedT: null as number | null,
}

const topology = new TopologyView($<HTMLCanvasElement>('topology'), (id) => select(id))
// For the end-to-end tests: where a node is drawn, and what is shown.
Object.assign(window, { __inspector: { ui, topology } })

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path)
  if (!res.ok) throw new Error(`${path}: ${res.status}`)
  return (await res.json()) as T
}

function requestFrame(tMs: number | null): void {
  ui.wantedT = tMs ?? Number.NaN
  if (ui.inFlight) return
  void pump()
}

async function pump(): Promise<void> {
  while (ui.wantedT !== null) {
    const t = ui.wantedT
    ui.wantedT = null
    ui.inFlight = true
    try {
      const q = Number.isNaN(t) ? '' : `t=${Math.round(t)}&`
      render(await getJson<ViewFrame>(`/api/frame?${q}level=${ui.clusterOnly ? 1 : 2}`))
    } catch (e) {
      console.error(e)
    } finally {
      ui.inFlight = false
    }
  }
}

function render(frame: ViewFrame): void {
  ui.frame = frame
  if (!ui.playing) ui.tMs = frame.tMs
  renderHeader(frame)
  topology.render(frame, ui.selected)
  renderTimeline($<HTMLOListElement>('timeline'), frame, (id) => select(id))
  drawFailovers($<HTMLCanvasElement>('chart-failovers'), frame)
  drawRates($<HTMLCanvasElement>('chart-rates'), frame)
  drawMembers($<HTMLCanvasElement>('chart-members'), frame)
  const span = Math.max(1, frame.endMs - frame.startMs)
  $<HTMLInputElement>('scrubber').value = String(Math.round(((frame.tMs - frame.startMs) / span) * 1000))
  $('clock').textContent =
    `${relSeconds(frame.tMs, frame.startMs)} / ${relSeconds(frame.endMs, frame.startMs)}`
  const gl = frame.failovers.filter((f) => f.scope === 'global').map((f) => f.durationMs)
  $('failover-stats').textContent = gl.length
    ? `· last ${ms(gl[gl.length - 1]!)} · max ${ms(Math.max(...gl))} · n=${gl.length}`
    : ''
  document.body.dataset.tMs = String(frame.tMs)
  document.body.dataset.ready = 'true'
  if (ui.selected) void loadDetail(ui.selected)
}

function renderHeader(frame: ViewFrame): void {
  const leader = $('leader')
  const g = frame.global
  const f = frame.globalFailover
  leader.dataset.leader = g?.leader ?? ''
  leader.dataset.term = String(g?.term ?? 0)
  if (!g) {
    leader.replaceChildren('no global leader yet')
  } else {
    leader.replaceChildren(
      'Global leader ',
      el('b', { title: g.leader }, shortId(g.leader)),
      ' · ',
      el('span', { class: 'term' }, `term ${g.term}`),
      ` · since ${relSeconds(g.sinceMs, frame.startMs)}${g.leaseLeftMs === null ? '' : ` · lease ${g.leaseLeftMs > 0 ? ms(g.leaseLeftMs) : 'expired'}`}`,
    )
  }
  if (f)
    leader.append(
      ' ',
      el('span', { class: 'pill-failing' }, `failover in progress · ${f.cause} · ${ms(f.elapsedMs)}`),
    )
  const c = frame.counts
  $('counts').replaceChildren(
    ...(['alive', 'suspect', 'dead', 'left'] as const).map((k, i) => {
      const dot = el('i')
      dot.style.background = STATE_COLORS[i]!
      return el('span', { class: 'chip', 'data-state': k }, dot, `${c[k]} ${k}`)
    }),
  )
  const failing = frame.shards.filter((s) => s.failing).length
  $('shard-summary').textContent =
    `${frame.nodes.length} nodes · ${frame.shards.length} shards${failing ? ` · ${failing} electing` : ''}`
}

function select(id: string): void {
  ui.selected = id
  void loadDetail(id)
  if (ui.frame) topology.render(ui.frame, id)
}

async function loadDetail(id: string): Promise<void> {
  const t = ui.frame?.tMs ?? 0
  try {
    const d = await getJson<NodeDetail>(`/api/node?id=${encodeURIComponent(id)}&t=${t}`)
    renderDetail($('detail'), d, t, ui.frame?.startMs ?? 0, () => {
      ui.selected = null
      $('detail').classList.add('hidden')
      if (ui.frame) topology.render(ui.frame, null)
    })
  } catch {
    $('detail').classList.add('hidden')
  }
}

function setPlaying(on: boolean): void {
  ui.playing = on
  $('play').textContent = on ? '❚❚' : '▶'
  if (on) {
    const m = ui.meta
    if (m && ui.tMs >= m.endMs) ui.tMs = m.startMs
    let last = performance.now()
    const step = (now: number) => {
      if (!ui.playing || !ui.meta) return
      ui.tMs = Math.min(ui.meta.endMs, ui.tMs + (now - last) * ui.speed)
      last = now
      requestFrame(ui.tMs)
      if (ui.tMs >= ui.meta.endMs) return setPlaying(false)
      requestAnimationFrame(step)
    }
    requestAnimationFrame(step)
  }
}

function setFollowing(on: boolean): void {
  ui.following = on
  $('live').classList.toggle('following', on)
  if (on) requestFrame(null)
}

async function start(): Promise<void> {
  const meta = await getJson<Meta>('/api/meta')
  ui.meta = meta
  const badge = $('mode')
  badge.textContent = meta.mode
  badge.classList.toggle('live', meta.mode === 'live')
  document.title = `Conclave inspector · ${meta.mode}`

  $('play').addEventListener('click', () => setPlaying(!ui.playing))
  $<HTMLSelectElement>('speed').addEventListener('change', (e) => {
    ui.speed = Number((e.target as HTMLSelectElement).value)
  })
  $<HTMLInputElement>('scrubber').addEventListener('input', (e) => {
    const m = ui.meta
    if (!m) return
    setPlaying(false)
    if (m.mode === 'live') setFollowing(false)
    const v = Number((e.target as HTMLInputElement).value)
    ui.tMs = m.startMs + (v / 1000) * (m.endMs - m.startMs)
    requestFrame(ui.tMs)
  })
  $<HTMLInputElement>('cluster-only').addEventListener('change', (e) => {
    ui.clusterOnly = (e.target as HTMLInputElement).checked
    requestFrame(ui.frame?.tMs ?? null)
  })
  document.addEventListener('keydown', (e) => {
    if (e.code === 'Space' && meta.mode === 'replay') {
      e.preventDefault()
      setPlaying(!ui.playing)
    }
  })
  window.addEventListener('resize', () => ui.frame && render(ui.frame))

  if (meta.mode === 'live') {
    $('live').classList.remove('hidden')
    $('live').addEventListener('click', () => setFollowing(true))
    setFollowing(true)
    const stream = new EventSource('/api/stream')
    stream.addEventListener('frame', (e) => {
      const frame = JSON.parse((e as MessageEvent<string>).data) as ViewFrame
      if (ui.meta)
        ui.meta = { ...ui.meta, startMs: frame.startMs, endMs: frame.endMs, totalRecords: frame.totalRecords }
      if (ui.following) render(frame)
    })
  } else {
    requestFrame(meta.endMs)
  }
}

void start()
