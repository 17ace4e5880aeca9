/**
 * What `conclave start` prints when a port cannot be bound. libp2p folds every failed listen
 * address into one UnsupportedListenAddressesError whose message repeats each socket error with
 * its stack, and the admin server's bind fails with Node's bare `listen EADDRINUSE` error: an
 * operator needs one line naming the address and the reason, not two stack traces.
 */

/** Socket errors of a bind that are the operator's to fix (address taken, not ours, not here). */
const BIND_CODES = ['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'] as const

/**
 * One line per address that could not be bound, or undefined when `err` is not a bind failure
 * (the caller then prints the error with its stack).
 */
export function bindFailureMessage(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined
  const code = (err as NodeJS.ErrnoException).code
  if (code !== undefined && (BIND_CODES as readonly string[]).includes(code)) {
    // Node's own bind error (the admin server's: libp2p folds its own, below).
    const { address, port } = err as { address?: string; port?: number }
    return `cannot listen on ${address ?? '?'}:${port ?? '?'}: ${err.message}`
  }
  if (err.name !== 'UnsupportedListenAddressesError') return undefined
  // "  /ip4/…/tcp/N: Error: listen EADDRINUSE: address already in use 127.0.0.1:N" per address,
  // each followed by its stack lines.
  const lines = [...err.message.matchAll(/^\s+(\/\S+): (?:\w*Error: )?(.+)$/gm)].map(
    ([, addr, reason]) => `cannot listen on ${addr}: ${reason}`,
  )
  return lines.length > 0 ? lines.join('\n') : undefined
}
