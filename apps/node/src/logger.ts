/** Structured JSON logs, one object per line on stderr: {t, level, msg, ...fields}. */
import type { LogLevel } from './options.js'

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(msg: string, fields?: object): void
  info(msg: string, fields?: object): void
  warn(msg: string, fields?: object): void
  error(msg: string, fields?: object): void
}

export function jsonLogger(
  level: LogLevel,
  base: object = {},
  out: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const min = RANK[level]
  const log =
    (lv: LogLevel) =>
    (msg: string, fields: object = {}) => {
      if (RANK[lv] < min) return
      out(`${JSON.stringify({ t: new Date().toISOString(), level: lv, msg, ...base, ...fields })}\n`)
    }
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}
