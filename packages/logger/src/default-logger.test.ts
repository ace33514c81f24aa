import { afterEach, describe, expect, it } from 'vitest'
import { captureStream, jsonLines } from './__fixtures__/capture-stream.js'
import { createConsoleLogger } from './console-logger.js'
import { getDefaultLogger, getLogger, setDefaultLogger } from './default-logger.js'
import { createMemoryLogger } from './memory-logger.js'
import { createSilentLogger } from './silent-logger.js'

const KEY = Symbol.for('tinyllm.logger.default')

afterEach(() => {
  setDefaultLogger(undefined)
})

describe('the default logger', () => {
  it('is a console logger created on first use, then the same instance', () => {
    setDefaultLogger(undefined)
    expect((globalThis as Record<symbol, unknown>)[KEY]).toBeUndefined()
    const first = getDefaultLogger()
    expect(getDefaultLogger()).toBe(first)
    expect(first.isLevelEnabled('error')).toBe(true)
  })

  it('is replaced by setDefaultLogger and restored by setDefaultLogger(undefined)', () => {
    const memory = createMemoryLogger()
    setDefaultLogger(memory)
    expect(getDefaultLogger()).toBe(memory)
    setDefaultLogger(undefined)
    expect(getDefaultLogger()).not.toBe(memory)
  })

  it('accepts anything toLogger does, such as console-like objects', () => {
    const lines: string[] = []
    setDefaultLogger({ debug() {}, info: (message: string) => lines.push(message), warn() {}, error() {} })
    getDefaultLogger().info('through the adapter')
    expect(lines).toEqual(['through the adapter'])
  })

  it('lives on globalThis under Symbol.for("tinyllm.logger.default"), shared with other copies of the package', () => {
    const memory = createMemoryLogger()
    setDefaultLogger(memory)
    expect((globalThis as Record<symbol, unknown>)[KEY]).toBe(memory)
    const fromAnotherCopy = createMemoryLogger()
    ;(globalThis as Record<symbol, unknown>)[KEY] = fromAnotherCopy
    expect(getDefaultLogger()).toBe(fromAnotherCopy)
  })
})

describe('getLogger', () => {
  it('is the default logger with { logger: name } bound', () => {
    const memory = createMemoryLogger()
    setDefaultLogger(memory)
    getLogger('openai').child({ runId: 'r1' }).info('called', { ms: 5 })
    expect(memory.entries).toEqual([
      { level: 'info', message: 'called', fields: { logger: 'openai', runId: 'r1', ms: 5 } },
    ])
  })

  it('cannot itself become the default, which would make it follow itself', () => {
    expect(() => setDefaultLogger(getLogger('loop'))).toThrow(TypeError)
  })

  it('follows a default set after it was created, as a module-level logger must', () => {
    const log = getLogger('module')
    const first = createMemoryLogger()
    setDefaultLogger(first)
    log.info('one')
    const stream = captureStream()
    setDefaultLogger(createConsoleLogger({ stream }))
    log.info('two')
    setDefaultLogger(createSilentLogger())
    expect(log.isLevelEnabled('error')).toBe(false)
    log.error('three')
    expect(first.entries.map((entry) => entry.message)).toEqual(['one'])
    expect(jsonLines(stream)).toMatchObject([{ msg: 'two', logger: 'module' }])
  })
})
