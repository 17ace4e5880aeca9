import { describe, expect, it } from 'vitest'
import { UsageError } from '../options.js'
import { activeTestHooks } from './test-hooks.js'

describe('test hooks need two opt-ins', () => {
  it('no CONCLAVE_TEST_* variable: nothing active, with or without the flag', () => {
    expect(activeTestHooks({ PATH: '/bin', CONCLAVE_DATA_DIR: '/x' }, false)).toEqual([])
    expect(activeTestHooks({ CONCLAVE_TEST_BREAK: '' }, true)).toEqual([])
  })

  it('a variable without --enable-test-hooks refuses to start', () => {
    expect(() => activeTestHooks({ CONCLAVE_TEST_BREAK: 'lease' }, false)).toThrow(UsageError)
    expect(() => activeTestHooks({ CONCLAVE_TEST_CLOCK_DRIFT_PPM: '5' }, false)).toThrow(
      /--enable-test-hooks/,
    )
  })

  it('with the flag, lists the active hooks by name', () => {
    expect(
      activeTestHooks({ CONCLAVE_TEST_CHAOS_PROBE: '10.0.0.1:1', CONCLAVE_TEST_BREAK: 'lease' }, true),
    ).toEqual(['CONCLAVE_TEST_BREAK', 'CONCLAVE_TEST_CHAOS_PROBE'])
  })
})
