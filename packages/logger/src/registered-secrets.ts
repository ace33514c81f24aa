/** Shared by every copy of this package in the process, so a secret registered through one copy is redacted by all. */
const REGISTERED_SECRETS_KEY = Symbol.for('tinyllm.logger.registered-secrets')

/** Shorter values would match ordinary text and shred every log line. */
const MINIMUM_SECRET_LENGTH = 4

type SecretStore = { [REGISTERED_SECRETS_KEY]?: string[] }

/** The registered secrets, longest first so that a secret containing another is replaced whole. */
export function registeredSecrets(): readonly string[] {
  const store = globalThis as SecretStore
  let secrets = store[REGISTERED_SECRETS_KEY]
  if (secrets === undefined) {
    secrets = []
    store[REGISTERED_SECRETS_KEY] = secrets
  }
  return secrets
}

/**
 * Registers an exact secret value (an API key read from the environment, a password) so that every logger, and
 * `redact` and `redactString`, replace it wherever it appears in a string. Surrounding whitespace is ignored; empty
 * values, `undefined` and values shorter than 4 characters are ignored, so an unset variable can be passed as is.
 *
 * @returns A function that unregisters the value.
 * @example
 * ```ts
 * registerSecret(process.env.OPENAI_API_KEY)
 * ```
 */
export function registerSecret(value: string | undefined): () => void {
  const secret = value?.trim() ?? ''
  if (secret.length < MINIMUM_SECRET_LENGTH) return () => {}
  const secrets = registeredSecrets() as string[]
  if (!secrets.includes(secret)) {
    secrets.push(secret)
    secrets.sort((left, right) => right.length - left.length)
  }
  return () => {
    const index = secrets.indexOf(secret)
    if (index !== -1) secrets.splice(index, 1)
  }
}
