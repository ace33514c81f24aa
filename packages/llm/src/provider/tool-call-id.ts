/** What a provider takes as a tool call id in a conversation. */
export interface ToolCallIdRule {
  /** Matches each character the provider does not take (global), e.g. `/[^a-zA-Z0-9_-]/g`. */
  readonly disallowed?: RegExp
  /** The longest id the provider takes. */
  readonly maxLength?: number
}

/** The 8 hex digits of the digest appended, and the `_` before them. */
const digestLength = 9

/**
 * A tool call id as a provider takes it: `id` itself when it fits the rule, else what can be kept of it — each
 * character the provider does not take replaced by `_`, cut short — with a digest of the whole id appended, so that two
 * ids never become one. Deterministic, so a call and the result that answers it, sent apart, stay paired; an id another
 * provider gave (`functions.get_weather:0`, a long `call_…|fc_…` pair) so goes on in a conversation moved here.
 *
 * @example
 * toProviderToolCallId('functions.get_weather:0', { disallowed: /[^a-zA-Z0-9_-]/g }) // 'functions_get_weather_0_…'
 */
export function toProviderToolCallId(id: string, rule: ToolCallIdRule): string {
  const { disallowed, maxLength } = rule
  if (disallowed !== undefined) disallowed.lastIndex = 0
  const fits = (maxLength === undefined || id.length <= maxLength) && !(disallowed?.test(id) ?? false)
  if (fits) return id
  let kept = disallowed === undefined ? id : id.replace(disallowed, '_')
  if (maxLength !== undefined) kept = kept.slice(0, Math.max(0, maxLength - digestLength))
  return `${kept}_${fnv1a(id)}`
}

/** The 32-bit FNV-1a hash of a string's UTF-16 code units, as 8 hex digits: short, and stable across processes. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0).toString(16).padStart(8, '0')
}
