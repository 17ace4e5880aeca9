import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TraceModel } from '../model/trace-model.js'
import type { ViewFrame } from '../model/view-frame.js'
import { syntheticTrace } from '../testing/synthetic-trace.js'
import { type InspectorServer, startInspectorServer } from './http-server.js'

const assets = { html: '<html></html>', js: '//', css: '' }

describe('inspector HTTP API', () => {
  const model = new TraceModel()
  let replay: InspectorServer
  beforeAll(async () => {
    for (const r of syntheticTrace({ nodes: 20, seed: 5 })) model.append(r)
    model.finish()
    replay = await startInspectorServer({ model, mode: 'replay', assets, source: {}, port: 0 })
  })
  afterAll(() => replay.close())

  const get = async (path: string) => fetch(new URL(path, replay.url))

  it('serves meta and frames at any t, clamped to the trace, bad t = the end', async () => {
    const meta = (await (await get('/api/meta')).json()) as { endMs: number; totalRecords: number }
    expect(meta.totalRecords).toBe(model.size)
    const mid = (await (await get('/api/frame?t=1000')).json()) as ViewFrame
    expect(mid.tMs).toBe(1000)
    const late = (await (await get('/api/frame?t=99999999')).json()) as ViewFrame
    expect(late.tMs).toBe(meta.endMs)
    const bad = (await (await get('/api/frame?t=abc')).json()) as ViewFrame
    expect(bad.tMs).toBe(meta.endMs)
    const level1 = (await (await get('/api/frame?level=1')).json()) as ViewFrame
    expect(level1.timeline.every((e) => e.level === 1)).toBe(true)
  })

  it('answers node detail, and 404 for an unknown node', async () => {
    const id = [...model.head.nodes.keys()][0]!
    expect((await get(`/api/node?id=${id}`)).status).toBe(200)
    expect((await get('/api/node?id=nobody')).status).toBe(404)
    expect((await get('/nope')).status).toBe(404)
  })

  it('pushes frames over SSE in live mode when the model changes', async () => {
    const liveModel = new TraceModel()
    const live = await startInspectorServer({
      model: liveModel,
      mode: 'live',
      assets,
      source: {},
      port: 0,
      pushEveryMs: 20,
    })
    try {
      const res = await fetch(new URL('/api/stream', live.url))
      const reader = res.body!.getReader()
      liveModel.append({ kind: 'global:leader', node: 'a', atMs: 1, trueMs: 1, term: 4, leader: 'a' })
      // The stream may open with a frame of the still-empty model (pushed on connect, before the
      // append lands); read frames until one shows the appended leader, or the stream ends.
      const decoder = new TextDecoder()
      let buffered = ''
      let frame: ViewFrame | undefined
      while (frame?.global?.leader === undefined) {
        const chunk = await reader.read()
        if (chunk.done) break
        buffered += decoder.decode(chunk.value, { stream: true })
        const frames = [...buffered.matchAll(/event: frame\ndata: (.*)\n/g)]
        const last = frames.at(-1)
        if (last !== undefined) frame = JSON.parse(last[1]!) as ViewFrame
      }
      expect(frame?.global).toMatchObject({ leader: 'a', term: 4 })
      await reader.cancel()
    } finally {
      await live.close()
    }
  })
})
