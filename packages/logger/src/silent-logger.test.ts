import { describe, expect, it } from 'vitest'
import { createSilentLogger } from './silent-logger.js'

describe('createSilentLogger', () => {
  it('accepts every call, reports every level disabled and has silent children', () => {
    const logger = createSilentLogger()
    expect(() => {
      logger.trace('t')
      logger.debug('d', { a: 1 })
      logger.info('i')
      logger.warn('w')
      logger.error('e', { error: new Error('x') })
    }).not.toThrow()
    for (const level of ['trace', 'debug', 'info', 'warn', 'error'] as const) {
      expect(logger.isLevelEnabled(level)).toBe(false)
    }
    expect(logger.child({ a: 1 }).isLevelEnabled('error')).toBe(false)
  })
})
