import { describe, expect, it } from 'vitest'
import { parseTemplate, renderTemplate } from './render-template.js'
import { TemplateError } from './template-error.js'

const failure = (run: () => unknown): TemplateError => {
  try {
    run()
  } catch (error) {
    if (TemplateError.isInstance(error)) return error
    throw error
  }
  throw new Error('expected a TemplateError')
}

describe('renderTemplate', () => {
  it('substitutes top-level and dotted placeholders by plain lookup', () => {
    expect(renderTemplate('Hello {name}!', { name: 'Ada' })).toBe('Hello Ada!')
    expect(
      renderTemplate('{applicant.name} earns {applicant.income}', { applicant: { name: 'Ada', income: 42 } }),
    ).toBe('Ada earns 42')
    expect(renderTemplate('{a}{b}{c}', { a: true, b: 10n, c: -1.5 })).toBe('true10-1.5')
    expect(renderTemplate('first: {items.0}', { items: ['x', 'y'] })).toBe('first: x')
    expect(renderTemplate('no placeholders', undefined)).toBe('no placeholders')
  })

  it('turns {{ and }} into literal braces', () => {
    expect(renderTemplate('{{"verdict": "{verdict}"}}', { verdict: 'good' })).toBe('{"verdict": "good"}')
    expect(renderTemplate('{{name}}', { name: 'Ada' })).toBe('{name}')
  })

  it('rejects {__proto__}, {constructor.constructor} and {x.prototype} without touching prototypes', () => {
    for (const template of ['{__proto__}', '{constructor.constructor}', '{user.prototype}', '{a.__proto__.b}']) {
      const error = failure(() => renderTemplate(template, { user: {}, a: {} }))
      expect(error.reason).toBe('forbidden')
      expect(error.message).toMatch(/not allowed/)
    }
    expect(Object.prototype).not.toHaveProperty('polluted')
  })

  it('reads only own properties: inherited values count as missing', () => {
    const input = Object.create({ inherited: 'from the prototype' }) as Record<string, unknown>
    input.own = 'mine'
    const error = failure(() => renderTemplate('{inherited}', input))
    expect(error.reason).toBe('missing')
    expect(error.availableKeys).toEqual(['own'])
    expect(failure(() => renderTemplate('{toString}', {})).reason).toBe('missing')
    expect(failure(() => renderTemplate('{hasOwnProperty}', { a: 1 })).reason).toBe('missing')
  })

  it('never calls a getter', () => {
    let called = false
    const input = {
      get secret() {
        called = true
        return 'x'
      },
    }
    const error = failure(() => renderTemplate('{secret}', input))
    expect(error.reason).toBe('missing')
    expect(error.message).toMatch(/getter/)
    expect(called).toBe(false)
  })

  it('names a missing variable and lists the keys available where the lookup stopped', () => {
    const error = failure(() => renderTemplate('Dear {applicant.name}', { applicant: { first: 'Ada', last: 'L' } }))
    expect(error.reason).toBe('missing')
    expect(error.placeholder).toBe('applicant.name')
    expect(error.availableKeys).toEqual(['first', 'last'])
    expect(error.message).toContain('{applicant.name}')
    expect(error.message).toContain('first, last')
    const top = failure(() => renderTemplate('{message}', { loan_application: 'x' }))
    expect(top.message).toContain('loan_application')
    expect(failure(() => renderTemplate('{a}', { a: undefined })).reason).toBe('missing')
    expect(failure(() => renderTemplate('{a.b}', { a: 'text' })).message).toMatch(/'a' is not an object/)
    expect(failure(() => renderTemplate('{a}', null)).message).toMatch(/input is not an object/)
  })

  it('lists a typed array by its first indices without making a key of every element, however long it is', () => {
    // 4 GiB of zeros, reserved and never touched: making its 2³² keys would take all the memory there is.
    const data = new Uint8Array(2 ** 32)
    const error = failure(() => renderTemplate('{file.text}', { file: data }))
    expect(error.reason).toBe('missing')
    expect(error.availableKeys).toEqual(Array.from({ length: 50 }, (_, index) => String(index)))
    expect(error.availableKeysLeftOut).toBe(2 ** 32 - 50)
    expect(error.message).toMatch(/'file' has keys: 0, 1, 2, .*, 49, … \(4294967296 in all\)$/)
    const short = failure(() => renderTemplate('{file.text}', { file: Buffer.from('ab') }))
    expect(short.availableKeys).toEqual(['0', '1'])
    expect(short.availableKeysLeftOut).toBe(0)
    expect(renderTemplate('{file.1}', { file: Buffer.from('ab') })).toBe('98')
  })

  it('lists a long list or String object by its first indices without making a key of every entry', () => {
    // A list of numbers from a request body takes 8 bytes an entry, its keys some 50: making them all for an error
    // would take far more memory than the input. The trap shows whether they were all made.
    const long = new Proxy(new Array(1_000_000).fill(0), {
      ownKeys() {
        throw new Error('every key of the list was made')
      },
    })
    const error = failure(() => renderTemplate('{document.title}', { document: long }))
    expect(error.reason).toBe('missing')
    expect(error.availableKeys).toEqual(Array.from({ length: 50 }, (_, index) => String(index)))
    expect(error.availableKeysLeftOut).toBe(1_000_000 - 50)
    expect(error.message).toMatch(/'document' has keys: 0, 1, 2, .*, 49, … \(1000000 in all\)$/)
    const text = failure(() => renderTemplate('{letter.title}', { letter: new String('y'.repeat(1_000_000)) }))
    expect(text.availableKeys).toHaveLength(50)
    expect(text.availableKeysLeftOut).toBe(1_000_000 - 50)
    // A short list, a sparse one included, lists its keys as they are.
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
    expect(failure(() => renderTemplate('{list.title}', { list: ['a', , 'c'] })).availableKeys).toEqual(['0', '2'])
    // A long one is counted by its length, its holes included.
    const sparse: string[] = []
    sparse[4_000_000_000] = 'x'
    const holes = failure(() => renderTemplate('{list.title}', { list: sparse }))
    expect(holes.availableKeys).toEqual([])
    expect(holes.message).toMatch(/'list' has keys: … \(4000000001 in all\)$/)
  })

  it('keeps the message and the error short when the input has huge keys, or a great many', () => {
    const huge = 'k'.repeat(1_000_000)
    const error = failure(() => renderTemplate('{message}', { [huge]: 'x', other: 'y' }))
    expect(error.message).toBe(`missing variable {message}; the input has keys: ${'k'.repeat(64)}…, other`)
    expect(error.availableKeys).toEqual([`${'k'.repeat(64)}…`, 'other'])
    expect(error.availableKeysLeftOut).toBe(0)
    const many = Object.fromEntries(Array.from({ length: 100_000 }, (_, index) => [`key_${index}`, index]))
    const manyError = failure(() => renderTemplate('{message}', many))
    expect(manyError.availableKeys).toHaveLength(50)
    expect(manyError.availableKeys?.[49]).toBe('key_49')
    expect(manyError.availableKeysLeftOut).toBe(99_950)
    expect(manyError.message).toMatch(/key_49, … \(100000 in all\)$/)
    expect(JSON.stringify(manyError).length).toBeLessThan(5_000)
    // A secret the cut falls inside is replaced whole, before the cut: no part of it shows.
    const secret = 'sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789'
    const keyed = failure(() => renderTemplate('{message}', { [`${'x'.repeat(50)} ${secret}`]: 1 }))
    for (const shown of [keyed.message, ...(keyed.availableKeys ?? [])]) expect(shown).not.toContain('sk-proj-Abc')
    expect(keyed.availableKeys).toEqual([`${'x'.repeat(50)} [REDACTED]`])
    const built = new TemplateError({ reason: 'missing', message: 'm', availableKeys: Object.keys(many) })
    expect(built.availableKeys).toHaveLength(50)
    expect(built.availableKeysLeftOut).toBe(99_950)
  })

  it('rejects objects, arrays, null and non-finite numbers instead of printing [object Object]', () => {
    for (const value of [{ nested: true }, ['a'], null, Number.NaN, Number.POSITIVE_INFINITY, () => 1, Symbol('s')]) {
      const error = failure(() => renderTemplate('{value}', { value }))
      expect(error.reason).toBe('not-scalar')
      expect(error.message).not.toContain('[object Object]')
    }
  })

  it('never puts input values into error messages', () => {
    const error = failure(() => renderTemplate('{key.missing}', { key: { apiKey: 'sk-canary-123' } }))
    expect(error.message).not.toContain('sk-canary-123')
    expect(error.message).toContain('apiKey')
  })

  it('passes lone surrogates and other code units through unchanged', () => {
    const lone = 'a\uD800b\uDFFFc'
    expect(renderTemplate(`${lone}{x}${lone}`, { x: lone })).toBe(`${lone}${lone}${lone}`)
    expect(renderTemplate('😀 {x} \u0000', { x: '\uDBFF' })).toBe('😀 \uDBFF \u0000')
  })

  it('reports syntax errors with their position', () => {
    expect(failure(() => parseTemplate('open { never closed')).message).toMatch(/unmatched '\{' at position 5/)
    expect(failure(() => parseTemplate('a } b')).message).toMatch(/unmatched '\}' at position 2/)
    expect(failure(() => parseTemplate('{a{b}')).reason).toBe('syntax')
    expect(failure(() => parseTemplate('{}')).reason).toBe('syntax')
    expect(failure(() => parseTemplate('{a..b}')).reason).toBe('syntax')
    expect(failure(() => parseTemplate('{ name }')).reason).toBe('syntax')
    expect(failure(() => parseTemplate('{a()}')).reason).toBe('syntax')
  })

  it('refuses a template that is neither a string nor a parsed template with a TemplateError, not a TypeError', () => {
    for (const template of [5, null, undefined, {}, { parts: 'x' }]) {
      const error = failure(() => renderTemplate(template as never, {}))
      expect(error.reason, String(template)).toBe('syntax')
      expect(error.message).toMatch(/a template must be a string, got /)
    }
  })

  it('refuses a parsed template whose parts parseTemplate would not make with a TemplateError, not a TypeError', () => {
    // Built by hand or read back from storage: a part that is no text or placeholder, or a path parseTemplate refuses.
    const forged = [
      [null],
      [42],
      [{ source: 'a', path: 'abc' }],
      [{ source: 'a', path: [] }],
      [{ source: 'a', path: [5] }],
      [{ source: 'a', path: ['a b'] }],
    ]
    for (const parts of forged) {
      const error = failure(() =>
        renderTemplate({ source: '', placeholders: [], parts } as never, { a: 'A', abc: 'C' }),
      )
      expect(error.reason, JSON.stringify(parts)).toBe('syntax')
    }
    const prototype = failure(() =>
      renderTemplate({ source: '', placeholders: [], parts: [{ source: 'x', path: ['constructor'] }] }, {}),
    )
    expect(prototype.reason).toBe('forbidden')
    // One whose reading throws is refused the same way, the thrown error its cause.
    const thrown = new Error('unreadable part')
    const unreadable = failure(() =>
      renderTemplate(
        {
          source: '',
          placeholders: [],
          get parts(): never {
            throw thrown
          },
        },
        {},
      ),
    )
    expect(unreadable.reason).toBe('syntax')
    expect(unreadable.cause).toBe(thrown)
    // One read back from JSON renders as the template it was parsed from.
    const stored = JSON.parse(JSON.stringify(parseTemplate('Dear {person.name}, {{ok}}')))
    expect(renderTemplate(stored, { person: { name: 'Ada' } })).toBe('Dear Ada, {ok}')
  })

  it('parses once and renders many times', () => {
    const parsed = parseTemplate('{greeting}, {person.name}')
    expect(parsed.placeholders).toEqual(['greeting', 'person.name'])
    expect(renderTemplate(parsed, { greeting: 'Hi', person: { name: 'Ada' } })).toBe('Hi, Ada')
    expect(renderTemplate(parsed, { greeting: 'Bye', person: { name: 'Alan' } })).toBe('Bye, Alan')
  })

  it('names the Function in errors when given a location', () => {
    const error = failure(() => renderTemplate('{x}', {}, { functionName: 'greeting', state: 'running' }))
    expect(error.functionName).toBe('greeting')
    expect(error.state).toBe('running')
    expect(error.message.startsWith('greeting: ')).toBe(true)
  })

  it('fails with a TemplateError (too-long), not a RangeError, when the text would outgrow a string', () => {
    // 600 copies of a 1,000,000-character value: longer than any JavaScript string can be.
    const error = failure(() =>
      renderTemplate('{a}'.repeat(600), { a: 'x'.repeat(1_000_000) }, { functionName: 'long', state: 'running' }),
    )
    expect(error.reason).toBe('too-long')
    expect(error.placeholder).toBe('a')
    expect(error.retryable).toBe(false)
    expect(error.message).toMatch(
      /^long: the rendered text would be longer than the longest string JavaScript can hold/,
    )
  })
})
