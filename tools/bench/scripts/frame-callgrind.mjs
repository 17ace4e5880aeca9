#!/usr/bin/env node
/**
 * Instructions per frame round trip, counted by valgrind's callgrind: repeatable whatever the
 * host's load, unlike CPU time (docs/performance.md, "Session 10 (issue 4, idle)"). The same path
 * as `pnpm bench frame` (two nodes by createConclave in one process, TCP + Noise + yamux +
 * PeerStreams + the driver, stub machines; `a` sends a 150-byte shard frame that `b` answers at
 * once), paced: `--warm` round trips unmeasured, then `--round-trips` measured, then as many
 * empty wake-ups (the same timer, nothing sent). Counters are zeroed and dumped around each phase
 * with callgrind_control.
 *
 *   pnpm build && node tools/bench/scripts/frame-callgrind.mjs [--round-trips 100] [--warm 300] [--interval-ms 100]
 *
 * Prints the main thread's instructions per round trip and per empty wake-up, and of the round
 * trip the part under socket-read callbacks (libuv → Node → the whole receive path, the answer
 * included) and under Node's tick/microtask processing after callbacks. Other threads (V8's
 * compiler and GC helpers) are not zeroed per thread by callgrind_control, so they are not
 * reported. A major GC inside the window (it shows as `gc`) flushes code and adds its own count:
 * compare runs without one, several per variant. Needs valgrind (apt-get install valgrind);
 * about a minute per run.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

function flag(name, dflt) {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : dflt
}
const roundTrips = flag('round-trips', 100)
const warm = flag('warm', 300)
const intervalMs = flag('interval-ms', 100)

if (process.argv.includes('--child')) await child()
else parent()

function parent() {
  const out = mkdtempSync(join(tmpdir(), 'conclave-callgrind-'))
  try {
    execFileSync(
      'valgrind',
      [
        '--tool=callgrind',
        '--separate-threads=yes',
        `--callgrind-out-file=${join(out, 'cg.%p.out')}`,
        process.execPath,
        new URL(import.meta.url).pathname,
        '--child',
        '--round-trips',
        String(roundTrips),
        '--warm',
        String(warm),
        '--interval-ms',
        String(intervalMs),
      ],
      { stdio: ['ignore', 'inherit', 'ignore'] },
    )
    // Dump 1: the paced round trips; dump 2: the empty wake-ups; thread 1 is the main thread.
    const file = (dump) =>
      join(
        out,
        readdirSync(out).find((f) => f.endsWith(`.out.${dump}-01`)),
      )
    const total = (f) => Number(/^totals: (\d+)/m.exec(readFileSync(f, 'utf8'))?.[1] ?? 0)
    const inclusive = (f, fn) => {
      const text = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', f], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      })
      const line = text.split('\n').find((l) => l.includes(fn))
      return line ? Number(line.trim().split(' ')[0].replaceAll(',', '')) : 0
    }
    const paced = file(1)
    const per = (n) => Math.round(n / roundTrips)
    console.log(
      JSON.stringify({
        roundTrips,
        warm,
        intervalMs,
        mainIrPerRoundTrip: per(total(paced)),
        readsIrPerRoundTrip: per(inclusive(paced, 'node::EmitToJSStreamListener::OnStreamRead')),
        ticksIrPerRoundTrip: per(inclusive(paced, 'node::InternalCallbackScope::Close()')),
        gcIrPerRoundTrip: per(inclusive(paced, 'v8::internal::Heap::CollectGarbage(')),
        mainIrPerEmptyWakeup: per(total(file(2))),
      }),
    )
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}

async function child() {
  const { createConclave, ScriptedMachine } = await import('@conclave/core')
  class Echo extends ScriptedMachine {
    received = 0
    constructor(id, echo, addrs) {
      super(id)
      this.echo = echo
      this.membership = {
        member: (p) => (addrs.has(p) ? { meta: { addrs: addrs.get(p) } } : undefined),
        members: () => [],
      }
    }
    receive(from, layer, bytes) {
      this.received++
      if (this.echo) this.outbox.push({ to: from, layer, type: 'echo', bytes })
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'conclave-callgrind-frame-'))
  const addrs = new Map()
  const make = async (name, echo) => {
    let machine
    const node = await createConclave({
      dataDir: join(dir, name),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      init: true,
      statusIntervalMs: 0,
      machineFactory: (ctx) => {
        machine = new Echo(ctx.id, echo, addrs)
        return machine
      },
    })
    addrs.set(node.id, node.libp2p.getMultiaddrs().map(String))
    return { node, machine }
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
  const control = (arg) =>
    new Promise((r) =>
      spawn('callgrind_control', [arg, String(process.pid)], { stdio: 'ignore' }).once('exit', r),
    )
  const a = await make('a', false)
  const b = await make('b', true)
  const frame = new Uint8Array(150).fill(7)
  const send = () =>
    a.node.service.transport.send({ to: b.node.id, layer: 'shard', type: 'ping', bytes: frame })
  send()
  while (a.machine.received < 1) await sleep(5)
  // libp2p rewrites its own peer record 1 s after listening.
  await sleep(1200)
  const paced = async (n, each) => {
    for (let i = 0; i < n; i++) {
      each()
      await sleep(intervalMs)
    }
  }
  await paced(warm, send)
  await control('-z')
  const before = a.machine.received
  await paced(roundTrips, send)
  await control('-d')
  if (a.machine.received - before !== roundTrips)
    throw new Error(`${roundTrips} sent, ${a.machine.received - before} answered`)
  await control('-z')
  await paced(roundTrips, () => {})
  await control('-d')
  await Promise.all([a.node.stop(), b.node.stop()])
  rmSync(dir, { recursive: true, force: true })
  process.exit(0)
}
