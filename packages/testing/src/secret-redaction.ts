import { REDACTED, redactString } from '@tinyllm/logger'
import { setOwn } from './set-own.js'

/** What every redacted value is replaced with. */
export const redactedPlaceholder = REDACTED

const secretHeaderName = /^(?:authorization|proxy-authorization|cookie|set-cookie)$|api[-_]?key|token|secret|password/i

/** Whether a header carries a credential and must never be logged or stored. */
export function isSecretHeader(name: string): boolean {
  return secretHeaderName.test(name)
}

/** Copies headers, replacing credential-bearing values with `[REDACTED]`. */
export function redactHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const result: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) result[name] = isSecretHeader(name) ? redactedPlaceholder : value
  return result
}

/**
 * Replaces the given literal secrets, then everything `@tinyllm/logger` recognises as a secret (API-key-shaped
 * strings, bearer tokens, registered secrets), so cassettes and logs share one definition of a secret.
 */
export function redactSecretsInText(text: string, secrets: readonly string[] = []): string {
  let result = text
  for (const secret of secrets) if (secret.length > 0) result = result.replaceAll(secret, redactedPlaceholder)
  return redactString(result)
}

/** Redacts every string inside a JSON-like value (object keys are left alone). */
export function redactSecretsDeep(value: unknown, secrets: readonly string[] = []): unknown {
  if (typeof value === 'string') return redactSecretsInText(value, secrets)
  if (Array.isArray(value)) return value.map((item) => redactSecretsDeep(item, secrets))
  if (typeof value === 'object' && value !== null) {
    const result: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) setOwn(result, key, redactSecretsDeep(item, secrets))
    return result
  }
  return value
}
