import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { bindFailureMessage } from './start-errors.js'

const servers: Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

/** The error Node raises for a second listen on a taken loopback port. */
async function addressInUseError(): Promise<{ err: Error; port: number }> {
  const first = createServer()
  servers.push(first)
  await new Promise<void>((resolve) => first.listen(0, '127.0.0.1', resolve))
  const port = (first.address() as { port: number }).port
  const second = createServer()
  servers.push(second)
  const err = await new Promise<Error>((resolve) => {
    second.once('error', resolve)
    second.listen(port, '127.0.0.1')
  })
  return { err, port }
}

describe('bindFailureMessage', () => {
  it("names the admin address of Node's own EADDRINUSE", async () => {
    const { err, port } = await addressInUseError()
    expect(bindFailureMessage(err)).toBe(
      `cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
    )
  })

  it("gives one line per address of libp2p's UnsupportedListenAddressesError, without stacks", async () => {
    const { err, port } = await addressInUseError()
    // The message libp2p 3's transport manager builds from its listen errors.
    const stack = `${err.message}\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`
    const folded = new Error(
      'Some configured addresses failed to be listened on, you may need to remove one or more listen addresses from your configuration or set `transportManager.faultTolerance` to NO_FATAL:\n' +
        `\n  /ip4/127.0.0.1/tcp/${port}: Error: ${stack.split('\n').join('\n  ')}\n` +
        `\n  /ip4/10.9.9.9/tcp/4001: Error: listen EADDRNOTAVAIL: address not available 10.9.9.9:4001\n`,
    )
    folded.name = 'UnsupportedListenAddressesError'
    expect(bindFailureMessage(folded)?.split('\n')).toEqual([
      `cannot listen on /ip4/127.0.0.1/tcp/${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
      'cannot listen on /ip4/10.9.9.9/tcp/4001: listen EADDRNOTAVAIL: address not available 10.9.9.9:4001',
    ])
  })

  it('leaves every other error to the caller', () => {
    expect(bindFailureMessage(new Error('boom'))).toBeUndefined()
    expect(bindFailureMessage('EADDRINUSE')).toBeUndefined()
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    expect(bindFailureMessage(refused)).toBeUndefined()
  })
})
