import { ConfigurationError, type StandardSchemaV1 } from '@tinyllm/core'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { LLMCall, type LLMCallOutputMode } from '../llm-call.js'
import { ScriptedChatModel, type ScriptedChatModelOptions } from '../testing/scripted-chat-model.js'
import { ProviderChat } from './provider-chat.js'
import type { ProviderChatDefinition, ProviderChatOptions } from './provider-chat-options.js'

/** A chat model built from `{ model, ...connection options }`, as a provider's is. */
class ExampleChatModel extends ScriptedChatModel {
  readonly connection: Readonly<Record<string, unknown>>

  constructor(options: { readonly model: string; readonly apiKey?: string | undefined }) {
    super({ modelId: options.model, responses: ['Hello!'] } satisfies ScriptedChatModelOptions)
    this.connection = options
  }
}

const exampleChat: ProviderChatDefinition<{ model: string; apiKey?: string | undefined }, ExampleChatModel> = {
  defaultName: 'ExampleChat',
  connectionKeys: ['client', 'apiKey'],
  createModel: (options) => new ExampleChatModel(options),
}

class ExampleChat<
  Mode extends LLMCallOutputMode = 'text',
  Schema extends StandardSchemaV1 = never,
> extends ProviderChat<Mode, Schema, ExampleChatModel> {
  override readonly kind: string = 'example-chat'

  constructor(options: ProviderChatOptions<Mode, Schema, { readonly apiKey?: string | undefined }>) {
    super(options, exampleChat)
  }
}

const prompt = { messages: [{ role: 'user' as const, content: 'Hi' }] }

describe('ProviderChat', () => {
  it('builds its chat model from the definition and calls it as an LLMCall', async () => {
    const chat = new ExampleChat({ model: 'example-1', apiKey: 'k', temperature: 0 })
    expect(chat).toBeInstanceOf(LLMCall)
    expect(chat).toBeInstanceOf(ProviderChat)
    expect(chat.name).toBe('ExampleChat')
    expect(chat.kind).toBe('example-chat')
    expect(chat.model).toBeInstanceOf(ExampleChatModel)
    expect(chat.model.connection).toEqual({ model: 'example-1', apiKey: 'k' })
    expect(chat.settings).toEqual({ model: 'example-1', temperature: 0 })
    expect(await chat.invoke(prompt)).toBe('Hello!')
    expectTypeOf(chat.model).toEqualTypeOf<ExampleChatModel>()
  })

  it('can be extended further, keeping its options rule', () => {
    class NamedChat extends ExampleChat {
      override readonly kind: string = 'named-chat'
    }
    const chat = new NamedChat({ name: 'greeter', model: 'example-1' })
    expect(chat).toBeInstanceOf(ExampleChat)
    expect([chat.name, chat.kind]).toEqual(['greeter', 'named-chat'])
    expect(() => new NamedChat({ model: 'example-1', top_p: 1 } as never)).toThrow(ConfigurationError)
  })
})
