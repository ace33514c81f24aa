import type { AssistantMessage, ChatMessage, ToolCall } from '@tinyllm/llm'

/**
 * A call's identity for loop detection: the tool and its arguments, whatever their key order or spacing. Arguments are
 * read as the agent reads them to run the call: blank ones (`''`, `' '`, `'\n'`) are `{}`, so a model cannot make one call
 * many by spacing its arguments differently.
 */
export function callSignature(call: ToolCall): string {
  const text = typeof call.arguments === 'string' ? call.arguments.trim() : ''
  let canonical: string
  try {
    canonical = stableJson(JSON.parse(text === '' ? '{}' : text))
  } catch {
    canonical = text
  }
  return `${call.name}\u0000${canonical}`
}

/** How many times each call (by {@link callSignature}) was made in a conversation. */
export class CallCounter {
  private readonly counts = new Map<string, number>()

  /** Counts the calls of the assistant messages before `end`. */
  countMessages(conversation: ReadonlyArray<ChatMessage>, end: number): void {
    for (let index = 0; index < end; index++) {
      const message = conversation[index] as ChatMessage
      if (message.role !== 'assistant') continue
      for (const call of (message as AssistantMessage).toolCalls ?? []) this.add(callSignature(call))
    }
  }

  /** Counts one more call; returns how many identical calls came before it. */
  add(signature: string): number {
    const before = this.counts.get(signature) ?? 0
    this.counts.set(signature, before + 1)
    return before
  }
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort()
    return `{${keys.map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
