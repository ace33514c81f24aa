import { readFileSync } from 'node:fs'
import { format, inspect } from 'node:util'
import { runInNewContext } from 'node:vm'
import { registerSecret } from '@tinyllm/logger'
import { describe, expect, it, vi } from 'vitest'
import { defineFunction } from './define-function.js'
import {
  AbortError,
  BudgetExceededError,
  brandError,
  ConfigurationError,
  FunctionError,
  formatIssuePath,
  InvalidTransitionError,
  NonDeterminismError,
  StepLimitError,
  safeStringify,
  TimeoutError,
  TinyLLMError,
  ValidationError,
} from './errors.js'

describe('errors', () => {
  it('an AbortError of a run cancelled without a reason it can read names the Function and its state', async () => {
    const unreadable = (controller: AbortController): AbortSignal =>
      Object.defineProperty(controller.signal, 'reason', {
        get() {
          throw new Error('no reason for you')
        },
      })
    const waits = defineFunction({
      name: 'Waits',
      run: (_: undefined, { signal }) =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    })
    const later = new AbortController()
    const pending = waits.invoke(undefined, { signal: unreadable(later) }).catch((thrown: unknown) => thrown)
    await new Promise((resolve) => setImmediate(resolve))
    later.abort()
    const inRun = await pending
    expect(AbortError.isInstance(inRun)).toBe(true)
    expect((inRun as AbortError).message).toBe('Waits: aborted in running')
    expect((inRun as AbortError).functionName).toBe('Waits')
    const before = new AbortController()
    before.abort()
    const atStart = await waits.invoke(undefined, { signal: unreadable(before) }).catch((thrown: unknown) => thrown)
    expect((atStart as AbortError).message).toBe('Waits: aborted in init')
  })

  it('are recognised across duplicated package copies through their Symbol.for marker', () => {
    // A structurally separate copy: an error whose prototype carries the same global symbols.
    const foreign = Object.create(
      Object.assign(Object.create(Error.prototype), {
        [Symbol.for('tinyllm.error.TinyLLMError')]: true,
        [Symbol.for('tinyllm.error.TimeoutError')]: true,
      }),
    )
    expect(TinyLLMError.isInstance(foreign)).toBe(true)
    expect(TimeoutError.isInstance(foreign)).toBe(true)
    expect(ValidationError.isInstance(foreign)).toBe(false)
    expect(TinyLLMError.isInstance(new Error('plain'))).toBe(false)
    expect(TinyLLMError.isInstance(null)).toBe(false)
  })

  it('keep name, cause and their own fields, and serialise to JSON', () => {
    const cause = new Error('socket hang up')
    const error = new FunctionError({ functionName: 'fetch', state: 'running', cause, retryable: true })
    expect(error.name).toBe('FunctionError')
    expect(error.retryable).toBe(true)
    expect(TinyLLMError.isInstance(error)).toBe(true)
    expect(error.cause).toBe(cause)
    const json = JSON.parse(JSON.stringify(error))
    expect(json).toMatchObject({ name: 'FunctionError', functionName: 'fetch', state: 'running', retryable: true })
    expect(json.cause).toEqual({ name: 'Error', message: 'socket hang up' })
  })

  it('quote no part of a secret where they cut a long string they were given', () => {
    const secret = 'correct-horse-battery-staple'
    const unregister = registerSecret(secret)
    try {
      const long = `${'x'.repeat(1_000 - 10)}${secret}${'z'.repeat(5_000)}`
      const error = new FunctionError({ functionName: 'fetch', state: 'running', cause: long })
      const json = JSON.stringify(error)
      expect(json).not.toContain(secret.slice(0, 10))
      // The message quotes 200 characters of what was thrown: a secret there is replaced whole, too.
      const thrown = `${'x'.repeat(200 - 15)}${secret}`
      expect(new FunctionError({ functionName: 'f', state: 'running', cause: thrown }).message).not.toContain(
        secret.slice(0, 10),
      )
    } finally {
      unregister()
    }
  })

  it('print with secrets replaced in Node, also those of the cause they keep as it was thrown', () => {
    const secret = 'correct-horse-battery-staple'
    const unregister = registerSecret(secret)
    try {
      const cause = Object.assign(new Error(`the server echoed ${secret}`), { sent: { authorization: secret } })
      const error = new FunctionError({ functionName: 'fetch', state: 'running', cause })
      expect(error.cause).toBe(cause)
      for (const text of [inspect(error), inspect({ wrapped: [error] }, { depth: null }), format('%o', error)]) {
        expect(text).not.toContain(secret)
        expect(text).toContain('[cause]: Error: the server echoed [REDACTED]')
      }
      expect(inspect(error, { depth: 0 })).not.toContain(secret)
    } finally {
      unregister()
    }
  })

  it('print, and never throw, when the cause is a Proxy whose traps throw', () => {
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('trap')
        },
      },
    )
    const error = new FunctionError({ functionName: 'fetch', state: 'running', cause: hostile })
    const text = inspect(error, { depth: null })
    expect(text).toMatch(/^FunctionError: fetch: running threw/)
    expect(text).toContain("[cause]: '[an unreadable value]'")
  })

  it('print with secrets replaced when a field of the cause has a getter that throws, the fields beside it redacted', () => {
    const secret = 'plainlowercasecredential'
    const cause = Object.assign(new Error('request failed'), {
      config: { headers: { AUTHORIZATION: secret, cookie: secret }, auth: { password: secret } },
    })
    Object.defineProperty(cause, 'response', {
      enumerable: true,
      get() {
        throw new Error('socket gone')
      },
    })
    const error = new FunctionError({ functionName: 'fetch', state: 'running', cause })
    const text = inspect(error, { depth: null })
    expect(text).not.toContain(secret)
    expect(text).toContain("AUTHORIZATION: '[REDACTED]'")
    expect(text).toContain("response: '[Unserializable]'")
  })

  it('print a cause thrown with a message of megabytes in kilobytes: each string of an error cut at 20,000 characters', () => {
    const cause = Object.assign(new Error('m'.repeat(10_000_000)), { body: 'b'.repeat(10_000_000) })
    const text = inspect(new FunctionError({ functionName: 'fetch', state: 'running', cause }), { depth: null })
    expect(text.length).toBeLessThan(70_000)
    expect(text).toMatch(/^FunctionError: fetch: running threw Error: m+…/)
    expect(text).toContain(`[cause]: [Error: ${'m'.repeat(100)}`)
    expect(text).toContain(`body: '${'b'.repeat(100)}`)
    // The cut is tinyllm's, at 20,000 characters, not Node's own 10,000 (which maxStringLength lifts) nor merely
    // somewhere below the bound on the whole text: the longest run of each string printed is 20,000 characters at most.
    const whole = inspect(new FunctionError({ functionName: 'fetch', state: 'running', cause }), {
      depth: null,
      maxStringLength: Number.POSITIVE_INFINITY,
    })
    const longestRun = (letter: string) =>
      Math.max(...[...whole.matchAll(new RegExp(`${letter}+`, 'g'))].map(([run]) => run.length))
    expect(longestRun('b')).toBe(20_000)
    // The cause's stack, `Error: ` and its message, is one string of 20,000 characters.
    expect(longestRun('m')).toBe(20_000 - 'Error: '.length)
    expect(whole.length).toBeLessThan(70_000)
  })

  it('print a secret of the cause replaced when printing would escape or cut it: quotes, control characters, length', () => {
    for (const secret of [
      `q'uo"te\`s-secret-1234567`,
      'bell\u0007secret-12345678',
      `${'L'.repeat(12_000)}longsecret`,
    ]) {
      const unregister = registerSecret(secret)
      try {
        const cause = Object.assign(new Error('boom'), { echoed: secret, nested: { deep: [secret] } })
        const text = inspect(new FunctionError({ functionName: 'fetch', state: 'running', cause }), { depth: null })
        // The secret's first 12 characters, as they are and as printing escapes them.
        for (const piece of [secret.slice(0, 12), inspect(secret).slice(1, 13)]) expect(text).not.toContain(piece)
        expect(text).toContain("echoed: '[REDACTED]'")
        expect(text).toMatch(/^FunctionError: fetch: running threw Error: boom\n {4}at /)
      } finally {
        unregister()
      }
    }
  })

  it('serialise to JSON whatever their fields hold: BigInt as digits, cycles cut', () => {
    const circular: Record<string, unknown> = { choice: 'maybe' }
    circular.self = circular
    for (const [received, json] of [
      [10n, '10'],
      [circular, { choice: 'maybe', self: '[Circular]' }],
    ] as const) {
      const error = new AbortError({ reason: received })
      expect(JSON.parse(JSON.stringify(error))).toMatchObject({ name: 'AbortError', reason: json })
    }
    const aborted = new AbortError({ reason: 7n })
    expect(JSON.parse(JSON.stringify(aborted))).toMatchObject({ reason: '7', cause: '7' })
  })

  it('never show a secret in their message, stack or JSON, whatever they quote', () => {
    const key = 'sk-proj-errorsTestKeyThatLooksReal0123456789abcdefghij'
    const errors = [
      new FunctionError({ functionName: 'classify', state: 'running', cause: `use ${key}` }),
      new AbortError({ reason: new Error(`cancelled while calling with ${key}`) }),
      new FunctionError({ functionName: 'fetch', state: 'running', cause: new Error(`401 for Bearer ${key}`) }),
      // Quoted as JSON, a line break before the key would read `\n` and hide where the key starts.
      new FunctionError({ functionName: 'relay', state: 'running', cause: `upstream said:\n${key}` }),
      new FunctionError({ functionName: 'relay', state: 'running', cause: { detail: `line\n${key}` } }),
    ]
    for (const error of errors) {
      expect(error.message).toContain('[REDACTED]')
      expect(`${error.stack}${JSON.stringify(error)}`).not.toContain(key)
    }
  })

  it('quote at most 1,000 characters of a thrown string in their JSON', () => {
    const error = new FunctionError({ functionName: 'f', state: 'running', cause: 'x'.repeat(10_000_000) })
    expect(error.message.length).toBeLessThan(1_000)
    expect(JSON.stringify(error).length).toBeLessThan(2_000)
    // The JSON's length alone would let a cut at 1,900 characters through.
    expect((JSON.parse(JSON.stringify(error)) as { cause: string }).cause).toBe(`${'x'.repeat(1_000)}…`)
  })

  it('quote a 10 MB abort reason, in a message or in a field of their own, cut short', async () => {
    const reason = 'z'.repeat(10_000_000)
    const direct = new AbortError({ reason, functionName: 'f', state: 'running' })
    const run = await defineFunction({ name: 'f', run: () => 1 })
      .invoke(undefined, { signal: AbortSignal.abort(reason) })
      .catch((thrown: unknown) => thrown)
    for (const error of [direct, run, new AbortError({ reason: new Error(reason) })]) {
      expect(AbortError.isInstance(error)).toBe(true)
      expect((error as AbortError).message.length).toBeLessThan(1_000)
      expect(JSON.stringify(error).length).toBeLessThan(3_000)
    }
    expect(direct.reason).toBe(reason)
  })

  it('quote a long string inside an object they were given cut short too: an abort reason, a cause', async () => {
    const big = 'z'.repeat(5_000_000)
    const reason = { why: big, details: [big, { deeper: big }] }
    const run = await defineFunction({ name: 'f', run: () => 1 })
      .invoke(undefined, { signal: AbortSignal.abort(reason) })
      .catch((thrown: unknown) => thrown)
    const errors = [
      new AbortError({ reason, functionName: 'f', state: 'running' }),
      run,
      new FunctionError({ functionName: 'f', state: 'running', cause: { body: big } }),
      new TinyLLMError({ message: 'm', cause: [big] }),
    ]
    for (const error of errors) {
      const json = JSON.stringify(error)
      expect(json.length).toBeLessThan(20_000)
      expect(json).toContain(`${'z'.repeat(1_000)}…`)
      // Read back in another process, it is no longer than it was.
      expect(JSON.stringify(TinyLLMError.fromJSON(JSON.parse(json))).length).toBeLessThan(20_000)
    }
    expect((errors[0] as AbortError).reason).toBe(reason)
  })

  it('format issue paths readably', () => {
    expect(formatIssuePath([])).toBe('(root)')
    expect(formatIssuePath(['a', 0, 'b'])).toBe('a[0].b')
    expect(formatIssuePath(['weird key'])).toBe('["weird key"]')
  })

  it('describe an abort with its reason', () => {
    expect(new AbortError({ reason: 'user left', functionName: 'f', state: 'running' }).message).toBe(
      'f: aborted in running: user left',
    )
  })

  it('describe an error of another realm (node:vm) by its name and message, as one of this realm', async () => {
    const foreign = runInNewContext('new TypeError("x is not a function")') as Error
    expect(foreign instanceof Error).toBe(false)
    const thrower = defineFunction({
      name: 'f',
      run: () => {
        throw foreign
      },
    })
    const error = await thrower.invoke(undefined).catch((caught: unknown) => caught)
    expect(FunctionError.isInstance(error) && error.message).toBe('f: running threw TypeError: x is not a function')
    expect((error as FunctionError).toJSON().cause).toEqual({ name: 'TypeError', message: 'x is not a function' })
    const reason = runInNewContext('new Error("the user left")') as Error
    expect(new AbortError({ reason, functionName: 'f', state: 'running' }).message).toBe(
      'f: aborted in running: the user left',
    )
  })
})

