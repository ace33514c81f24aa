import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { captureStream } from './__fixtures__/capture-stream.js'
import { createConsoleLogger } from './console-logger.js'
import { getLogger, setDefaultLogger } from './default-logger.js'
import type { Logger } from './logger.js'
import { createMemoryLogger } from './memory-logger.js'
import { registerSecret } from './registered-secrets.js'
import { toLogger } from './to-logger.js'

/** Shaped like a real OpenAI project key (164 characters). */
const CANARY_KEY = `sk-proj-CANARY${'Xq7Lm2Rt9Vb4Nk1Wz8Hc3Jd6Fp0Gs5Ty'.repeat(4)}T3BlbkFJ${'A1b2C3d4E5f6G7h8'.repeat(1)}`
/** A secret with no recognisable shape: only registration can catch it. */
const REGISTERED_SECRET = 'plain-looking-registered-value-42'

/** Every way a secret reaches a log call in practice. */
function logEverywhere(logger: Logger, secret: string): void {
  logger.error(`OpenAI rejected key ${secret}`)
  logger.error('in a field named apiKey', { apiKey: secret })
  logger.error('nested', { request: { config: { options: [`key is ${secret}`] } } })
  logger.error('headers', { headers: { Authorization: `Bearer ${secret}`, 'x-goog-api-key': secret } })
  logger.error('unnamed header value', { headers: { 'x-custom': `Bearer ${secret}` } })
  logger.error('error', {
    error: new Error(`401 Incorrect API key provided: ${secret}`, { cause: new Error(`while sending ${secret}`) }),
  })
  logger.error('url', { url: `https://example.test/v1?api_key=${secret}&x=1` })
  logger.child({ apiKey: secret, note: `bound ${secret}` }).error('from bindings')
}

/** Each logger under test, with what it wrote as text. */
const targets: [string, () => { logger: Logger; output(): string }][] = [
  [
    'console (JSON lines)',
    () => {
      const stream = captureStream(false)
      return { logger: createConsoleLogger({ stream }), output: stream.text }
    },
  ],
  [
    'console (pretty, coloured)',
    () => {
      const stream = captureStream(true)
      return { logger: createConsoleLogger({ stream, colors: true }), output: stream.text }
    },
  ],
  [
    'memory',
    () => {
      const logger = createMemoryLogger()
      return { logger, output: () => JSON.stringify(logger.entries) }
    },
  ],
  [
    'pino adapter',
    () => {
      const stream = captureStream()
      return { logger: toLogger(pino({ level: 'trace' }, stream)), output: stream.text }
    },
  ],
  [
    'console-like adapter',
    () => {
      const lines: string[] = []
      const write = (message: string, fields?: unknown) => lines.push(message, JSON.stringify(fields))
      return {
        logger: toLogger({ debug: write, info: write, warn: write, error: write }),
        output: () => lines.join('\n'),
      }
    },
  ],
  [
    'default logger via getLogger',
    () => {
      const memory = createMemoryLogger()
      setDefaultLogger(memory)
      return { logger: getLogger('canary'), output: () => JSON.stringify(memory.entries) }
    },
  ],
]

describe('a secret never reaches any logger output', () => {
  let unregister: () => void = () => {}
  beforeAll(() => {
    unregister = registerSecret(REGISTERED_SECRET)
  })
  afterAll(() => {
    unregister()
    setDefaultLogger(undefined)
  })

  describe.each(targets)('%s', (_name, create) => {
    it.each([
      ['a realistic sk-proj- API key', CANARY_KEY],
      ['a registered secret', REGISTERED_SECRET],
    ])('%s', (_kind, secret) => {
      const { logger, output } = create()
      logEverywhere(logger, secret)
      const written = output()
      expect(written).toContain('OpenAI rejected key')
      expect(written).toContain('[REDACTED]')
      expect(written).not.toContain(secret)
      expect(written).not.toContain('CANARY')
      expect(written).not.toContain(secret.slice(8, 30))
    })
  })

  it('leaves ordinary text and usage fields alone in every logger', () => {
    const text = 'Used 1234 tokens for the task-based sk-learn pipeline; password reset sent'
    for (const [, create] of targets) {
      const { logger, output } = create()
      logger.info(text, { maxTokens: 4096, total_tokens: 1234, author: 'Jane', model: 'gpt-4o-mini' })
      const written = output()
      expect(written).toContain(text)
      expect(written).toContain('4096')
      expect(written).toContain('gpt-4o-mini')
      expect(written).toContain('Jane')
      expect(written).not.toContain('[REDACTED]')
    }
  })
})
