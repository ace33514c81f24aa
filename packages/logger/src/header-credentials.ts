import { isSecretFieldName } from './redact.js'

/** `<scheme> <credential>`, as in an `Authorization` header. */
const schemeAndCredential = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s+(\S+)\s*$/

/**
 * The credentials request headers carry, to register as secrets: the value of each header named like a credential
 * (`Authorization`, Azure's `api-key`, `x-api-key`, a cookie), and of `<scheme> <credential>` the credential too (a
 * text quoting it alone is redacted), and the password a `Basic` credential encodes. A header of any other name whose
 * value is `Bearer <credential>` (of at least 8 characters) or `Basic <user:password in base64>` names its credential
 * itself (a gateway's `x-upstream-auth`): it is read the same way. Headers that are not an object give none.
 *
 * @example
 * headerCredentials({ Authorization: 'Bearer tok-123', 'content-type': 'application/json' }) // ['Bearer tok-123', 'tok-123']
 */
export function headerCredentials(headers: Readonly<Record<string, string>> | null | undefined): string[] {
  if (typeof headers !== 'object' || headers === null) return []
  const credentials: string[] = []
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') continue
    // A value with a space need not be `<scheme> <credential>` (a password `correct horse`): it is kept whole too.
    const [, scheme, credential] = schemeAndCredential.exec(value) ?? []
    const password =
      scheme?.toLowerCase() === 'basic' && credential !== undefined ? basicPassword(credential) : undefined
    if (!isSecretFieldName(name) && !namesItsCredential(scheme, credential, password)) continue
    credentials.push(value)
    if (credential !== undefined) credentials.push(credential)
    if (password !== undefined) credentials.push(password)
  }
  return credentials
}

/**
 * Whether a value under a header not named like a credential says it is one: `Bearer` and a token long enough not to
 * be a word of a setting (`Bearer on`), or `Basic` and a user and password in base64 (not `Basic plan`).
 */
function namesItsCredential(
  scheme: string | undefined,
  credential: string | undefined,
  basicPassword: string | undefined,
): boolean {
  if (scheme === undefined || credential === undefined) return false
  if (scheme.toLowerCase() === 'bearer') return credential.length >= 8
  return basicPassword !== undefined
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
