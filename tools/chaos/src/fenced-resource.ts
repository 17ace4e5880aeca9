/**
 * The fenced resource: a tiny separate process standing for whatever a leader protects (a
 * database row, a lock, a file). Nodes that believe they lead send it writes tagged with their
 * fencing token (the global term); it accepts a write whose token is at least the highest it has
 * accepted and refuses any lower one (Kleppmann's fencing tokens). It logs every write on stdout
 * as one JSON line, stamped with the host's CLOCK_MONOTONIC, in the order it decided them:
 *   {"hostMs":…,"node":"…","token":7,"seq":12,"accepted":true}
 * Input is newline-delimited JSON `{node, token, seq}` over TCP. Bad input (oversized line, not
 * JSON, wrong types) is counted and logged as {"error":…}, never a crash; connections are capped.
 *
 * argv: --listen HOST:PORT [--unfenced]   (--unfenced is TEST ONLY: accept every token, so the
 * harness can show its stale-write check catches a resource without fencing)
 */
import { createServer, type Socket } from 'node:net'

const LINE_BYTES_MAX = 1024
const CONNECTIONS_MAX = 128

const args = process.argv.slice(2)
const listen = args[args.indexOf('--listen') + 1] ?? '127.0.0.1:7700'
const unfenced = args.includes('--unfenced')
const m = /^(.*):(\d+)$/.exec(listen)
if (!m?.[1]) {
  process.stderr.write(`fenced-resource: bad --listen ${listen}\n`)
  process.exit(2)
}
const hostMs = () => Number(process.hrtime.bigint()) / 1e6
let maxToken = Number.NEGATIVE_INFINITY
let rejectedFrames = 0
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`)

function onLine(line: string): void {
  let w: { node?: unknown; token?: unknown; seq?: unknown; delayed?: unknown }
  try {
    w = JSON.parse(line) as typeof w
  } catch {
    out({ hostMs: hostMs(), error: 'not json', rejectedFrames: ++rejectedFrames })
    return
  }
  if (typeof w.node !== 'string' || !Number.isSafeInteger(w.token) || !Number.isSafeInteger(w.seq)) {
    out({ hostMs: hostMs(), error: 'bad write', rejectedFrames: ++rejectedFrames })
    return
  }
  const token = w.token as number
  const accepted = unfenced || token >= maxToken
  if (accepted) maxToken = Math.max(maxToken, token)
  out({ hostMs: hostMs(), node: w.node, token, seq: w.seq, accepted, delayed: w.delayed === true })
}

const server = createServer((socket: Socket) => {
  let buf = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    buf += chunk
    for (;;) {
      const nl = buf.indexOf('\n')
      if (nl < 0) break
      onLine(buf.slice(0, nl))
      buf = buf.slice(nl + 1)
    }
    if (buf.length > LINE_BYTES_MAX) {
      out({ hostMs: hostMs(), error: 'line too long', rejectedFrames: ++rejectedFrames })
      socket.destroy()
    }
  })
  socket.on('error', () => {})
})
server.maxConnections = CONNECTIONS_MAX
server.listen(Number(m[2]), m[1], () => {
  const port = (server.address() as { port: number }).port
  out({ hostMs: hostMs(), listening: `${m[1]}:${port}`, port, unfenced })
})
process.on('SIGTERM', () => process.exit(0))
