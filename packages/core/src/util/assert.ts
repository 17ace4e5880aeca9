/**
 * Invariant assertions. A failed assertion is a bug in Conclave, never bad input from the
 * network (that is a counted rejection, see wire/errors.ts): crash loudly, with the values.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError'
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionError(typeof message === 'function' ? message() : message)
  }
}

export function unreachable(value: never, what = 'value'): never {
  throw new AssertionError(`unreachable ${what}: ${JSON.stringify(value)}`)
}
