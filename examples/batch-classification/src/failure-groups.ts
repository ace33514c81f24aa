import type { TinyLLMError } from '@tinyllm/core'
import { ProviderCallError } from '@tinyllm/llm'

interface FailureGroup {
  count: number
  /** The first failure of the group: which item, and its message. */
  readonly example: { readonly item: string; readonly message: string }
}

/**
 * Failures grouped by what they are — the typed error's name, plus the HTTP status and the provider's error type for
 * provider errors — each group with a count and its first message as an example, most frequent first.
 */
export class FailureGroups {
  private readonly groups = new Map<string, FailureGroup>()

  /** Counts one failure of `item`. */
  add(item: string, error: TinyLLMError | undefined): void {
    const key = describeError(error)
    const group = this.groups.get(key)
    if (group) group.count++
    else
      this.groups.set(key, { count: 1, example: { item, message: firstLine(error?.message ?? 'no error recorded') } })
  }

  /** `  7 × DecisionError — e.g. APP-0042: Label: decision "…" is not one of the choices [good, review, bad]` */
  format(indent: string): string[] {
    return [...this.groups.entries()]
      .sort((left, right) => right[1].count - left[1].count)
      .map(([key, { count, example }]) => `${indent}${count} × ${key} — e.g. ${example.item}: ${example.message}`)
  }
}

/** `RateLimitError 429`, `ProviderCallError 400 context_length_exceeded`, `DecisionError`: what kind of failure. */
export function describeError(error: TinyLLMError | undefined): string {
  if (error === undefined) return 'unknown error'
  if (!ProviderCallError.isInstance(error)) return error.name
  const status = error.status === undefined ? 'no response' : String(error.status)
  return [error.name, status, error.providerErrorType].filter((part) => part !== undefined).join(' ')
}

function firstLine(text: string): string {
  const end = text.indexOf('\n')
  return end === -1 ? text : text.slice(0, end)
}
