import { optionError } from '@tinyllm/core'
import { maxJsonDepth, nestsDeeperThan } from './json-depth.js'

/**
 * What is wrong with the tool calls a scripted reply gives (`toolCalls` of an OpenAI reply, `toolUses` of an Anthropic
 * one), or `undefined`: a list of `{ name, id?, <argumentsKey> }`, whose arguments are JSON text or an object JSON can
 * write, nesting at most 1,000 levels. A provider's loopback server answers such a reply with a 400 naming the field,
 * never a 500 or a malformed answer. `field` is where the list is, e.g. `choices[1].toolCalls`. With `parsesText`, for
 * an API whose answer carries the arguments as an object (Anthropic's `input`), JSON text that nests deeper is refused
 * too: the server parses it to write it back.
 */
export function scriptedToolCallsProblem(
  calls: unknown,
  field: string,
  argumentsKey: string,
  parsesText = false,
): string | undefined {
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
      const expected = `an object JSON can hold (no cycle, no BigInt, at most ${maxJsonDepth} levels deep)`
      return problem(`${at}.${argumentsKey}`, expected, args)
    }
    if (parsesText && typeof args === 'string' && nestedTextTooDeep(args)) {
      return problem(`${at}.${argumentsKey}`, `JSON text nesting at most ${maxJsonDepth} levels`, args)
    }
  }
  return undefined
}

/**
 * Whether `JSON.stringify` can write `value`, as the server must to send it, nesting at most `maxJsonDepth` levels: how
 * deep `JSON.stringify` gets before the call stack runs out depends on the stack, so a deeper value would be written or
 * not by chance (refused here, then a 500 of the server's own as it is sent). Written first, so a cycle is found before
 * the walk of the levels, which would follow it.
 */
function holdsJson(value: object): boolean {
  try {
    JSON.stringify(value)
  } catch {
    return false
  }
  return !nestsDeeperThan(value)
}

/** Whether arguments given as JSON text nest deeper than a server that parses them can write back. */
function nestedTextTooDeep(text: string): boolean {
  // Text that cannot nest that deep is not parsed: most arguments are short.
  if (text.length <= maxJsonDepth * 2) return false
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // Text that is not JSON is sent as it is (a test of a malformed tool call).
    return false
  }
  return nestsDeeperThan(parsed)
}

function problem(field: string, expected: string, value: unknown): string {
  return optionError(field, expected, value).message
}
