import { ConfigurationError } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { type ChatResult, resultText } from '../chat-model.js'
import { toAssistantMessage } from './assistant-message.js'
import { toStopSequences } from './stop-sequences.js'

function thrown(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

describe('chat helpers given what they cannot read', () => {
  it('resultText, toAssistantMessage and toStopSequences refuse input of the wrong kind with a ConfigurationError', () => {
    const cases: Array<[() => unknown, string]> = [
      [
        () => resultText(null as unknown as ChatResult),
        'resultText: result must be a chat result { choices }, got null',
      ],
      [() => resultText({} as ChatResult), 'resultText: result must be a chat result { choices }, got an object'],
      [
        () => resultText({ choices: [null] } as unknown as ChatResult),
        'resultText: result.choices[0] must be a choice { message }, got null',
      ],
      [
        () => toAssistantMessage(null, null as never),
        'toAssistantMessage: toolCalls must be an array of tool calls, got null',
      ],
      [
        () => toAssistantMessage('a', [], 5 as never),
        'toAssistantMessage: reasoning must be an array of reasoning parts, got 5',
      ],
      [() => toAssistantMessage(5 as never, []), 'toAssistantMessage: text must be a string, null or undefined, got 5'],
      [() => toStopSequences(null as never), 'toStopSequences: stop must be a string or an array of strings, got null'],
      [() => toStopSequences([1] as never), 'toStopSequences: stop must be a string or an array of strings, got [1]'],
    ]
    for (const [run, message] of cases) {
      const error = thrown(run)
      expect(ConfigurationError.isInstance(error)).toBe(true)
      expect((error as Error).message).toBe(message)
    }
    expect(resultText({ choices: [] } as unknown as ChatResult)).toBe('')
    expect(toStopSequences('END')).toEqual(['END'])
    expect(toStopSequences([])).toBeUndefined()
    expect(toAssistantMessage(null, [])).toEqual({ role: 'assistant', content: '' })
  })
})
