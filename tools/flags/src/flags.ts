/**
 * Command-line flags for the workspace's tools (`pnpm bench`, `pnpm fuzz`, `pnpm chaos`).
 * Words are `--name value`, `--name=value` or a bare `--name` (= 'true'); a lone `--` (what
 * `pnpm run` may pass through) is skipped. An option the tool does not know is refused with the
 * tool's usage text, so a mistyped flag never silently runs with a default.
 * The apps/node CLI has its own typed parser (options.ts): flags there also come from the
 * environment and a config file.
 */

export class FlagError extends Error {}

export type Flags = Map<string, string>

/**
 * Parse `argv` into name → value. `known` lists the accepted names (see `optionsIn`); `usage` is
 * appended to every error.
 */
export function parseFlags(argv: readonly string[], known: ReadonlySet<string>, usage: string): Flags {
  const out: Flags = new Map()
  const fail = (why: string): never => {
    throw new FlagError(`${why}\n${usage}`)
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--') continue
    if (!a.startsWith('--')) fail(`unexpected argument ${a}`)
    const eq = a.indexOf('=')
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2)
    if (!known.has(name)) fail(`unknown option --${name}`)
    const next = argv[i + 1]
    if (eq > 0) out.set(name, a.slice(eq + 1))
    else if (next !== undefined && !next.startsWith('--')) {
      out.set(name, next)
      i++
    } else out.set(name, 'true')
  }
  return out
}

/** Every `--name` a usage text mentions: the options a tool documents are the ones it accepts. */
export function optionsIn(usage: string): Set<string> {
  return new Set([...usage.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1] as string))
}

/** An integer option in [min, max]; `dflt` when absent. */
export function intFlag(flags: Flags, name: string, dflt: number, min: number, max: number): number {
  const v = flags.get(name)
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new FlagError(`--${name}: expected an integer in [${min}, ${max}], got ${v}`)
  return n
}
