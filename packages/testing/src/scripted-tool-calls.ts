import { optionError } from '@tinyllm/core'

/**
 * What is wrong with the tool calls a scripted reply gives (`toolCalls` of an OpenAI reply, `toolUses` of an Anthropic
 * one), or `undefined`: a list of `{ name, id?, <argumentsKey> }`, whose arguments are JSON text or an object JSON can
 * write. A provider's loopback server answers such a reply with a 400 naming the field, never a 500 or a malformed
 * answer. `field` is where the list is, e.g. `choices[1].toolCalls`.
 */
export function scriptedToolCallsProblem(calls: unknown, field: string, argumentsKey: string): string | undefined {
  if (!Array.isArray(calls)) return problem(field, `a list of { name, ${argumentsKey} }`, calls)
  for (const [index, call] of calls.entries()) {
    const at = `${field}[${index}]`
    const { id, name, [argumentsKey]: args } = (call ?? {}) as Record<string, unknown>
    if (typeof name !== 'string') return problem(`${at}.name`, 'a string', name)
    if (id !== undefined && typeof id !== 'string') return problem(`${at}.id`, 'a string', id)
    if (typeof args !== 'string' && (typeof args !== 'object' || args === null || Array.isArray(args))) {
      return problem(`${at}.${argumentsKey}`, 'an object or JSON text', args)
    }
    if (typeof args === 'object' && !holdsJson(args)) {
      return problem(`${at}.${argumentsKey}`, 'an object JSON can hold (no cycle, no BigInt)', args)
    }
  }
  return undefined
}

/** Whether `JSON.stringify` can write `value`, as the server must to send it. */
function holdsJson(value: object): boolean {
  try {
    JSON.stringify(value)
    return true
  } catch {
    return false
  }
}

function problem(field: string, expected: string, value: unknown): string {
  return optionError(field, expected, value).message
}
