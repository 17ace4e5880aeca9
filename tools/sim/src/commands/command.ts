/**
 * A `pnpm sim` subcommand. Each lives in its own file in this folder and is listed in
 * commands/index.ts; cli.ts only dispatches. Output goes through `Io` so tests can run a
 * command in-process and read what it printed.
 */
export interface Io {
  /** One line of the report (stdout). */
  out(line: string): void
  /** Diagnostics and progress (stderr); no newline is added. */
  err(text: string): void
  /** Whether stderr is a terminal (progress bars redraw in place only then). */
  readonly errIsTTY: boolean
}

export interface Command {
  readonly name: string
  /** One line for the command list. */
  readonly summary: string
  /** Full usage text for `pnpm sim <name> --help`. */
  readonly usage: string
  /** Returns the process exit code. */
  run(argv: string[], io: Io): Promise<number>
}

/** Thrown for a bad command line: cli.ts prints the message and the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}
