import type { ErrorReply } from './scripted-reply.js'

/**
 * The most output tokens each model takes in `max_completion_tokens` (or `max_tokens`), by its id, a snapshot's
 * without its date (the "Max output tokens" of OpenAI's model pages): a request asking for more is refused with a 400.
 * A snapshot whose limit differs from its model's is listed by its own id. A model missing here is not checked.
 */
const maxOutputTokens: ReadonlyMap<string, number> = new Map([
  ['gpt-4o', 16_384],
  ['gpt-4o-2024-05-13', 4_096],
  ['gpt-4o-mini', 16_384],
  ['gpt-4.1', 32_768],
  ['gpt-4.1-mini', 32_768],
  ['gpt-4.1-nano', 32_768],
  ['gpt-4-turbo', 4_096],
  ['gpt-3.5-turbo', 4_096],
  ['o1', 100_000],
  ['o3', 100_000],
  ['o3-mini', 100_000],
  ['o4-mini', 100_000],
  ['gpt-5', 128_000],
  ['gpt-5-mini', 128_000],
  ['gpt-5-nano', 128_000],
])

/** The limit of `model`: its own id's, else that of its id without a snapshot date (`-2024-08-06`). */
function limitOf(model: unknown): number | undefined {
  if (typeof model !== 'string') return undefined
  return maxOutputTokens.get(model) ?? maxOutputTokens.get(model.replace(/-\d{4}-\d{2}-\d{2}$/, ''))
}

/**
 * OpenAI's answer to a request whose `max_completion_tokens` or `max_tokens` is over its model's limit, in the words
 * of its 400 ("max_tokens is too large: 20480. This model supports at most 16384 completion tokens, whereas you
 * provided 20480."), or `undefined`.
 */
export function outputTokenLimitError(body: Record<string, unknown>): ErrorReply['error'] | undefined {
  const limit = limitOf(body.model)
  if (limit === undefined) return undefined
  for (const param of ['max_completion_tokens', 'max_tokens']) {
    const value = body[param]
    if (typeof value !== 'number' || value <= limit) continue
    return {
      status: 400,
      message: `${param} is too large: ${value}. This model supports at most ${limit} completion tokens, whereas you provided ${value}.`,
      type: 'invalid_request_error',
      param,
      code: 'invalid_value',
    }
  }
  return undefined
}
