/**
 * Hang watch for the local-cluster harness: when a live node's admin HTTP has answered nothing for
 * `silentMs` (default 10 s), capture what its process is doing, once, into the node's data dir:
 * - the kernel's view, non-invasively: /proc/PID/stat twice 1 s apart (CPU ticks of every thread:
 *   spinning or blocked), the main thread's scheduler state sampled 10 times over that second
 *   (on a loaded host a spinning thread waits runnable, `R`, more than it runs), /proc/PID/status,
 *   every thread's comm, state, wchan and syscall, and the open file descriptors by kind;
 * - the JS side through the inspector, started by SIGUSR1 (the harness runs every node with
 *   `--inspect-port=0`, which only chooses the port; nothing listens until the signal): the main
 *   thread's stack from Debugger.pause (mapped through the bundle's source map), its heap and
 *   active resources, and a 2 s CPU profile (saved beside the report as .cpuprofile). Node starts
 *   the inspector on the main thread (an interrupt or the event loop's async wake-up), so a thread
 *   spinning in JS answers, but one blocked in a system call or spinning in native code does not:
 *   the report then says so and the kernel's view and the native stack are what tell;
 * - the native stacks of every thread (`gdb -batch`, when gdb is on PATH), last, since attaching
 *   interrupts the process's system calls.
 *
 * Cost: nothing in the nodes; the harness probes only while one of its waits has lasted
 * `probeAfterMs` (a stuck launch, failover or restart), so idle windows and fast waits send no
 * request. Captures per cluster are bounded (`capturesMax`), one per process.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { SourceMap } from 'node:module'
import { join } from 'node:path'
import { connectCdp } from './inspector-client.js'

export interface HangWatchInit {
  /**
   * A node is silent when its admin HTTP has answered nothing for this long on a host with a CPU
   * to spare. Default 10 000. On a saturated host it is scaled by loadScale (below).
   */
  silentMs?: number
  /**
   * At most this factor on silentMs when the host is saturated: silentMs × clamp(1-min load ÷
   * (2 × cores), 1, loadScaleMax). Default 6. Why: when 100 nodes launch on 2 cores (load 70–130)
   * busy nodes miss 5 s probes for 10 s and more without being stuck (measured, session 8: three
   * such captures in one 100-node launch, each runnable with 2 ticks of CPU a second), and would use
   * up the captures before a real hang; the hangs seen so far lasted 150 s.
   */
  loadScaleMax?: number
  /** Probe each node's /healthz this often while watching. Default 2500. */
  probeEveryMs?: number
  /** Watch only once a harness wait has lasted this long. Default 5000. */
  probeAfterMs?: number
  /** Captures per cluster at most (one per process). Default 3. */
  capturesMax?: number
  /** Capture native stacks with gdb when it is on PATH. Default true. */
  nativeStacks?: boolean
}

/** HangWatchInit with every default filled in (the defaults documented above). */
export function hangWatchSettings(w: HangWatchInit | undefined): Required<HangWatchInit> {
  return {
    silentMs: w?.silentMs ?? 10_000,
    loadScaleMax: w?.loadScaleMax ?? 6,
    probeEveryMs: w?.probeEveryMs ?? 2500,
    probeAfterMs: w?.probeAfterMs ?? 5000,
    capturesMax: w?.capturesMax ?? 3,
    nativeStacks: w?.nativeStacks ?? true,
  }
}

/** The fields of /proc/PID/stat (or /proc/PID/task/TID/stat) the watch reads. */
export interface ProcStat {
  comm: string
  state: string
  utimeTicks: number
  stimeTicks: number
  threads: number
  rssPages: number
}

