import { describe, expect, it } from 'vitest'
import { chatSettingKeys, splitChatSettings } from './chat-settings.js'

describe('splitChatSettings', () => {
  it('separates the defined chat settings from every other option', () => {
    const { settings, rest } = splitChatSettings({
      name: 'chat',
      temperature: 0,
      n: 2,
      stop: undefined,
      retry: { attempts: 2 },
      providerOptions: { openai: { logprobs: true } },
    })
    expect(settings).toEqual({ temperature: 0, n: 2, providerOptions: { openai: { logprobs: true } } })
    expect(rest).toEqual({ name: 'chat', retry: { attempts: 2 } })
  })

  it('lists every setting once', () => {
    expect(new Set(chatSettingKeys).size).toBe(chatSettingKeys.length)
    expect(chatSettingKeys).toContain('toolChoice')
  })
})
