/**
 * `pnpm fuzz --cases K [--seed S] [--base-port P] [--json]`: fuzz a running node's stream
 * handlers over a real libp2p connection (fuzz.ts). Exit 0 when every check held, 1 otherwise.
 */
import { FlagError, intFlag as int, optionsIn, parseFlags } from '@conclave/flags'
import { CASE_KINDS, type CaseKind } from './cases.js'
import { runFuzz } from './fuzz.js'

const HELP = `pnpm fuzz --cases K [--seed S] [--base-port P] [--kinds ${CASE_KINDS.join(',')}] [--insiders] [--json] [--help]`

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`
const list = (r: Record<string, number>) =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '-'

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), optionsIn(HELP), HELP)
  if (flags.has('help')) {
    process.stdout.write(`${HELP}\n`)
    return 0
  }
  const json = flags.has('json')
  const kinds = flags.get('kinds')?.split(',') as CaseKind[] | undefined
  for (const k of kinds ?? [])
    if (!CASE_KINDS.includes(k)) throw new Error(`--kinds: unknown kind ${k}\n${HELP}`)
  const r = await runFuzz({
    cases: int(flags, 'cases', 2000, 0, 10_000_000),
    seed: int(flags, 'seed', 1, 0, 2 ** 31),
    // Below the kernel's ephemeral range (32768–60999 by default), where a connection's local port
    // can take a node's listen or admin port (admin: base + 100; the three nodes: base + 0..2).
    basePort: int(flags, 'base-port', 25_000, 1024, 32_665),
    kinds,
    insiders: flags.has('insiders'),
    log: json ? undefined : (line) => process.stderr.write(`fuzz: ${line}\n`),
  })
  if (json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`)
  } else {
    process.stdout.write(
      [
        `cases          ${r.cases} (seed ${r.seed}) in ${(r.durationMs / 1000).toFixed(1)} s, ${r.casesPerSecond} cases/s`,
        `  by kind      ${list(r.casesByKind)}`,
        `  by layer     ${list(r.casesByLayer)}`,
        `sessions       ${r.sessions} fuzzer identities (${r.insiderSessions} as corpus members), ${r.sessionsCutOff} cut off by the target`,
        `received       ${list(r.framesReceived)} (frames the target received from every peer, the healthy one included)`,
        `rejections     ${r.rejectionsTotal}: ${list(r.rejections)}`,
        `cut-offs       ${list(r.cutOffs)}`,
        `refused conns  ${list(r.connectionsRefused)}`,
        `heap           ${mib(r.heapBeforeBytes)} -> ${mib(r.heapAfterBytes)}; rss ${mib(r.rssBeforeBytes)} -> ${mib(r.rssAfterBytes)}`,
        `crashes        ${r.crashes}`,
        `healthy peer   ${r.servesHealthyPeer ? `served: a fresh node joined in ${r.freshPeerJoinedMs} ms` : 'NOT served'}, leader ${r.freshPeerLearnedLeaderMs === null ? 'not learned within 10 s (reported, not required)' : `learned in ${r.freshPeerLearnedLeaderMs} ms`}`,
        r.failures.length === 0 ? 'PASS' : `FAIL: ${r.failures.join('; ')}`,
      ].join('\n') + '\n',
    )
  }
  return r.failures.length === 0 ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`fuzz: ${err instanceof FlagError ? err.message : (err.stack ?? err.message)}\n`)
    process.exit(2)
  },
)
