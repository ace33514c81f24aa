import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { toolsToSend } from './tools-to-send.js'

describe('toolsToSend', () => {
  const tool = { name: 'lookup', parameters: {} }

  it('sends tool choice only with tools, but a required or named choice always', () => {
    expect(toolsToSend({ tools: [tool], toolChoice: 'auto' })).toEqual({ tools: [tool], toolChoice: 'auto' })
    expect(toolsToSend({ tools: [], toolChoice: 'none' })).toEqual({ tools: undefined, toolChoice: undefined })
    expect(toolsToSend({ toolChoice: 'required' })).toEqual({ tools: undefined, toolChoice: 'required' })
  })

  it('refuses a request that is not an object, or tools that are not a list, with a ConfigurationError', () => {
    for (const request of [null, undefined, 5]) {
      expect(() => toolsToSend(request as never)).toThrow(ConfigurationError)
      expect(() => toolsToSend(request as never)).toThrow(/^toolsToSend: request must be an object, got /)
    }
    expect(() => toolsToSend({ tools: 'lookup' as never })).toThrow(
      /^toolsToSend: tools must be a list of tool definitions or undefined, got "lookup"/,
    )
  })

  it('refuses a tool choice that is none of auto, none, required or { name }, before a provider builds on it', () => {
    for (const toolChoice of [null, 'any', { type: 'tool' }, { name: 5 }, 3]) {
      expect(() => toolsToSend({ tools: [tool], toolChoice: toolChoice as never })).toThrow(ConfigurationError)
      expect(() => toolsToSend({ toolChoice: toolChoice as never })).toThrow(
        /^toolsToSend: toolChoice must be 'auto', 'none', 'required' or \{ name: string \}, got /,
      )
    }
    expect(toolsToSend({ tools: [tool], toolChoice: { name: 'lookup' } }).toolChoice).toEqual({ name: 'lookup' })
  })
})
