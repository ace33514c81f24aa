import { isSecretFieldName, REDACTED, redactString } from '@tinyllm/logger'
import { setOwn } from './set-own.js'

/**
 * Replaces the given literal secrets, then everything `@tinyllm/logger` recognises as a secret (API-key-shaped
 * strings, bearer tokens, `password=…`-style assignments, registered secrets), so cassettes and logs share one
 * definition of a secret.
 */
export function redactSecretsInText(text: string, secrets: readonly string[] = []): string {
  let result = text
  for (const secret of secrets) if (secret.length > 0) result = result.replaceAll(secret, REDACTED)
  return redactString(result)
}

/**
 * A copy of a JSON value with secrets replaced as `@tinyllm/logger`'s `redact` replaces them: the whole value of a field
 * named like a secret (`password`, `apiKey`, `client_secret`…; `null` is kept, so a missing key stays visible), and
 * secret-looking parts of every other string and key. Unlike `redact` the copy is complete, however large, because a
 * cassette must replay what was recorded.
 */
export function redactSecretsDeep(value: unknown, secrets: readonly string[] = []): unknown {
  if (typeof value === 'string') return redactSecretsInText(value, secrets)
  if (Array.isArray(value)) return value.map((item) => redactSecretsDeep(item, secrets))
  if (typeof value === 'object' && value !== null) {
    const result: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      const secret = item !== null && item !== undefined && isSecretFieldName(key)
      setOwn(result, redactSecretsInText(key, secrets), secret ? REDACTED : redactSecretsDeep(item, secrets))
    }
    return result
  }
  return value
}
