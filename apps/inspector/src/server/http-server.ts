/**
 * The inspector's HTTP server, on 127.0.0.1 only. It serves the UI and a small JSON API over one
 * TraceModel, whichever way the records arrive (a replayed file or a live observer):
 *   GET /api/meta               mode, time range, record count, load report
 *   GET /api/frame?t=&level=    the view at true time t (default: the latest)
 *   GET /api/node?id=&t=        one node's detail at t
 *   GET /api/stream             Server-Sent Events: in live mode a fresh frame whenever the
 *                               model changed (at most every pushEveryMs), so the page follows
 *                               the mesh without polling
 * Bounds: at most sseClientsMax open streams (more get 503), query strings are parsed with
 * URLSearchParams and bad values fall back to defaults.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TraceModel } from '../model/trace-model.js'
import { buildFrame, DEFAULT_FRAME_OPTIONS, nodeDetail } from '../model/view-frame.js'
import type { UiAssets } from './ui-bundle.js'

export interface InspectorServerInit {
  readonly model: TraceModel
  readonly mode: 'replay' | 'live'
  readonly assets: UiAssets
  /** Anything to show under "source" in the page (file name and load report, or bootstrap address). */
  readonly source: Record<string, unknown>
  /** Port on 127.0.0.1; 0 picks a free one. */
  readonly port: number
  /** Live push period (default 500 ms: smooth enough to watch, cheap at 1000 nodes). */
  readonly pushEveryMs?: number
  /** Open SSE streams allowed (default 16). */
  readonly sseClientsMax?: number
}

export interface InspectorServer {
  readonly url: string
  readonly server: Server
  close(): Promise<void>
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(body)
}

function numberParam(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name)
  if (raw === null || raw === '') return undefined
  const value = Number(raw)
  return Number.isFinite(value) ? value : undefined
}

export async function startInspectorServer(init: InspectorServerInit): Promise<InspectorServer> {
  const { model, mode, assets } = init
  const pushEveryMs = init.pushEveryMs ?? 500
  const sseClientsMax = init.sseClientsMax ?? 16
  const clients = new Set<ServerResponse>()

  const range = () => ({ startMs: model.startMs, endMs: model.endMs, totalRecords: model.size })
  const frameAt = (tMs: number | undefined, level: 1 | 2) => {
    const t = tMs === undefined ? model.endMs : Math.min(Math.max(tMs, model.startMs), model.endMs)
    return buildFrame(mode, model.stateAt(t), model.journal, t, range(), {
      ...DEFAULT_FRAME_OPTIONS,
      timelineLevel: level,
    })
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const params = url.searchParams
    switch (url.pathname) {
      case '/':
      case '/index.html':
        return send(res, 200, 'text/html; charset=utf-8', assets.html)
      case '/app.js':
        return send(res, 200, 'text/javascript; charset=utf-8', assets.js)
      case '/style.css':
        return send(res, 200, 'text/css; charset=utf-8', assets.css)
      case '/api/meta':
        return send(
          res,
          200,
          'application/json',
          JSON.stringify({
            mode,
            ...range(),
            nodes: model.head.nodes.size,
            outOfOrder: model.outOfOrder,
            droppedRecords: model.droppedRecords,
            source: init.source,
          }),
        )
      case '/api/frame': {
        const level = params.get('level') === '1' ? 1 : 2
        return send(res, 200, 'application/json', JSON.stringify(frameAt(numberParam(params, 't'), level)))
      }
      case '/api/node': {
        const id = params.get('id') ?? ''
        const t = numberParam(params, 't') ?? model.endMs
        const detail = nodeDetail(model.stateAt(t), id, t)
        return detail
          ? send(res, 200, 'application/json', JSON.stringify(detail))
          : send(res, 404, 'application/json', JSON.stringify({ error: 'unknown node', id }))
      }
      case '/api/stream':
        if (clients.size >= sseClientsMax) return send(res, 503, 'text/plain', 'too many streams')
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        })
        res.write(`event: hello\ndata: ${JSON.stringify({ mode })}\n\n`)
        clients.add(res)
        req.on('close', () => clients.delete(res))
        return
      default:
        return send(res, 404, 'text/plain', 'not found')
    }
  }

  const server = createServer((req, res) => {
    try {
      handle(req, res)
    } catch (e) {
      send(res, 500, 'text/plain', e instanceof Error ? e.message : String(e))
    }
  })

  let pushedSize = -1
  const timer =
    mode === 'live'
      ? setInterval(() => {
          if (clients.size === 0 || model.size === pushedSize) return
          pushedSize = model.size
          const data = JSON.stringify(frameAt(undefined, 2))
          for (const c of clients) c.write(`event: frame\ndata: ${data}\n\n`)
        }, pushEveryMs)
      : null

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    close: async () => {
      if (timer) clearInterval(timer)
      for (const c of clients) c.end()
      clients.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
