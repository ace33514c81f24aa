import { ConfigurationError, defineFunction, type Function, ValidationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { SystemMessage } from '../chat-model.js'
import {
  AssistantMessageTemplate,
  MessageTemplate,
  SystemMessageTemplate,
  UserMessageTemplate,
} from './message-template.js'
import { PromptTemplate } from './prompt-template.js'
import { TemplateError } from './template-error.js'

const role = new SystemMessageTemplate({
  name: 'Role',
  content: 'You will be provided with a loan application. Answer with one of these 2 words: [good, bad]',
})

describe('message templates', () => {
  it('render one message each', async () => {
    expect(await role.invoke({})).toEqual({ role: 'system', content: expect.stringContaining('loan application') })
    expect(await new UserMessageTemplate({ name: 'user' }).invoke({ message: 'hello' })).toEqual({
      role: 'user',
      content: 'hello',
    })
    expect(await new UserMessageTemplate({ name: 'user', field: 'loan.text' }).invoke({ loan: { text: 'x' } })).toEqual(
      { role: 'user', content: 'x' },
    )
    expect(
      await new UserMessageTemplate({ name: 'user', content: '{who} asks: {question}' }).invoke({
        who: 'Ada',
        question: 'why?',
      }),
    ).toEqual({ role: 'user', content: 'Ada asks: why?' })
    expect(await new AssistantMessageTemplate({ name: 'example', content: 'good' }).invoke({})).toEqual({
      role: 'assistant',
      content: 'good',
    })
  })

  it('say which role they render, and a template of your own takes its role the same way', async () => {
    expect([role.role, new UserMessageTemplate({ name: 'u' }).role]).toEqual(['system', 'user'])
    class Reminder extends MessageTemplate<SystemMessage> {
      override readonly kind: string = 'reminder'
      constructor() {
        super({ name: 'reminder' }, 'system', 'Remember {rule}.', 'content')
      }
    }
    expect(await new Reminder().invoke({ rule: 'to answer in French' })).toEqual({
      role: 'system',
      content: 'Remember to answer in French.',
    })
  })

  it('check their template at construction', () => {
    expect(() => new SystemMessageTemplate({ name: 'bad', content: 'answer as {"a": 1}' })).toThrow(ConfigurationError)
    expect(() => new SystemMessageTemplate({ name: 'bad', content: '{constructor.constructor}' })).toThrow(
      /not allowed/,
    )
    expect(() => new UserMessageTemplate({ name: 'bad', field: '__proto__' })).toThrow(ConfigurationError)
    expect(() => new UserMessageTemplate({ name: 'both', field: 'a', content: '{b}' })).toThrow(/either/)
  })

  it('refuse content, fields and sections of the wrong kind in the one option-check format', () => {
    const cases: Array<[() => unknown, string]> = [
      [() => new UserMessageTemplate({ name: 'u', content: 5 as never }), 'u: content must be a string, got 5'],
      [() => new SystemMessageTemplate({ name: 's', content: null as never }), 's: content must be a string, got null'],
      // A number would have made the template `{5}`, silently reading another input field.
      [
        () => new UserMessageTemplate({ name: 'u', field: 5 as never }),
        'u: field must be the name of an input field, got 5',
      ],
      // A brace would have made the field a template: `{{x` rendered '{' and the input's x.
      [
        () => new UserMessageTemplate({ name: 'u', field: '{{x' }),
        'u: field must be the name of an input field, without braces, got "{{x"',
      ],
      [
        () => new UserMessageTemplate({ name: 'u', field: 'a}{b' }),
        'u: field must be the name of an input field, without braces, got "a}{b"',
      ],
      [
        () => new PromptTemplate({ name: 'p', sections: 'x' as never }),
        'p: sections must be a non-empty list of Functions, got "x"',
      ],
      [
        () => new PromptTemplate({ name: 'p', sections: [] }),
        'p: sections must be a non-empty list of Functions, got []',
      ],
      [
        // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
        () => new PromptTemplate({ name: 'p', sections: [role, , role] as never }),
        'p: sections[1] must be a Function (something with `invoke`), got undefined',
      ],
      // A list whose reading throws (a Proxy) is a bad option too, not the thrown error itself.
      [
        () =>
          new PromptTemplate({
            name: 'p',
            sections: new Proxy([role], {
              get(target, key) {
                if (key === '0') throw new Error('unreadable section')
                return Reflect.get(target, key)
              },
            }),
          }),
        'p: sections could not be read: Error: unreadable section',
      ],
    ]
    for (const [build, message] of cases) {
      expect(build).toThrow(ConfigurationError)
      expect(build).toThrow(message)
    }
  })

  it('refuse a null content or field, which a user message template would have taken for its default', async () => {
    // `null` is no absent option: it would have rendered the input's `message` instead of the content meant.
    const cases: Array<[() => unknown, string]> = [
      [() => new UserMessageTemplate({ name: 'u', content: null as never }), 'u: content must be a string, got null'],
      [
        () => new UserMessageTemplate({ name: 'u', field: null as never }),
        'u: field must be the name of an input field, got null',
      ],
    ]
    for (const [build, message] of cases) {
      expect(build).toThrow(ConfigurationError)
      expect(build).toThrow(message)
    }
    expect(await new UserMessageTemplate({ name: 'u', content: undefined as never }).invoke({ message: 'm' })).toEqual({
      role: 'user',
      content: 'm',
    })
  })

  it('refuse options whose reading throws (a getter, a Proxy) with a ConfigurationError, not the thrown error', () => {
    const fail = (): never => {
      throw new Error('unreadable')
    }
    const proxy = new Proxy({}, { get: fail, ownKeys: fail, getOwnPropertyDescriptor: fail, has: fail })
    const getter = (options: object, key: string) =>
      Object.defineProperty({ ...options }, key, { get: fail, enumerable: true })
    const builds: Array<[string, (options: never) => unknown, object]> = [
      ['UserMessageTemplate', (options) => new UserMessageTemplate(options), { name: 'u', content: 'x' }],
      ['SystemMessageTemplate', (options) => new SystemMessageTemplate(options), { name: 's', content: 'x' }],
      ['PromptTemplate', (options) => new PromptTemplate(options), { name: 'p', sections: [role] }],
    ]
    for (const [owner, build, options] of builds) {
      for (const given of [proxy, ...Object.keys(options).map((key) => getter(options, key))]) {
        expect(() => build(given as never)).toThrow(ConfigurationError)
        expect(() => build(given as never)).toThrow(`${owner}: options could not be read: Error: unreadable`)
      }
    }
  })

  it('refuse options that are not an object with a ConfigurationError naming the class, not a TypeError', () => {
    const builds: Array<[string, (options: never) => unknown]> = [
      ['UserMessageTemplate', (options) => new UserMessageTemplate(options)],
      ['SystemMessageTemplate', (options) => new SystemMessageTemplate(options)],
      ['AssistantMessageTemplate', (options) => new AssistantMessageTemplate(options)],
      ['PromptTemplate', (options) => new PromptTemplate(options)],
    ]
    for (const [owner, build] of builds) {
      for (const given of [null, undefined, 5, 'name']) {
        expect(() => build(given as never)).toThrow(ConfigurationError)
        expect(() => build(given as never)).toThrow(`${owner}: options must be an object`)
      }
    }
  })

  it('read options a class instance or a prototype holds, as they read their own', async () => {
    class Options {
      get name(): string {
        return 'p'
      }
      get sections(): ReadonlyArray<typeof role> {
        return [role]
      }
    }
    const fromClass = new PromptTemplate(new Options())
    expect(fromClass.name).toBe('p')
    expect((await fromClass.invoke({})).messages).toHaveLength(1)
    const inherited = new SystemMessageTemplate(Object.create({ name: 's', content: 'Hi {who}.' }))
    expect(await inherited.invoke({ who: 'Ada' })).toEqual({ role: 'system', content: 'Hi Ada.' })
  })

  it('refuse option keys they do not know, suggesting the right name', () => {
    const builds = [
      () => new UserMessageTemplate({ name: 'user', contnet: 'x' } as never),
      () => new SystemMessageTemplate({ name: 'system', content: 'x', contnet: 'y' } as never),
      () => new AssistantMessageTemplate({ name: 'assistant', content: 'x', contnet: 'y' } as never),
    ]
    for (const build of builds) {
      expect(build).toThrow(ConfigurationError)
      expect(build).toThrow(/: contnet is not an option; did you mean content\?/)
    }
    expect(() => new UserMessageTemplate({ name: 'user', feild: 'text' } as never)).toThrow(/did you mean field\?/)
    expect(() => new PromptTemplate({ name: 'p', sections: [role], sectoins: [] } as never)).toThrow(
      /^p: sectoins is not an option; did you mean sections\?/,
    )
    // Also one a settings class holds in a getter, which is read by its name as the ones spelt right are.
    class Settings {
      readonly name = 'p'
      readonly sections = [role]
      get inputt(): undefined {
        return undefined
      }
      get sectoins(): [] {
        return []
      }
    }
    expect(() => new PromptTemplate(new Settings() as never)).toThrow(
      /^p: sectoins is not an option; did you mean sections\?/,
    )
    // A subclass may take options of its own, which only it knows.
    class Greeting extends SystemMessageTemplate {
      constructor(options: { name: string; greeting: string }) {
        super({ ...options, content: `Say {greeting}.` })
      }
    }
    expect(() => new Greeting({ name: 'greeting', greeting: 'hi' })).not.toThrow()
  })

  it('fail with a TemplateError naming the Function and the missing field', async () => {
    const record = await new UserMessageTemplate({ name: 'application' }).trace({ loan_application: 'text' } as object)
    expect(record.status).toBe('failed')
    const error = record.error
    expect(TemplateError.isInstance(error)).toBe(true)
    expect(error?.functionName).toBe('application')
    expect(error?.message).toMatch(/missing variable \{message\}.*loan_application/)
    expect(record.attempts).toBe(1)
  })

  it('validate their input with a schema when given one', async () => {
    const user = new UserMessageTemplate({ name: 'user', input: z.object({ message: z.string().min(1) }) })
    await expect(user.invoke({ message: '' })).rejects.toSatisfy(ValidationError.isInstance)
  })
})

describe('PromptTemplate', () => {
  const template = new PromptTemplate({
    name: 'Loan Classifier Template',
    sections: [role, new UserMessageTemplate({ name: 'application' })],
  })

  it('renders the sections in order into { messages }', async () => {
    const prompt = await template.invoke({ message: 'A stable income…' })
    expect(prompt.messages.map((message) => message.role)).toEqual(['system', 'user'])
    expect(prompt.messages[1]).toEqual({ role: 'user', content: 'A stable income…' })
  })

  it('runs each section as a child run, visible in the run tree', async () => {
    const record = await template.trace({ message: 'x' })
    expect(record.kind).toBe('prompt-template')
    expect(record.children.map((child) => [child.function, child.kind, child.status])).toEqual([
      ['Role', 'system-message', 'complete'],
      ['application', 'user-message', 'complete'],
    ])
    expect(template.describe()).toEqual({
      kind: 'prompt-template',
      name: 'Loan Classifier Template',
      children: [
        { kind: 'system-message', name: 'Role' },
        { kind: 'user-message', name: 'application' },
      ],
    })
  })

  it('accepts sections that return several messages or a nested prompt', async () => {
    const examples = defineFunction({
      name: 'few-shot',
      run: () => [
        { role: 'user' as const, content: 'example' },
        { role: 'assistant' as const, content: 'good' },
      ],
    })
    const outer = new PromptTemplate({ name: 'outer', sections: [template, examples] })
    const prompt = await outer.invoke({ message: 'm' })
    expect(prompt.messages.map((message) => message.role)).toEqual(['system', 'user', 'user', 'assistant'])
  })

  it('rejects a section that returns something else, and empty section lists', async () => {
    const broken = defineFunction({ name: 'broken', run: () => 'not a message' })
    const prompt = new PromptTemplate({ name: 'p', sections: [broken as never] })
    await expect(prompt.invoke({})).rejects.toSatisfy(ValidationError.isInstance)
    expect(() => new PromptTemplate({ name: 'empty', sections: [] })).toThrow(ConfigurationError)
  })

  it('fails when a section fails, with the section error', async () => {
    await expect(template.invoke({})).rejects.toSatisfy(TemplateError.isInstance)
  })
})

describe('a template over a section’s output whose reading throws', () => {
  it('fails once with a ValidationError naming the section, the thrown error as its cause', async () => {
    const thrown = new Error('trap')
    const trap = () => {
      throw thrown
    }
    const revocable = Proxy.revocable({}, {})
    revocable.revoke()
    const unreadable = new Proxy(
      { role: 'user', content: 'x' },
      { get: (_target, key) => (key === 'then' ? undefined : trap()) },
    )
    for (const output of [
      unreadable,
      [unreadable],
      [revocable.proxy],
      {
        get messages() {
          return trap()
        },
      },
    ]) {
      const section = defineFunction({ name: 'section', run: () => output as never })
      const prompt = new PromptTemplate({ name: 'prompt', sections: [role, section] })
      // A parent that retries what is retryable, as a Chain with a retry policy would.
      const parent = defineFunction({
        name: 'parent',
        retry: { attempts: 3, initialDelayMs: 0 },
        run: (input: object, context) => context.invoke(prompt, input),
      })
      const record = await parent.trace({})
      expect(record.status).toBe('failed')
      // Not retryable: reading the same output again throws again.
      expect(record.attempts).toBe(1)
      const error = record.error
      expect(ValidationError.isInstance(error) && error.issues).toEqual([
        {
          path: ['sections', 1],
          message: 'a section must return a chat message ({ role, content }), an array of them, or { messages }',
        },
      ])
      expect(error?.functionName).toBe('prompt')
      expect((error as Error).cause).toBeInstanceOf(Error)
    }
  })
})

describe('a template over an input whose reading throws', () => {
  it('fails once with a TemplateError (unreadable) naming the placeholder, with the thrown error as its cause', async () => {
    const thrown = new Error('trap: sk-not-quoted')
    const trap = () => {
      throw thrown
    }
    const proxy = new Proxy({ message: 'm' }, { getOwnPropertyDescriptor: trap, ownKeys: trap, has: trap })
    const revocable = Proxy.revocable({ applicant: { name: 'Ada' } }, {})
    revocable.revoke()
    const nested = { applicant: new Proxy({ name: 'Ada' }, { getOwnPropertyDescriptor: trap }) }
    const prompt = new PromptTemplate({
      name: 'prompt',
      sections: [role, new UserMessageTemplate({ name: 'application' })],
    })
    const named = new UserMessageTemplate({ name: 'named', content: 'Dear {applicant.name}' })
    const cases: Array<[Function<object, unknown>, object, string]> = [
      [prompt, proxy, '{message} could not be read: the input threw'],
      [named, revocable.proxy, '{applicant.name} could not be read: the input threw'],
      [named, nested, "{applicant.name} could not be read: 'applicant' threw"],
    ]
    for (const [template, input, message] of cases) {
      const record = await template.trace(input)
      expect(record.status).toBe('failed')
      // Not retryable: reading the same input again throws again.
      expect(record.attempts).toBe(1)
      const error = record.error
      expect(TemplateError.isInstance(error) && error.reason).toBe('unreadable')
      expect(error?.retryable).toBe(false)
      expect(error?.message).toContain(message)
      expect(error?.message).not.toContain('sk-not-quoted')
    }
    const error = await named.invoke(nested).catch((caught: unknown) => caught)
    expect((error as Error).cause).toBe(thrown)
  })
})

describe('a template whose text would outgrow a string', () => {
  it('fails once with a TemplateError (too-long), so a parent does not retry it', async () => {
    const long = new UserMessageTemplate({ name: 'long', content: '{a}'.repeat(600) })
    const parent = defineFunction({
      name: 'parent',
      retry: { attempts: 3, initialDelayMs: 0 },
      run: (input: object, context) => context.invoke(long, input),
    })
    const record = await parent.trace({ a: 'x'.repeat(1_000_000) })
    expect(record.status).toBe('failed')
    expect(record.attempts).toBe(1)
    expect(TemplateError.isInstance(record.error) && record.error.reason).toBe('too-long')
  })
})
