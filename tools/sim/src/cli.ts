/**
 * `pnpm sim <command> [options]`: the simulator's command line. Dispatches to the commands
 * listed in commands/index.ts; `main` is exported so tests can run the CLI in-process.
 */
import { fileURLToPath } from 'node:url'
import { type Io, UsageError } from './commands/command.js'
import { commands } from './commands/index.js'

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv
  const list = () => {
    io.out('usage: pnpm sim <command> [options]   (pnpm sim <command> --help for its options)')
    for (const c of commands) io.out(`  ${c.name.padEnd(12)} ${c.summary}`)
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    list()
    return name === undefined ? 2 : 0
  }
  const cmd = commands.find((c) => c.name === name)
  if (cmd === undefined) {
    io.err(`unknown command: ${name}\n`)
    list()
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(cmd.usage)
    return 0
  }
  try {
    return await cmd.run(rest, io)
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`${(err as Error).message}\n\n${cmd.usage}\n`)
      return 2
    }
    throw err
  }
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (text) => process.stderr.write(text),
  errIsTTY: process.stderr.isTTY === true,
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2), processIo).then(
    (code) => {
      process.exitCode = code
    },
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
      process.exitCode = 1
    },
  )
}
