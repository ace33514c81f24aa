import { ConfigurationError, ValidationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import type { ChatModel, ChatSettings } from '../chat-model.js'
import { LLMCall } from '../llm-call.js'
import { ScriptedChatModel } from '../testing/scripted-chat-model.js'
import { checkChatModelOptions, toProviderLLMCallOptions } from './provider-chat-options.js'

const connectionKeys = ['client', 'apiKey', 'baseURL', 'maxResponseBytes', 'headers'] as const

/** A model that, like Anthropic's, answers one choice per call. */
class OneChoiceModel extends ScriptedChatModel {
  constructor() {
    super({ responses: ['ok'] })
  }

  checkSettings(settings: ChatSettings, owner: string): void {
    if (settings.n !== undefined && settings.n > 1) {
      throw new ConfigurationError({ option: 'n', message: 'n must be 1', functionName: owner })
    }
  }
}

function split(options: Record<string, unknown>) {
  const created: Array<Record<string, unknown>> = []
  const callOptions = toProviderLLMCallOptions(options as never, {
    defaultName: 'ExampleChat',
    connectionKeys,
    createModel: (modelOptions: Record<string, unknown>): ChatModel => {
      created.push(modelOptions)
      return new OneChoiceModel()
    },
  })
  return { callOptions, modelOptions: created[0] }
}

function thrown(run: () => unknown): ConfigurationError {
  try {
    run()
  } catch (error) {
    if (ConfigurationError.isInstance(error)) return error
    throw error
  }
  throw new Error('expected a ConfigurationError')
}

describe("a model's checkSettings", () => {
  it('refuses what the provider cannot honour, named after the call, at construction and (as invalid input) per call, sending nothing', async () => {
    const model = new OneChoiceModel()
    const construct = () => new LLMCall({ name: 'c', model, settings: { n: 2 } })
    expect(construct).toThrow(ConfigurationError)
    expect(construct).toThrow('c: n must be 1')
    const call = new LLMCall({ name: 'c', model })
    const error = await call
      .invoke({ messages: [{ role: 'user', content: 'hi' }], n: 3 })
      .catch((thrown: unknown) => thrown)
    // Given with the input, it is invalid input; the provider's refusal, named after the call, is its cause.
    expect(ValidationError.isInstance(error)).toBe(true)
    expect((error as ValidationError).issues).toEqual([{ path: ['n'], message: 'must be 1' }])
    expect((error as ValidationError).functionName).toBe('c')
    expect(((error as ValidationError).cause as ConfigurationError).message).toBe('c: n must be 1')
    expect(model.calls).toHaveLength(0)
    expect(await call.invoke({ messages: [{ role: 'user', content: 'hi' }], n: 1 })).toBe('ok')
  })
})

describe('toProviderLLMCallOptions', () => {
  it('names the call after the class by default, and splits settings, connection and LLMCall options', () => {
    const { callOptions, modelOptions } = split({
      model: 'example-1',
      apiKey: 'k',
      temperature: 0,
      stop: ['END'],
      retry: { attempts: 2 },
      output: 'texts',
    })
    expect(callOptions.name).toBe('ExampleChat')
    expect(callOptions.settings).toEqual({ model: 'example-1', temperature: 0, stop: ['END'] })
    expect(callOptions).toMatchObject({ retry: { attempts: 2 }, output: 'texts' })
    expect(callOptions).not.toHaveProperty('apiKey')
    expect(modelOptions).toEqual({ model: 'example-1', apiKey: 'k' })
    expect(split({ name: 'classify', model: 'example-1' }).callOptions.name).toBe('classify')
  })

  it('rejects unknown options, suggesting the right name', () => {
    for (const [key, suggestion] of [
      ['top_p', 'topP'],
      ['max_tokens', 'maxTokens'],
      ['model_name', 'model'],
      ['temprature', 'temperature'],
      ['timeout', 'timeoutMs'],
    ] as const) {
      const error = thrown(() => split({ name: 'classify', model: 'example-1', [key]: 1 }))
      expect(error.option).toBe(key)
      expect(error.message).toContain(`classify: ${key} is not an option; did you mean ${suggestion}?`)
    }
  })

  it('rejects an option a settings class misspells in a getter, which its copy of the options leaves out', () => {
    /** Options as a class holds them: the getters spelt right are read, so the misspelt one must not pass unseen. */
    class Settings {
      readonly model = 'example-1'
      get temprature(): number {
        return 0
      }
    }
    const error = thrown(() => split(new Settings() as never))
    expect(error.message).toContain('ExampleChat: temprature is not an option; did you mean temperature?')
    class ModelSettings {
      readonly model = 'm'
      get baseUrl(): string {
        return 'http://x'
      }
    }
    const check = () => checkChatModelOptions(new ModelSettings(), connectionKeys, 'ExampleChatModel')
    expect(thrown(check).message).toContain('ExampleChatModel: baseUrl is not an option; did you mean baseURL?')
  })

  it('checks the connection options and the settings the provider rejects, naming the call', () => {
    expect(thrown(() => split({ name: 'c', model: '' })).message).toBe('c: model must be a model id, got ""')
    expect(thrown(() => split({ name: 'c', model: 'm', client: {}, baseURL: 'http://x' })).message).toBe(
      'c: baseURL cannot be combined with client: configure the client you pass instead',
    )
    expect(thrown(() => split({ name: 'c', model: 'm', maxResponseBytes: 0 })).message).toBe(
      'c: maxResponseBytes must be an integer > 0, got 0',
    )
    expect(thrown(() => split({ name: 'c', model: 'm', requestTimeoutMs: 1 })).message).toMatch(
      'c: requestTimeoutMs is not an option; did you mean attemptTimeoutMs?',
    )
    expect(thrown(() => split({ name: 'c', model: 'm', apiKey: 5 })).message).toBe(
      'c: apiKey must be a string, got a number',
    )
    expect(thrown(() => split({ name: 'c', model: 'm', baseURL: 5 })).message).toBe(
      'c: baseURL must be a string, got a number',
    )
    const credentials = thrown(() =>
      split({ name: 'c', model: 'm', baseURL: 'http://tenant:s3cret-pass@127.0.0.1/v1' }),
    )
    expect(credentials.option).toBe('baseURL')
    expect(credentials.message).toMatch(/^c: baseURL has credentials in it \(user:password@\), which fetch refuses/)
    expect(credentials.message).not.toContain('s3cret-pass')
    // No request can go to these: each failed as a retried connection failure at every attempt of every call.
    for (const baseURL of [
      'localhost:11434/v1',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'tenant:s3cret-pass',
      '',
    ]) {
      const refused = thrown(() => split({ name: 'c', model: 'm', baseURL }))
      expect(refused.option).toBe('baseURL')
      expect(refused.message).toBe(
        'c: baseURL must be an absolute http:// or https:// URL, such as http://localhost:8080/v1 (not host:port/v1)',
      )
    }
  })

  it('reads each option once, so the model the chat model gets is the model of the settings', () => {
    let reads = 0
    const options = {
      get model() {
        reads += 1
        return reads === 1 ? 'model-a' : 'model-b'
      },
      temperature: 0,
    }
    const { callOptions, modelOptions } = split(options)
    expect(reads).toBe(1)
    expect(modelOptions?.model).toBe('model-a')
    expect(callOptions.settings?.model).toBe('model-a')
  })

  it('refuses options whose reading throws (a getter, a Proxy, a header getter) with a ConfigurationError naming the call', () => {
    const fail = (): never => {
      throw new Error('unreadable')
    }
    const proxy = new Proxy({}, { get: fail, ownKeys: fail, getOwnPropertyDescriptor: fail })
    const apiKey = {
      name: 'c',
      model: 'm',
      get apiKey(): never {
        return fail()
      },
    }
    const headers = {
      name: 'c',
      model: 'm',
      headers: {
        get 'x-tenant'(): never {
          return fail()
        },
      },
    }
    expect(thrown(() => split(proxy)).message).toBe('ExampleChat: options could not be read: Error: unreadable')
    expect(thrown(() => split(apiKey)).message).toBe('c: options could not be read: Error: unreadable')
    expect(thrown(() => split(headers)).message).toBe('c: headers could not be read: Error: unreadable')
    const check = () =>
      checkChatModelOptions({ model: 'm', headers: headers.headers }, connectionKeys, 'ExampleChatModel')
    expect(thrown(check).message).toBe('ExampleChatModel: headers could not be read: Error: unreadable')
  })

  it('refuses a baseURL that is empty, not a URL or not http(s) at construction, never showing it', () => {
    const secret = 'sk-pasted-by-mistake-0123456789'
    for (const baseURL of [
      '',
      '  ',
      `localhost:8000/v1?key=${secret}`,
      `not a url ${secret}`,
      `ftp://127.0.0.1/${secret}`,
    ]) {
      const refused = thrown(() => split({ name: 'c', model: 'm', baseURL }))
      expect(refused.option, baseURL).toBe('baseURL')
      expect(refused.message, baseURL).toBe(
        'c: baseURL must be an absolute http:// or https:// URL, such as http://localhost:8080/v1 (not host:port/v1)',
      )
    }
    for (const baseURL of ['http://127.0.0.1:8000/v1', 'https://example.openai.azure.com/openai?api-version=1']) {
      expect(() => split({ name: 'c', model: 'm', baseURL })).not.toThrow()
    }
  })

  it('refuses a client that is not an object at construction, by type, never showing it', () => {
    for (const [client, type] of [
      [null, 'null'],
      ['sk-given-as-the-client', 'a string'],
      [5, 'a number'],
      [[], 'an array'],
      [() => ({}), 'a function'],
    ] as const) {
      const refused = thrown(() => split({ name: 'c', model: 'm', client }))
      expect(refused.option).toBe('client')
      expect(refused.message).toBe(`c: client must be the provider's SDK client (an object), got ${type}`)
    }
    expect(() => split({ name: 'c', model: 'm', client: {} })).not.toThrow()
  })

  it('refuses headers that are not an object of strings, by type, never showing a value', () => {
    const cases: Array<[unknown, string]> = [
      ['Bearer plain-secret-1', 'c: headers must be an object of header values, got a string'],
      [[['api-key', 'plain-secret-1']], 'c: headers must be an object of header values, got an array'],
      // Sent by the SDKs, but its entries are not properties: the credential would not be registered for redaction.
      [new Headers({ 'api-key': 'plain-secret-1' }), 'c: headers must be an object of header values, got a Headers'],
      [new Map([['api-key', 'plain-secret-1']]), 'c: headers must be an object of header values, got a Map'],
      // An array or a number would be sent as its string form, and not registered for redaction as a string is.
      [{ 'api-key': ['plain-secret-1'] }, 'c: headers["api-key"] must be a string, got an array'],
      [{ Authorization: 4242424242 }, 'c: headers["Authorization"] must be a string, got a number'],
      [{ 'x-tenant': { id: 1 } }, 'c: headers["x-tenant"] must be a string, got an object'],
    ]
    for (const [headers, message] of cases) {
      const error = thrown(() => split({ name: 'c', model: 'm', headers }))
      expect(error.message).toBe(message)
      expect(error.message).not.toContain('plain-secret-1')
    }
    expect(() => split({ name: 'c', model: 'm', headers: { 'x-tenant': 'acme', 'x-removed': null } })).not.toThrow()
  })
})

describe('checkChatModelOptions', () => {
  it('applies the same rules to a chat model’s own options', () => {
    const check = (options: object) => checkChatModelOptions(options, connectionKeys, 'ExampleChatModel', ['maxTokens'])
    expect(() => check({ model: 'm', maxTokens: 10 })).not.toThrow()
    // Time limits belong to the calling LLMCall, which enforces them on the whole call.
    expect(thrown(() => check({ model: 'm', timeoutMs: 100 })).message).toMatch(
      /^ExampleChatModel: timeoutMs is not an option/,
    )
    expect(thrown(() => check({ model: 'm', baseUrl: 'x' })).message).toContain('did you mean baseURL?')
  })
})