describe('errors that are never retried', () => {
  it('stay unretryable, without a retry-after hint, whatever else their options carry', async () => {
    // Options built from another object (an error's fields, say) may carry `retryable` and `retryAfterMs`.
    const extra = { retryable: true, retryAfterMs: 5 } as object
    const errors = [
      new ConfigurationError({ option: 'x', message: 'x must be 1', ...extra }),
      new ValidationError({ functionName: 'f', state: 'running', issues: [], ...extra }),
      new AbortError({ reason: 'the user left', ...extra }),
      new BudgetExceededError({ limit: 'tokens', budget: 1, spent: 1, requested: 1, ...extra }),
      new StepLimitError({ limit: 1, ...extra }),
      new NonDeterminismError({ key: 'k', expected: 'a', found: 'b', functionName: 'f', ...extra }),
      new TimeoutError({ timeoutMs: 1, kind: 'total', ...extra }),
    ]
    for (const error of errors) {
      expect([error.name, error.retryable, error.retryAfterMs]).toEqual([error.name, false, undefined])
      let calls = 0
      const fn = defineFunction({
        name: 'f',
        retry: { attempts: 3, initialDelayMs: 0 },
        run: () => {
          calls += 1
          throw error
        },
      })
      await fn.invoke(undefined).catch(() => {})
      expect([error.name, calls]).toEqual([error.name, 1])
    }
  })
})

