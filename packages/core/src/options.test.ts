import { registerSecret } from '@tinyllm/logger'
import { describe, expect, it } from 'vitest'
import { CancelScope } from './cancellation.js'
import { defineFunction } from './define-function.js'
import { ConfigurationError } from './errors.js'
import { checkBoolean, checkKnownOptions, checkNumber, knownSpelling, optionError } from './options.js'
import { resolveRetryPolicy } from './retry-policy.js'

describe('knownSpelling', () => {
  const settings: ReadonlySet<string> = new Set(['model', 'topP', 'maxTokens', 'stop', 'temperature'])

  it("finds the option another case, snake_case, kebab-case or another library's name spells", () => {
    expect(knownSpelling('TopP', settings)).toBe('topP')
    expect(knownSpelling('top_p', settings)).toBe('topP')
    expect(knownSpelling('top-p', settings)).toBe('topP')
    expect(knownSpelling('max-tokens', settings)).toBe('maxTokens')
    expect(knownSpelling('max-output-tokens', settings)).toBe('maxTokens')
    expect(knownSpelling('Temperature', settings)).toBe('temperature')
    expect(knownSpelling('modelName', settings)).toBe('model')
    expect(knownSpelling('model_name', settings)).toBe('model')
    expect(knownSpelling('maxOutputTokens', settings)).toBe('maxTokens')
    expect(knownSpelling('max_output_tokens', settings)).toBe('maxTokens')
    expect(knownSpelling('maxCompletionTokens', settings)).toBe('maxTokens')
    expect(knownSpelling('stopSequences', settings)).toBe('stop')
  })

  it('suggests no near miss, and no alias the known options lack', () => {
    expect(knownSpelling('tool', new Set(['tools']))).toBeUndefined()
    expect(knownSpelling('id', new Set(['n']))).toBeUndefined()
    expect(knownSpelling('timeout', settings)).toBeUndefined()
  })

  it('checkKnownOptions refuses options that are not an object, never naming a character or an entry as an option', () => {
    for (const [options, shown] of [
      ['abc', 'got "abc"'],
      [['a'], 'got ["a"]'],
      [null, 'got null'],
    ] as const)
      expect(() => checkKnownOptions(options as unknown as object, settings, 'f')).toThrow(
        `f: options must be an object, ${shown}`,
      )
    // A revoked Proxy throws as soon as it is asked whether it is a list: options that cannot be read.
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    expect(() => checkKnownOptions(proxy, settings, 'f')).toThrow(ConfigurationError)
    expect(() => checkKnownOptions(proxy, settings, 'f')).toThrow(/^f: options could not be read: TypeError: /)
  })

  it('checkKnownOptions refuses a String object as options, never naming its characters as options', () => {
    const boxed = new String('runs.db') as unknown as object
    expect(() => checkKnownOptions(boxed, settings, 'f')).toThrow(ConfigurationError)
    expect(() => checkKnownOptions(boxed, settings, 'f')).toThrow('f: options must be an object, got "runs.db"')
  })

  it('refuses a Map or a Set as options, whose entries no check reads: a budget or a retry policy given as one is refused, not ignored', async () => {
    expect(() => checkKnownOptions(new Map([['maxTokens', 5]]), settings, 'f')).toThrow(
      'f: options must be an object, got a Map',
    )
    expect(() => checkKnownOptions(new Set(['maxTokens']), settings, 'f', 'budget')).toThrow(
      'f: budget must be an object, got a Set',
    )
    const add = defineFunction({ name: 'add', run: (value: number) => value + 1 })
    // Read as an empty object, the budget was none at all and the run completed.
    const budget = new Map([['maxTokens', 0]]) as never
    await expect(add.invoke(1, { budget })).rejects.toThrow('add: budget must be an object, got a Map')
    const retry = new Map([['attempts', 5]]) as never
    expect(() => defineFunction({ name: 'flaky', run: () => 1, retry })).toThrow(
      'flaky: retry must be an object, got a Map',
    )
    // The options of invoke and of a CancelScope too, whose keys are checked only when one is unknown.
    const timed = new Map([['timeoutMs', 5]]) as never
    await expect(add.invoke(1, timed)).rejects.toThrow('add: options must be an object, got a Map')
    expect(() => new CancelScope(undefined, timed)).toThrow('CancelScope: options must be')
    expect(() => new CancelScope(undefined, timed)).toThrow(/got a Map$/)
    // An object tagged as a Map is no Map: its properties are its options.
    const tagged = { [Symbol.toStringTag]: 'Map', maxTokens: 5 }
    expect(() => checkKnownOptions(tagged, settings, 'f')).not.toThrow()
  })

  it('refuses a key a settings class holds in a getter, or one inherited, as it refuses an own key: in a Function, its retry policy and invoke', async () => {
    /** Options as a settings class holds them: its getters are read by name, so a misspelt one must not pass unseen. */
    class Timing {
      get timeoutMS(): number {
        return 5
      }
    }
    expect(() => checkKnownOptions(new Timing(), new Set(['timeoutMs']), 'f')).toThrow(
      'f: timeoutMS is not an option; did you mean timeoutMs?',
    )
    class Policy {
      get attempts(): number {
        return 3
      }
      get intialDelayMs(): number {
        return 0
      }
    }
    expect(() => defineFunction({ name: 'flaky', run: () => 1, retry: new Policy() })).toThrow(
      'flaky: retry.intialDelayMs is not an option; did you mean retry.initialDelayMs?',
    )
    const add = defineFunction({ name: 'add', run: (value: number) => value + 1 })
    // Read as no time limit at all, the run completed.
    await expect(add.invoke(1, new Timing() as never)).rejects.toThrow(
      'add: timeoutMS is not an option; did you mean timeoutMs?',
    )
    await expect(add.invoke(1, Object.create({ timeoutMS: 5 }))).rejects.toThrow('add: timeoutMS is not an option')
    // What a class holds that is spelt right passes, its constructor and methods are no options.
    class Spelt {
      get timeoutMs(): number {
        return 1_000
      }
      describe(): string {
        return 'a second'
      }
    }
    expect(await add.invoke(1, new Spelt() as never)).toBe(2)
    expect(() => new CancelScope(undefined, new Timing() as never)).toThrow(
      'CancelScope: timeoutMS is not an option; did you mean timeoutMs?',
    )
  })

  it('checkKnownOptions replaces a secret in an unknown key before it cuts the key short', () => {
    const secret = 'tenant-secret-Zq9xCanary7Hk2PabcdefghijklmnopQRST'
    const unregister = registerSecret(secret)
    try {
      const error = (() => {
        try {
          checkKnownOptions({ [`${'x'.repeat(40)}${secret}`]: 1 }, settings, 'f')
        } catch (caught) {
          return caught as ConfigurationError
        }
      })()
      expect(error?.message).toMatch(/^f: x{40}\[REDACTED\] is not an option/)
      for (const text of [error?.message, JSON.stringify(error)]) expect(text).not.toContain(secret.slice(0, 16))
    } finally {
      unregister()
    }
  })

  it('is what checkKnownOptions suggests first', () => {
    expect(() => checkKnownOptions({ maxOutputTokens: 5 }, settings, 'f')).toThrow(
      'f: maxOutputTokens is not an option; did you mean maxTokens?',
    )
  })
})

