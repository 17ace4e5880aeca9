/**
 * Node 20 compatibility: libp2p 3 calls `Promise.withResolvers` (Node >= 22). This module installs
 * a spec-shaped polyfill only when the method is missing, and must be imported before libp2p is
 * used (runtime/index imports it first). On Node >= 22 it does nothing.
 */
interface WithResolvers<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

const P = Promise as unknown as { withResolvers?: <T>() => WithResolvers<T> }

if (typeof P.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(): WithResolvers<T> {
      let resolve!: WithResolvers<T>['resolve']
      let reject!: WithResolvers<T>['reject']
      const promise = new Promise<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
  })
}

export const promiseWithResolversInstalled = true