describe('TinyLLMError.fromJSON', () => {
  it('keeps a name on one line, so JSON cannot forge lines of the stack it shows', () => {
    const error = TinyLLMError.fromJSON({ name: 'QuotaError\n    at payments (/srv/pay.js:1:1)', message: 'over' })
    expect(error.name).toBe('QuotaError\\n    at payments (/srv/pay.js:1:1)')
    expect(error.stack?.split('\n')).toHaveLength(2)
  })

  it('cuts a name of megabytes read back from JSON, as a name is cut, in the error and its stack', () => {
    const error = TinyLLMError.fromJSON({ name: 'N'.repeat(1_000_000), message: 'm' })
    expect(error.name.length).toBeLessThanOrEqual(201)
    expect(String(error.stack).length).toBeLessThan(1_000)
  })

  it('rehydrates an error class of another package branded as the README shows, as that class', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const [, className, key] = /brandError\((\w+), '([^']*)'\)/.exec(readme) ?? []
    expect(className).toBe('QuotaError')
    class QuotaError extends TinyLLMError {
      override readonly name = 'QuotaError'
      declare static isInstance: (error: unknown) => error is QuotaError
    }
    brandError(QuotaError, key as string)
    const error = new QuotaError({ message: 'monthly quota used up' })
    expect(QuotaError.isInstance(TinyLLMError.fromJSON(JSON.parse(JSON.stringify(error))))).toBe(true)
  })

  it('rehydrates a class branded through another copy of core as that class, and core’s own as its own', async () => {
    // Two copies of core in one process: @tinyllm/llm brands ProviderCallError with the copy it brought, and the
    // executor reading a job's error back uses the other.
    vi.resetModules()
    const copy = (await import('./index.js')) as typeof import('./index.js')
    expect(copy.TinyLLMError).not.toBe(TinyLLMError)
    class GatewayError extends copy.TinyLLMError {
      override readonly name = 'GatewayError'
      declare static isInstance: (error: unknown) => error is GatewayError
    }
    copy.brandError(GatewayError, 'GatewayError')
    const json = JSON.parse(JSON.stringify(new GatewayError({ message: 'bad gateway', retryable: true })))
    const read = TinyLLMError.fromJSON(json)
    expect(GatewayError.isInstance(read)).toBe(true)
    expect(read).toBeInstanceOf(GatewayError)
    expect(read.retryable).toBe(true)
    // Core's own classes are still read back as this copy's, so that `instanceof` holds in this copy.
    expect(TinyLLMError.fromJSON({ name: 'TimeoutError', message: 'm' })).toBeInstanceOf(TimeoutError)
    expect(copy.TinyLLMError.fromJSON({ name: 'TimeoutError', message: 'm' })).toBeInstanceOf(copy.TimeoutError)
  })

  it('brandError refuses a class that is no tinyllm error, and a name of one of core’s own classes', () => {
    class QuotaError extends TinyLLMError {
      override readonly name = 'QuotaError'
    }
    for (const [target, name, message] of [
      [Object, 'TinyLLMError', /^brandError: target must be a class extending TinyLLMError/],
      [class Plain extends Error {}, 'Plain', /^brandError: target must be a class extending TinyLLMError/],
      [QuotaError, 'TimeoutError', /^brandError: name must be a name of its own, not one of tinyllm's error classes/],
      [QuotaError, '', /^brandError: name must be a class name, got ""/],
    ] as const)
      expect(() => brandError(target as never, name)).toThrow(message)
    expect(TinyLLMError.isInstance({})).toBe(false)
    expect(TimeoutError.isInstance(new QuotaError({ message: 'x' }))).toBe(false)
    // A class keeps its brand: TimeoutError branded as another name would let that name's errors pass for timeouts.
    expect(() => brandError(TimeoutError, 'QuotaError')).toThrow(
      /^brandError: name must be its own brand, TimeoutError/,
    )
    class OtherQuotaError extends TinyLLMError {
      override readonly name = 'OtherQuotaError'
    }
    brandError(OtherQuotaError, 'OtherQuotaError')
    expect(() => brandError(OtherQuotaError, 'Renamed')).toThrow(/its own brand, OtherQuotaError/)
    brandError(OtherQuotaError, 'OtherQuotaError')
    expect(TimeoutError.isInstance(new OtherQuotaError({ message: 'x' }))).toBe(false)
    expect(TimeoutError.isInstance(TinyLLMError.fromJSON({ name: 'TimeoutError', message: 'x' }))).toBe(true)
  })

  it('rehydrates a ValidationError of more issues than its JSON lists with issues only, and how many were left out', () => {
    const issues = Array.from({ length: 10_005 }, (_, index) => ({ path: [index], message: 'bad' }))
    const original = new ValidationError({ functionName: 'f', state: 'input_validation', issues })
    const copy = TinyLLMError.fromJSON(JSON.parse(JSON.stringify(original))) as ValidationError & {
      issuesLeftOut?: number
    }
    expect(ValidationError.isInstance(copy)).toBe(true)
    expect(copy.issues).toHaveLength(10_000)
    expect(copy.issues.every((issue) => typeof issue === 'object' && issue.message === 'bad')).toBe(true)
    expect(copy.issuesLeftOut).toBe(5)
  })

  it('rehydrates the same typed error across a process boundary: class, message, retryable and fields', () => {
    const errors = [
      new TimeoutError({ timeoutMs: 500, kind: 'attempt', functionName: 'chat', state: 'running' }),
      new TinyLLMError({ message: 'slow down', retryable: true, retryAfterMs: 20 }),
      new ValidationError({
        functionName: 'f',
        state: 'input_validation',
        issues: [{ path: ['a', 0], message: 'bad' }],
      }),
    ]
    for (const original of errors) {
      const copy = TinyLLMError.fromJSON(JSON.parse(JSON.stringify(original)))
      expect(copy.constructor).toBe(original.constructor)
      expect(copy.name).toBe(original.name)
      expect(copy.message).toBe(original.message)
      expect(copy.retryable).toBe(original.retryable)
      expect(JSON.stringify(copy)).toBe(JSON.stringify(original))
    }
    const timeout = TinyLLMError.fromJSON(JSON.parse(JSON.stringify(errors[0])))
    expect(TimeoutError.isInstance(timeout)).toBe(true)
    expect(timeout).toMatchObject({ timeoutMs: 500, kind: 'attempt', retryable: true })
  })

  it('rehydrates the cause an error kept as an error: a tinyllm error as its class, any other by name and message', () => {
    const timeout = new TimeoutError({ timeoutMs: 50, kind: 'attempt', functionName: 'lookUp', state: 'running' })
    const wrapped = new ConfigurationError({ option: 'retry', message: 'gave up', functionName: 'f', cause: timeout })
    const read = TinyLLMError.fromJSON(JSON.parse(JSON.stringify(wrapped)))
    expect(TimeoutError.isInstance(read.cause)).toBe(true)
    expect(read.cause).toBeInstanceOf(TimeoutError)
    expect(read.cause).toMatchObject({ kind: 'attempt', timeoutMs: 50, retryable: true, message: timeout.message })
    // A FunctionError's cause is what the code threw: still an error, with its name and message, once read back.
    const thrown = new FunctionError({
      functionName: 'f',
      state: 'running',
      cause: new TypeError('x is not a function'),
    })
    const cause = TinyLLMError.fromJSON(JSON.parse(JSON.stringify(thrown))).cause
    expect(cause).toBeInstanceOf(Error)
    expect(String(cause)).toBe('TypeError: x is not a function')
    expect(JSON.stringify(TinyLLMError.fromJSON(JSON.parse(JSON.stringify(thrown))))).toBe(JSON.stringify(thrown))
    // A cause that was no error stays the value it was.
    const reason = TinyLLMError.fromJSON(JSON.parse(JSON.stringify(new AbortError({ reason: { name: 'x' } })))).cause
    expect(reason).toEqual({ name: 'x' })
  })

  it('never reaches a prototype, and falls back to TinyLLMError for an unknown name', () => {
    const hostile = JSON.parse(
      '{"name":"TimeoutError","message":"x","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
    )
    const error = TinyLLMError.fromJSON(hostile)
    expect(TimeoutError.isInstance(error)).toBe(true)
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(error)).toBe(TimeoutError.prototype)
    const unknown = TinyLLMError.fromJSON({ name: 'SomethingElse', message: 'y', retryable: 'yes' })
    expect(unknown.constructor).toBe(TinyLLMError)
    expect(unknown.retryable).toBe(false)
  })

  it('replace a registered secret in the message and stack of an error rehydrated from JSON, as when constructed', () => {
    const secret = `tenant-key-${'q'.repeat(24)}`
    const release = registerSecret(secret)
    try {
      // JSON from a process that did not know the secret, and so did not redact it.
      const error = TinyLLMError.fromJSON({ name: 'TimeoutError', message: `failed with ${secret}` })
      // Asserted as booleans, so that a failure does not print the secret either.
      expect(error.message === 'failed with [REDACTED]').toBe(true)
      expect(String(error.stack).includes(secret)).toBe(false)
      expect(String(error).includes(secret)).toBe(false)
    } finally {
      release()
    }
  })

  it('are recognised only as errors: an object carrying the marker is not one, and a cause whose toJSON throws is shown', async () => {
    const marked = { [Symbol.for('tinyllm.error.TinyLLMError')]: true, message: 'not an error' }
    expect(TinyLLMError.isInstance(marked)).toBe(false)
    // Dressed as an error, it is still none.
    expect(TinyLLMError.isInstance({ ...marked, [Symbol.toStringTag]: 'Error' })).toBe(false)
    const f = defineFunction({
      name: 'f',
      run: () => {
        throw marked
      },
    })
    const error = await f.invoke(1).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(Error)
    expect(FunctionError.isInstance(error)).toBe(true)
    class BrokenJsonError extends TinyLLMError {
      override toJSON(): Record<string, unknown> {
        throw new Error('no JSON')
      }
    }
    const wrapped = new FunctionError({
      functionName: 'f',
      state: 'running',
      cause: new BrokenJsonError({ message: 'm' }),
    })
    expect(JSON.parse(JSON.stringify(wrapped)).cause).toEqual({ name: 'TinyLLMError', message: 'm' })
  })

  it('are made, and read back, from whatever plain JavaScript hands them, without a TypeError', () => {
    expect(new TinyLLMError(undefined as never).message).toBe('')
    expect(new TinyLLMError({} as never).message).toBe('')
    const noIssues = new ValidationError({ functionName: 'f', state: 'input_validation' } as never)
    expect(noIssues.issues).toEqual([])
    expect(noIssues.message).toBe('f: invalid input (input_validation, 0 issues)\n')
    const unreadable = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys')
        },
      },
    )
    const error = TinyLLMError.fromJSON(unreadable)
    expect(TinyLLMError.isInstance(error)).toBe(true)
    expect(error.message).toBe('an error that could not be read back: Error: no keys')
    expect(TinyLLMError.fromJSON(Symbol('s')).message).toBe('Symbol(s)')
  })

  it('read back a message that is not a string as the constructor keeps one, never as an empty message', () => {
    for (const message of [{ code: 'E_QUOTA', detail: 'over quota' }, 42, ['a', 'b'], null]) {
      const made = new TinyLLMError({ message: message as never }).message
      expect(made).not.toBe('')
      expect(TinyLLMError.fromJSON({ name: 'QuotaError', message }).message).toBe(made)
      expect(TinyLLMError.fromJSON({ name: 'TimeoutError', message }).message).toBe(made)
    }
    expect(TinyLLMError.fromJSON({ name: 'TimeoutError' }).message).toBe('')
  })

  it('of every class are made without their options, or with null, and say what they were not told', () => {
    const made = (Class: new (options: never) => TinyLLMError, options: unknown): string => {
      const error = new Class(options as never)
      expect([Class.name, error instanceof Class, TinyLLMError.isInstance(error)]).toEqual([Class.name, true, true])
      expect(JSON.parse(JSON.stringify(error)).name).toBe(Class.name)
      return error.message
    }
    for (const options of [undefined, null, 'not an object']) {
      expect(made(ValidationError, options)).toBe('operation: invalid value (no state given, 0 issues)\n')
      expect(made(InvalidTransitionError, options)).toBe(
        'state machine: illegal transition undefined → undefined (allowed from undefined: not given)',
      )
      expect(made(TimeoutError, options)).toBe('operation: run timed out')
      expect(made(AbortError, options)).toBe('operation: aborted')
      expect(made(BudgetExceededError, options)).toBe(
        'call: budget of NaN USD would be exceeded (spent NaN USD, this call needs up to NaN USD); the call was not sent',
      )
      expect(made(ConfigurationError, options)).toBe('an invalid option')
      expect(made(StepLimitError, options)).toBe('operation: step limit of NaN steps reached')
      expect(made(FunctionError, options)).toBe('operation: a state not given threw undefined')
      expect(made(NonDeterminismError, options)).toMatch(/^operation: the journal holds {2}at , but {2}ran there/)
    }
  })

  it('quote a value whose parts are shared many times over by what they show: each part is read while text is shown', async () => {
    let reads = 0
    let shared: unknown = 'x'
    for (let level = 0; level < 40; level++) {
      const next = shared
      shared = {
        get a() {
          reads += 1
          return next
        },
        get b() {
          reads += 1
          return next
        },
      }
    }
    // 2⁴⁰ paths: read along each, the quote would never end.
    expect(safeStringify(shared, 60)).toMatch(/^\{"a":\{"a":\{.*…$/)
    expect(reads).toBeLessThan(200)
    const f = defineFunction({
      name: 'f',
      run: () => {
        throw shared
      },
    })
    reads = 0
    const error = await f.invoke(1).catch((thrown: unknown) => thrown)
    expect(FunctionError.isInstance(error)).toBe(true)
    expect(reads).toBeLessThan(1_000)
    reads = 0
    const refused = await f.invoke(1, { timeoutMs: shared as never }).catch((thrown: unknown) => thrown)
    expect(ConfigurationError.isInstance(refused)).toBe(true)
    expect(reads).toBeLessThan(1_000)
    // A key longer than the cut is not written: 150 levels of a megabyte key make no 150 MB text.
    let nested: unknown = 1
    for (let level = 0; level < 150; level++) nested = { ['k'.repeat(1_000_000)]: nested, a: level }
    expect(safeStringify(nested, 40)).toBe('{}…')
    expect(safeStringify({ a: 1, ['k'.repeat(100)]: 2 }, 40)).toBe('{"a":1}…')
    // A long string is cut before its secrets are looked for: a megabyte costs what the quote shows.
    expect(safeStringify(['y'.repeat(1_000_000), 'z'.repeat(1_000_000)], 20)).toBe(`["${'y'.repeat(18)}…`)
  })

  it('quote a list by its first entries only: a huge or sparse list in an option or a throw is refused at once', async () => {
    let reads = 0
    const counted = new Proxy(new Array(1_000_000).fill(0), {
      get(target, key, receiver) {
        reads += 1
        return Reflect.get(target, key, receiver)
      },
    })
    expect(safeStringify(counted, 60)).toBe(`[${'0,'.repeat(29)}0…`)
    expect(reads).toBeLessThan(1_000)
    const f = defineFunction({
      name: 'f',
      run: () => {
        throw new Array(2 ** 32 - 1)
      },
    })
    const refused = await f.invoke(1, { timeoutMs: new Array(2 ** 32 - 1) as never }).catch((error: unknown) => error)
    expect((refused as Error).message).toBe(
      `f: timeoutMs must be a number of ms > 0 and ≤ 2147483647, got [${'null,'.repeat(11)}null…`,
    )
    const thrown = await f.invoke(1).catch((error: unknown) => error)
    expect(FunctionError.isInstance(thrown)).toBe(true)
    expect((thrown as Error).message).toMatch(/^f: running threw \[null,null,/)
  })

  it('never lets JSON replace a method: toJSON and toString keep working on the error and on one it caused', () => {
    const hostile = JSON.parse('{"name":"TimeoutError","message":"m","toJSON":"x","toString":1,"kind":"total"}')
    const error = TinyLLMError.fromJSON(hostile)
    expect(String(error)).toBe('TimeoutError: m')
    expect(error.toJSON()).toMatchObject({ name: 'TimeoutError', message: 'm', kind: 'total' })
    const wrapper = new FunctionError({ functionName: 'f', state: 'running', cause: error })
    expect(JSON.parse(JSON.stringify(wrapper)).cause).toMatchObject({ name: 'TimeoutError', message: 'm' })
  })

  it("quote whatever caused them: a cause whose name or message getter throws, a cause's 10 MB message", () => {
    const unreadable = (key: 'name' | 'message') => {
      const cause = new Error('x')
      Object.defineProperty(cause, key, {
        get() {
          throw cause
        },
      })
      return new FunctionError({ functionName: 'f', state: 'running', cause })
    }
    expect(JSON.parse(JSON.stringify(unreadable('message'))).cause).toEqual({
      name: 'Error',
      message: '[an unreadable value]',
    })
    expect(JSON.parse(JSON.stringify(unreadable('name'))).cause).toEqual({
      name: '[an unreadable value]',
      message: 'x',
    })
    const long = new FunctionError({ functionName: 'f', state: 'running', cause: new Error('x'.repeat(10_000_000)) })
    expect(long.message.length).toBeLessThan(1_000)
    expect(JSON.stringify(long).length).toBeLessThan(2_000)
  })

  it('serialise a cycle of causes, and a chain of them however long, without overflowing the stack', () => {
    const first = new FunctionError({ functionName: 'f', state: 'running', cause: new Error('x') })
    const second = new AbortError({ functionName: 'g', state: 'running', reason: first })
    Object.assign(first, { cause: second })
    const json = JSON.parse(JSON.stringify(first))
    expect(json).toMatchObject({
      name: 'FunctionError',
      cause: { name: 'AbortError', cause: { name: 'FunctionError' } },
    })
    let chain: TinyLLMError = new TinyLLMError({ message: 'root' })
    for (let index = 0; index < 100_000; index++) chain = new TinyLLMError({ message: `link ${index}`, cause: chain })
    expect(JSON.stringify(chain).length).toBeLessThan(10_000)
  })
})

describe('an error made with a huge message', () => {
  it('keeps 10,000 characters of it, secrets replaced first, so a record holding it stays small', async () => {
    const huge = new TinyLLMError({
      message: `${'x'.repeat(9_990)} sk-proj-Abc123Def456Ghi789Jkl012Mno345 ${'y'.repeat(5e6)}`,
    })
    expect(huge.message.length).toBeLessThanOrEqual(10_001)
    expect(huge.message).not.toContain('Abc123Def456')
    const record = await defineFunction({
      name: 'call',
      run: () => {
        throw new TinyLLMError({ message: 'x'.repeat(5e6) })
      },
    }).trace(undefined)
    expect(JSON.stringify(record).length).toBeLessThan(100_000)
  })

  it('renders a typed array of 100,000 elements without reading past the cut', () => {
    // No clock: what JSON is asked to hand over is counted. A list as long is cut at once; a typed array must be too.
    const stringify = JSON.stringify
    let handed = 0
    type Replacer = (this: unknown, key: string, item: unknown) => unknown
    const spy = vi
      .spyOn(JSON, 'stringify')
      .mockImplementation((value: unknown, replacer?: unknown, space?: string | number) => {
        if (typeof replacer !== 'function') return stringify(value, replacer as never, space)
        return stringify(
          value,
          function (this: unknown, key: string, item: unknown) {
            handed += 1
            return (replacer as Replacer).call(this, key, item)
          },
          space,
        )
      })
    try {
      handed = 0
      expect(safeStringify(new Array(100_000).fill(0), 60)).toMatch(/^\[0,0,.*…$/)
      expect(handed).toBeLessThan(1_000)
      handed = 0
      expect(safeStringify(new Float32Array(100_000), 60)).toMatch(/…$/)
      expect(handed).toBeLessThan(1_000)
    } finally {
      spy.mockRestore()
    }
  })

  it('renders a Buffer without copying its every byte into a list first', () => {
    // A Buffer is a typed array with a toJSON of its own, which JSON calls before any replacer sees the value: the
    // typed-array cut never applies, and a 1 MB file's bytes become a list of a million numbers to print 60 characters.
    const toJSON = Buffer.prototype.toJSON
    let listed = 0
    const spy = vi.spyOn(Buffer.prototype, 'toJSON').mockImplementation(function (this: Buffer) {
      const json = toJSON.call(this)
      listed += json.data.length
      return json
    })
    try {
      expect(safeStringify(Buffer.alloc(1_000_000), 60)).toMatch(/…$/)
      expect(listed).toBeLessThan(1_000)
    } finally {
      spy.mockRestore()
    }
  })

  it('keeps a name read back from JSON at 200 characters, also once its control characters are escaped', () => {
    // Cut, then escaped: 300 control characters become 200 escapes of six characters each.
    const error = TinyLLMError.fromJSON({ name: '\u0001'.repeat(300), message: 'm' })
    expect(error.name.length).toBeLessThanOrEqual(201)
    expect(error.stack?.split('\n')[0]?.length).toBeLessThan(300)
  })
})