/** Parse /proc/PID/stat: `pid (comm) state ...`; comm may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${JSON.stringify(text.slice(0, 80))}`)
  const f = text
    .slice(close + 2)
    .trim()
    .split(' ')
  // After the comm: field 3 is f[0] (state), utime 14 = f[11], stime 15 = f[12], threads 20 = f[17], rss 24 = f[21].
  const num = (k: number) => {
    const v = Number(f[k])
    if (!Number.isFinite(v)) throw new Error(`/proc stat field ${k + 3} is ${JSON.stringify(f[k])}`)
    return v
  }
  return {
    comm: text.slice(open + 1, close),
    state: f[0] ?? '?',
    utimeTicks: num(11),
    stimeTicks: num(12),
    threads: num(17),
    rssPages: num(21),
  }
}

/** x86-64 system call numbers a Node process blocks in; others are shown by number. */
const SYSCALLS: Record<number, string> = {
  0: 'read',
  1: 'write',
  3: 'close',
  7: 'poll',
  20: 'writev',
  23: 'select',
  35: 'nanosleep',
  42: 'connect',
  44: 'sendto',
  45: 'recvfrom',
  46: 'sendmsg',
  47: 'recvmsg',
  54: 'setsockopt',
  74: 'fsync',
  75: 'fdatasync',
  82: 'rename',
  202: 'futex',
  230: 'clock_nanosleep',
  232: 'epoll_wait',
  257: 'openat',
  281: 'epoll_pwait',
  288: 'accept4',
  441: 'epoll_pwait2',
}

/** /proc/PID/syscall: `running`, `-1 …` (not in a call), or `NR arg1 … sp pc`; NR named. */
export function describeSyscall(text: string): string {
  const t = text.trim()
  if (t === '' || t === 'running') return t || '?'
  const [nr, ...rest] = t.split(' ')
  const n = Number(nr)
  if (!Number.isInteger(n) || n < 0) return t
  return `${SYSCALLS[n] ?? `syscall ${n}`}(${rest.slice(0, 3).join(', ')})`
}

/** The inspector's announcement on stderr: `Debugger listening on ws://127.0.0.1:PORT/UUID`. */
export function parseDebuggerUrl(line: string): string | undefined {
  return /^Debugger listening on (ws:\/\/\S+)/.exec(line.trim())?.[1]
}

/** silentMs scaled for a saturated host: × clamp(load1 ÷ (2 × cpus), 1, scaleMax). */
export function silentMsFor(silentMs: number, load1: number, cpus: number, scaleMax: number): number {
  const f = Math.min(scaleMax, Math.max(1, load1 / (2 * Math.max(1, cpus))))
  return Number.isFinite(f) ? Math.round(silentMs * f) : silentMs
}

/**
 * When each watched process last answered, and which have been silent for `silentMs`. A process
 * first seen, or every process after a gap in the ticks (the harness stopped watching between
 * waits), counts from that tick, so time spent not probing is never counted as silence.
 */
export class SilenceTracker {
  private readonly since = new Map<number, number>()
  private lastTickMs = Number.NEGATIVE_INFINITY

  constructor(readonly gapMs: number) {}

  answered(pid: number, nowMs: number): void {
    if (this.since.has(pid)) this.since.set(pid, Math.max(this.since.get(pid) ?? nowMs, nowMs))
  }

  /** The watched processes now; returns those silent ≥ silentMs, with how long. */
  tick(nowMs: number, pids: readonly number[], silentMs: number): { pid: number; silentMs: number }[] {
    const resume = nowMs - this.lastTickMs > this.gapMs
    this.lastTickMs = nowMs
    const live = new Set(pids)
    for (const pid of this.since.keys()) if (!live.has(pid)) this.since.delete(pid)
    const silent: { pid: number; silentMs: number }[] = []
    for (const pid of pids) {
      const since = this.since.get(pid)
      if (since === undefined || resume) {
        this.since.set(pid, nowMs)
        continue
      }
      if (nowMs - since >= silentMs) silent.push({ pid, silentMs: nowMs - since })
    }
    return silent
  }
}

/** One GET /healthz with a deadline: true on any HTTP answer (503 while starting counts). */
export function probeAdmin(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/healthz',
        agent: false,
        timeout: timeoutMs,
        headers: { Connection: 'close' },
      },
      (res) => {
        res.resume()
        resolve(true)
      },
    )
    req.once('timeout', () => req.destroy())
    req.once('error', () => resolve(false))
    req.end()
  })
}

export interface HangTarget {
  index: number
  pid: number
  dataDir: string
  silentMs: number
  /** Send SIGUSR1 and resolve with the inspector's URL from the node's stderr (or undefined). */
  startInspector(timeoutMs: number): Promise<string | undefined>
  /** The node's last stderr lines and the harness's view of its stderr pipe. */
  context(): string[]
  /** The bundle's source map file, to map paused frames back to sources. */
  sourceMapFile?: string
}

