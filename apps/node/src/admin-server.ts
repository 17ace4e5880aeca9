/**
 * Admin HTTP for one node: GET /status, /members, /healthz, /metrics (Prometheus text) and
 * POST /leave (graceful leave with handover, then the process exits), POST /debug/gc (a full
 * garbage collection, only when node runs with --expose-gc: the fuzz run's heap figures) and,
 * TEST ONLY, POST /debug/hang (testing/debug-hang.ts: the hang watch's own test). With a `token`, every
 * request must carry `Authorization: Bearer <token>` or gets 401 (counted in the metrics); the
 * CLI requires a token whenever the address is not loopback (admin-auth.ts).
 */
import { createServer, type Server } from 'node:http'
import type { ConclaveService } from '@conclave/core'
import { bearerMatches } from './admin-auth.js'
import type { NodeMetrics } from './metrics.js'
import { debugBlockFor, debugSpinUntil, parseDebugHang } from './testing/debug-hang.js'

export interface AdminInit {
  host: string
  port: number
  service: ConclaveService
  metrics: NodeMetrics
  addrs(): string[]
  onLeave(): void
  /** Bearer token every request must carry. Default none (loopback only: the CLI enforces it). */
  token?: string
  /** TEST ONLY hooks the node runs with, shown in /status (testing/test-hooks.ts). */
  testHooks?: readonly string[]
  /** TEST ONLY: serve POST /debug/hang (testing/debug-hang.ts). Default false. */
  debugHang?: boolean
}

export function startAdminServer(init: AdminInit): Promise<Server> {
  const { service } = init
  const server = createServer((req, res) => {
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' })
      res.end(`${JSON.stringify(body)}\n`)
    }
    const url = (req.url ?? '/').split('?')[0]
    if (init.token !== undefined && !bearerMatches(req.headers.authorization, init.token)) {
      init.metrics.adminUnauthorized++
      res.setHeader('www-authenticate', 'Bearer')
      return json(401, { error: 'missing or wrong bearer token' })
    }
    try {
      if (req.method === 'GET' && url === '/status') {
        return json(200, {
          ...service.status(),
          isLeader: service.isLeader(),
          leader: service.leader() ?? null,
          fencingToken: service.fencingToken() ?? null,
          addrs: init.addrs(),
          pid: process.pid,
          testHooks: init.testHooks ?? [],
        })
      }
      if (req.method === 'GET' && url === '/members') {
        const members = service.isStarted() ? [...(service.machine.membership?.members() ?? [])] : []
        return json(200, members)
      }
      if (req.method === 'GET' && url === '/healthz')
        return json(service.isStarted() ? 200 : 503, { ok: service.isStarted() })
      if (req.method === 'GET' && url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
        return res.end(init.metrics.render())
      }
      const gc = (globalThis as { gc?: () => void }).gc
      if (req.method === 'POST' && url === '/debug/gc' && typeof gc === 'function') {
        // Only when the process runs with --expose-gc (the fuzz run measures retained heap).
        gc()
        return json(200, { heapUsedBytes: process.memoryUsage().heapUsed })
      }
      if (req.method === 'POST' && url === '/debug/hang' && init.debugHang) {
        const hang = parseDebugHang((req.url ?? '').split('?')[1] ?? '')
        if (typeof hang === 'string') return json(400, { error: hang })
        json(202, { hanging: hang.mode, ms: hang.ms })
        // After the answer has been written out.
        setTimeout(() => {
          if (hang.mode === 'spin') debugSpinUntil(Date.now() + hang.ms)
          else debugBlockFor(hang.ms)
        }, 20)
        return
      }
      if (req.method === 'POST' && url === '/leave') {
        json(202, { leaving: true })
        init.onLeave()
        return
      }
      json(404, { error: `no route ${req.method} ${url}` })
    } catch (err) {
      json(500, { error: (err as Error).message })
    }
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port, init.host, () => resolve(server))
  })
}
