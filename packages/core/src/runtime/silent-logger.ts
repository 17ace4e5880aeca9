/**
 * A libp2p ComponentLogger that logs nothing and costs nothing. libp2p 3 makes a logger for every
 * connection, stream, multistream negotiation and muxer (`forComponent`, `newScope`), and the
 * stock one (@libp2p/logger over weald) builds a debug instance for each, checking the terminal
 * and the enabled namespaces every time, even when nothing is enabled: ≈ 3–7 % of a new
 * connection's CPU in `pnpm bench conn` profiles. Conclave's own logs do not go through it.
 *
 * Used unless libp2p's debug logging is asked for (`DEBUG` set in the environment, as
 * @libp2p/logger reads it): then the stock logger is kept, so `DEBUG=libp2p:*` works as before.
 */
import type { ComponentLogger, Logger } from '@libp2p/interface'

function nothing(): void {}

const silent: Logger = Object.assign(nothing.bind(undefined), {
  error: nothing,
  trace: nothing,
  enabled: false,
  newScope: (): Logger => silent,
})

export const silentLogger: ComponentLogger = { forComponent: () => silent }

/** The silent logger, or undefined (libp2p's own) when `env.DEBUG` asks for libp2p's logs. */
export function libp2pLogger(
  env: Record<string, string | undefined> = process.env,
): ComponentLogger | undefined {
  return env.DEBUG ? undefined : silentLogger
}