const read = (p: string) => {
  try {
    return readFileSync(p, 'utf8')
  } catch (err) {
    return `(${(err as Error).message})`
  }
}
/**
 * How long the inspector may take to start and to answer: a node spinning in JS answers within
 * milliseconds on a quiet host, but a starved one (runnable, a few ticks of CPU a second) took more
 * than 5 s to pause at load 72 (session 8).
 */
const INSPECTOR_WAIT_MS = 10_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface ThreadSample {
  tid: string
  comm: string
  stat: ProcStat | undefined
}

function threads(pid: number): ThreadSample[] {
  let tids: string[] = []
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return []
  }
  return tids.map((tid) => {
    let stat: ProcStat | undefined
    try {
      stat = parseProcStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'))
    } catch {}
    return { tid, comm: stat?.comm ?? '?', stat }
  })
}

/** CPU ticks (1/100 s) used over `ms` by every thread, and the main thread's state sampled 10 times. */
async function cpuOver(
  pid: number,
  ms: number,
): Promise<{ lines: string[]; mainTicks: number; mainStates: string }> {
  const a = threads(pid)
  let states = ''
  for (let k = 0; k < 10; k++) {
    await sleep(ms / 10)
    try {
      states += parseProcStat(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')).state
    } catch {
      states += '-'
    }
  }
  const b = new Map(threads(pid).map((t) => [t.tid, t]))
  let mainTicks = 0
  const lines = a.map((t) => {
    const u = b.get(t.tid)?.stat
    const d = u && t.stat ? u.utimeTicks + u.stimeTicks - t.stat.utimeTicks - t.stat.stimeTicks : Number.NaN
    if (t.tid === String(pid)) mainTicks = d
    const wchan = read(`/proc/${pid}/task/${t.tid}/wchan`).trim() || '-'
    const sys = describeSyscall(read(`/proc/${pid}/task/${t.tid}/syscall`))
    return `  ${t.tid.padStart(7)} ${t.comm.padEnd(16)} state ${u?.state ?? '?'}  cpu ${d} ticks  total ${u ? u.utimeTicks + u.stimeTicks : '?'}  wchan ${wchan}  ${sys}`
  })
  return { lines, mainTicks, mainStates: states }
}

function fdKinds(pid: number): string {
  const kinds = new Map<string, number>()
  let fds: string[] = []
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch (err) {
    return `(${(err as Error).message})`
  }
  for (const fd of fds) {
    let kind = '?'
    try {
      kind = readlinkSync(`/proc/${pid}/fd/${fd}`)
        .replace(/\[\d+\]$/, '')
        .replace(/^\/.*/, 'file')
    } catch {}
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
  }
  return `${fds.length} (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')})`
}

/** A bundle position mapped to its source (`file:line:col`, 1-based), or undefined. */
function original(map: SourceMap | undefined, url: string, line: number, col: number): string | undefined {
  if (!map || !/conclave\.[cm]?js$/.test(url)) return undefined
  const e = map.findEntry(line, col) as {
    originalSource?: string
    originalLine?: number
    originalColumn?: number
  }
  if (!e.originalSource) return undefined
  return `${e.originalSource.replace(/^(\.\.\/)+/, '')}:${(e.originalLine ?? 0) + 1}:${(e.originalColumn ?? 0) + 1}`
}

interface CallFrame {
  functionName: string
  /** Deprecated in CDP and empty in Node 20's paused frames: the script's URL comes from scriptParsed. */
  url: string
  location: { scriptId?: string; lineNumber: number; columnNumber: number }
}

/** `fn (file:line:col)` per frame, with the source position when the bundle's map has one. */
export function formatFrames(frames: readonly CallFrame[], map?: SourceMap): string[] {
  return frames.map((f) => {
    const line = f.location.lineNumber
    const col = f.location.columnNumber
    const src = original(map, f.url, line, col)
    const where = src
      ? `${src} [bundle ${line + 1}:${col + 1}]`
      : `${f.url.replace(/^file:\/\//, '')}:${line + 1}:${col + 1}`
    return `  at ${f.functionName || '(anonymous)'} (${where})`
  })
}

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}