describe('checkBoolean', () => {
  it('refuses what is not true or false in the one message format, whatever it is', () => {
    const refused = (value: unknown) => {
      try {
        checkBoolean(value, 'durable', 'f')
      } catch (error) {
        return error
      }
      return undefined
    }
    for (const [value, shown] of [
      ['yes', '"yes"'],
      [Object.create(null), 'an object'],
      [{ toString: () => Symbol('x') }, 'an object'],
      ['y'.repeat(1_000_000), `"${'y'.repeat(59)}…`],
    ] as const) {
      const error = refused(value)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toBe(`f: durable must be true or false, got ${shown}`)
    }
    expect(checkBoolean(false, 'durable', 'f')).toBe(false)
  })
})

describe('optionError', () => {
  it('says a revoked Proxy it was given is unreadable, instead of throwing', () => {
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    const error = optionError('title', 'a string', proxy, 'report')
    expect(ConfigurationError.isInstance(error)).toBe(true)
    expect(error.message).toBe('report: title must be a string, got [an unreadable value]')
    expect(optionError('title', 'a string', { a: 1 }, 'report').message).toBe(
      'report: title must be a string, got an object',
    )
  })
})

describe('checkNumber', () => {
  it('takes an integer only where a count can hold it exactly: a safe integer, never 1e300', () => {
    expect(checkNumber(2 ** 53 - 1, 'n', { integer: true, min: 1 }, 'f')).toBe(2 ** 53 - 1)
    for (const huge of [2 ** 53, 1e20, 1e300])
      expect(() => checkNumber(huge, 'n', { integer: true, min: 1 }, 'f')).toThrow(
        `f: n must be an integer ≥ 1 and ≤ 9007199254740991, got ${huge}`,
      )
    // Every integer option goes through it: a retry policy's attempts among them.
    expect(() => resolveRetryPolicy({ attempts: 1e300 }, 'f')).toThrow(
      'f: retry.attempts must be an integer ≥ 1 and ≤ 9007199254740991, got 1e+300',
    )
  })
})
