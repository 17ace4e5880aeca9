import { describe, expect, it } from 'vitest'
import { libp2pLogger, silentLogger } from './silent-logger.js'

describe('silentLogger', () => {
  it('is used unless DEBUG asks for libp2p logs', () => {
    expect(libp2pLogger({})).toBe(silentLogger)
    expect(libp2pLogger({ DEBUG: '' })).toBe(silentLogger)
    expect(libp2pLogger({ DEBUG: 'libp2p:*' })).toBeUndefined()
  })

  it('logs nothing at any scope, and every scope is the same logger', () => {
    const log = silentLogger.forComponent('libp2p:connection')
    expect(log.enabled).toBe(false)
    expect(log.newScope('mss:select')).toBe(log)
    expect(silentLogger.forComponent('other')).toBe(log)
    expect(() => {
      log('x %s', 1)
      log.error('x %e', new Error('e'))
      log.trace('x')
    }).not.toThrow()
  })
})