/** The functions with the most self samples in a CDP profile: `share% name (url:line)`. */
export function topSelf(
  profile: { nodes: ProfileNode[]; samples?: number[] },
  n: number,
  map?: SourceMap,
): string[] {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]))
  const counts = new Map<string, number>()
  const samples = profile.samples ?? []
  for (const id of samples) {
    const cf = byId.get(id)?.callFrame
    if (!cf) continue
    const where =
      original(map, cf.url, cf.lineNumber, cf.columnNumber) ??
      (cf.url ? `${cf.url.replace(/^.*\//, '')}:${cf.lineNumber + 1}` : '')
    const key = `${cf.functionName || '(anonymous)'}${where ? ` (${where})` : ''}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, c]) => `  ${((100 * c) / Math.max(1, samples.length)).toFixed(1).padStart(5)}% ${k}`)
}

function loadMap(file: string | undefined): SourceMap | undefined {
  if (!file || !existsSync(file)) return undefined
  try {
    return new SourceMap(JSON.parse(readFileSync(file, 'utf8')))
  } catch {
    return undefined
  }
}

/** The JS side: stack, heap and resources while paused, then a 2 s profile. Never throws. */
async function jsSide(t: HangTarget, base: string, out: string[]): Promise<void> {
  const url = await t.startInspector(INSPECTOR_WAIT_MS)
  if (!url) {
    out.push(
      'no inspector: the node printed no "Debugger listening" line within 10 s of SIGUSR1 (Node starts it on the main thread: stopped, blocked in a system call, or spinning in native code?)',
    )
    return
  }
  out.push(`inspector ${url}`)
  let s: Awaited<ReturnType<typeof connectCdp>> | undefined
  try {
    s = await connectCdp(url)
    const map = loadMap(t.sourceMapFile)
    // Bounded by the scripts the node has loaded (a few hundred: the bundle and Node's own).
    const scripts = new Map<string, string>()
    s.on('Debugger.scriptParsed', (p) => scripts.set(String(p.scriptId), String(p.url)))
    try {
      await s.send('Debugger.enable', {}, INSPECTOR_WAIT_MS)
    } catch (err) {
      out.push(
        `Debugger.enable: ${(err as Error).message} (the main thread does not run JS: blocked, or spinning in native code)`,
      )
      return
    }
    const paused = s.next('Debugger.paused', INSPECTOR_WAIT_MS)
    // Awaited below; but when the pause command fails first, closing the session rejects this one
    // too, and nothing would handle that (an unhandled rejection ends the harness).
    paused.catch(() => {})
    await s.send('Debugger.pause', {}, INSPECTOR_WAIT_MS)
    const p = (await paused) as { callFrames?: (CallFrame & { callFrameId: string })[]; reason?: string }
    const frames = (p.callFrames ?? []).map((f) => ({
      ...f,
      url: f.url || scripts.get(f.location.scriptId ?? '') || '',
    }))
    out.push(
      `main thread paused (${p.reason ?? '?'}), ${frames.length} frames:`,
      ...formatFrames(frames, map),
    )
    const top = frames[0]
    if (top) {
      try {
        const r = (await s.send('Debugger.evaluateOnCallFrame', {
          callFrameId: top.callFrameId,
          expression:
            'JSON.stringify({ memory: process.memoryUsage(), resources: process.getActiveResourcesInfo().reduce((m, k) => (m[k] = (m[k] || 0) + 1, m), {}), uptimeS: process.uptime() })',
          returnByValue: true,
        })) as { result?: { value?: unknown } }
        out.push(`process: ${String(r.result?.value)}`)
      } catch (err) {
        out.push(`process: ${(err as Error).message}`)
      }
    }
    await s.send('Debugger.resume')
    await s.send('Debugger.disable')
    await s.send('Profiler.enable')
    await s.send('Profiler.setSamplingInterval', { interval: 1000 })
    await s.send('Profiler.start')
    await sleep(2000)
    const { profile } = (await s.send('Profiler.stop', {}, 10_000)) as {
      profile: { nodes: ProfileNode[]; samples?: number[]; startTime: number; endTime: number }
    }
    writeFileSync(`${base}.cpuprofile`, JSON.stringify(profile))
    out.push(
      `CPU profile over 2 s (${profile.samples?.length ?? 0} samples, ${base}.cpuprofile), most self time:`,
      ...topSelf(profile, 15, map),
    )
  } catch (err) {
    out.push(`inspector: ${(err as Error).message}`)
  } finally {
    s?.close()
  }
}

/**
 * Every thread's native stack by `gdb -batch`. Attaching stops the process; gdb resumes it when it
 * detaches, but a gdb killed at the timeout (seen on a host at load 130, session 10: three nodes
 * of a 100-node launch left in state T, `do_signal_stop`, for the rest of the run) leaves it in a
 * group stop. So the process gets SIGCONT afterwards whatever gdb did: a no-op for a running one.
 */
export function gdbStacks(pid: number, timeoutMs = 30_000): Promise<string[]> {
  return new Promise((resolve) => {
    execFile(
      'gdb',
      ['-p', String(pid), '-batch', '-nx', '-ex', 'set pagination off', '-ex', 'thread apply all bt 40'],
      { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => {
        try {
          process.kill(pid, 'SIGCONT')
        } catch {} // gone already
        const lines = `${stdout}`
          .split('\n')
          .filter((l) => l.startsWith('Thread ') || l.startsWith('#') || l === '')
          .slice(0, 1500)
        if (lines.join('').trim() === '') lines.push(`gdb: ${err?.message ?? ''} ${`${stderr}`.slice(-500)}`)
        resolve(lines)
      },
    )
  })
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, bin)))
}

/**
 * Capture a silent node (see the top of this file). Writes `hang-<node>-<time>.txt` (and
 * `.cpuprofile`) into the node's data dir and resolves with the report's path and a one-line
 * verdict. Never throws: a part that fails is reported as such.
 */
export async function captureHang(
  t: HangTarget,
  nativeStacks = true,
): Promise<{ path: string; verdict: string }> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const base = join(t.dataDir, `hang-node${t.index}-${stamp}`)
  const out: string[] = [
    `node ${t.index} pid ${t.pid}: admin HTTP silent for ${(t.silentMs / 1000).toFixed(1)} s`,
    `captured ${new Date().toISOString()}; host load ${read('/proc/loadavg').trim()}`,
  ]
  const cpu = await cpuOver(t.pid, 1000)
  let procState = '?'
  try {
    procState = parseProcStat(readFileSync(`/proc/${t.pid}/stat`, 'utf8')).state
  } catch {}
  const mainSys = describeSyscall(read(`/proc/${t.pid}/syscall`))
  const mainWchan = read(`/proc/${t.pid}/wchan`).trim()
  const running = [...cpu.mainStates].filter((c) => c === 'R').length
  const verdict =
    procState === 'T' || procState === 't'
      ? 'stopped (SIGSTOP or a tracer)'
      : cpu.mainTicks >= 50
        ? `main thread spinning: ${cpu.mainTicks} ticks of CPU in 1 s, runnable in ${running}/10 samples`
        : running >= 8
          ? `main thread busy but starved: runnable in ${running}/10 samples, ${cpu.mainTicks} ticks of CPU in 1 s, host load ${read('/proc/loadavg').split(' ')[0]} (a loop or a saturated host: see its stack)`
          : `main thread blocked: ${cpu.mainTicks} ticks of CPU in 1 s, states ${cpu.mainStates}, wchan ${mainWchan || '-'}, ${mainSys}`
  out.push(
    `verdict: ${verdict}`,
    '',
    `main thread states sampled over 1 s: ${cpu.mainStates}`,
    `process wchan ${mainWchan || '-'}; syscall ${mainSys}`,
    `file descriptors: ${fdKinds(t.pid)}`,
    'threads (CPU ticks of 1/100 s over that second):',
    ...cpu.lines,
    '',
    '/proc/PID/status:',
    read(`/proc/${t.pid}/status`).trimEnd(),
    '',
    'harness side (last stderr lines of the node first):',
    ...t.context(),
    '',
  )
  await jsSide(t, base, out)
  if (nativeStacks && onPath('gdb')) out.push('', 'native stacks (gdb):', ...(await gdbStacks(t.pid)))
  const path = `${base}.txt`
  try {
    writeFileSync(path, `${out.join('\n')}\n`)
  } catch (err) {
    return { path: `(not written: ${(err as Error).message})`, verdict }
  }
  return { path, verdict }
}
