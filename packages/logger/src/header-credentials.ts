import { isSecretFieldName } from './redact.js'

/** `<scheme> <credential>`, as in an `Authorization` header. */
const schemeAndCredential = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s+(\S+)\s*$/

/**
 * The credentials request headers carry, to register as secrets: the value of each header named like a credential
 * (`Authorization`, Azure's `api-key`, `x-api-key`, a cookie), and of `<scheme> <credential>` the credential too (a
 * text quoting it alone is redacted), and the password a `Basic` credential encodes. Headers that are not an object
 * give none.
 *
 * @example
 * headerCredentials({ Authorization: 'Bearer tok-123', 'content-type': 'application/json' }) // ['Bearer tok-123', 'tok-123']
 */
export function headerCredentials(headers: Readonly<Record<string, string>> | null | undefined): string[] {
  if (typeof headers !== 'object' || headers === null) return []
  const credentials: string[] = []
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string' || !isSecretFieldName(name)) continue
    credentials.push(value)
    // A value with a space need not be `<scheme> <credential>` (a password `correct horse`): it is kept whole too.
    const [, scheme, credential] = schemeAndCredential.exec(value) ?? []
    if (credential === undefined) continue
    credentials.push(credential)
    const password = scheme?.toLowerCase() === 'basic' ? basicPassword(credential) : undefined
    if (password !== undefined) credentials.push(password)
  }
  return credentials
}

/** The password of a Basic credential (`base64(user:password)`), or `undefined` when it decodes to none. */
function basicPassword(credential: string): string | undefined {
  let decoded: string
  try {
    decoded = atob(credential)
  } catch {
    return undefined
  }
  const colon = decoded.indexOf(':')
  return colon === -1 || colon === decoded.length - 1 ? undefined : decoded.slice(colon + 1)
}
