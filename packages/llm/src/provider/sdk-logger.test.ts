import { createMemoryLogger, registerSecret, setDefaultLogger } from '@tinyllm/logger'
import { afterEach, describe, expect, it } from 'vitest'
import { sdkLogger } from './sdk-logger.js'

afterEach(() => setDefaultLogger(undefined))

describe('sdkLogger', () => {
  it('writes an SDK’s log lines through the default logger, at their level, redacted', () => {
    const logger = createMemoryLogger({ level: 'trace' })
    setDefaultLogger(logger)
    const key = 'sdk-logger-test-key-0123456789'
    const release = registerSecret(key)
    try {
      const sdk = sdkLogger('example')
      sdk.debug('[log_1] response error', { headers: { authorization: `Bearer ${key}` }, message: `bad key ${key}` })
      sdk.warn(`retrying for ${key}`)
      expect(logger.entries).toEqual([
        {
          level: 'debug',
          message: '[log_1] response error',
          fields: {
            logger: 'example-sdk',
            details: { headers: { authorization: '[REDACTED]' }, message: 'bad key [REDACTED]' },
          },
        },
        { level: 'warn', message: 'retrying for [REDACTED]', fields: { logger: 'example-sdk' } },
      ])
    } finally {
      release()
    }
  })

  it('skips lines the default logger’s level leaves out', () => {
    const logger = createMemoryLogger({ level: 'info' })
    setDefaultLogger(logger)
    sdkLogger('example').debug('not written', { large: 'x'.repeat(10_000) })
    expect(logger.entries).toEqual([])
  })
})
