import { headerCredentials, isSecretFieldName, isSecretStringField, registerSecret } from '@tinyllm/logger'
import { urlSecrets } from './endpoint.js'

/** The releases of what each owner registered, run when the owner is garbage-collected. */
const releaseWhenCollected = new FinalizationRegistry<Array<() => void>>((releases) => {
  for (const release of releases) release()
})

/** What a provider's client holds that must never be shown. */
export interface ClientSecrets {
  /** The API key (given, read from the environment, or the key of a client passed in). */
  readonly apiKey?: string | null | undefined
  /** The base URL: its user, password and secret query values (`?api-key=`, `?key=`, `?token=`) are secrets. */
  readonly baseURL?: string | null | undefined
  /**
   * The headers sent with every request: the values of those named like a credential (`Authorization`, Azure's
   * `api-key`, `x-api-key`, a cookie) are secrets, and so is the credential after an authorization scheme (`Bearer …`).
   */
  readonly headers?: Readonly<Record<string, string>> | null | undefined
  /**
   * The environment given to a process the client starts (an MCP server over stdio): the values of the variables
   * named like a credential, as headers are (`GITHUB_TOKEN`, `API_KEY`, `PGPASSWORD`, `PGPASSWD`), and of those a
   * shell names a password by (`PASS`, `MYSQL_PWD`, `SMTP_PASS`) are secrets. `PWD` holding a path is the working
   * directory, and stays.
   */
  readonly env?: Readonly<Record<string, string>> | null | undefined
}

/**
 * Registers a client's secrets — its API key, the credentials in its base URL and in its headers — with the redaction
 * of every tinyllm logger, error message and run record, for as long as `owner` (the chat model holding the client)
 * lives: they are released when the owner is garbage-collected, or earlier through the returned function. A process
 * serving many tenants, each with a model of its own, so holds the keys of the models alive, not of every tenant it
 * ever served.
 *
 * @example
 * registerClientSecrets(this, { apiKey: options.apiKey, baseURL: options.baseURL, headers: options.headers })
 */
export function registerClientSecrets(owner: object, secrets: ClientSecrets): () => void {
  const values = [...urlSecrets(secrets.baseURL), ...headerCredentials(secrets.headers), ...envSecrets(secrets.env)]
  if (typeof secrets.apiKey === 'string') values.push(secrets.apiKey)
  const releases = values.map((value) => registerSecret(value))
  if (releases.length === 0) return () => {}
  const token = {}
  releaseWhenCollected.register(owner, releases, token)
  return () => {
    releaseWhenCollected.unregister(token)
    for (const release of releases) release()
  }
}

/** A variable a shell or a client names a password by: `MYSQL_PWD`, `SMTP_PASS` (a bare `PWD` or `PASS` too). */
const passwordVariable = /_(?:pwd|pass)$/i

/** The values of the environment variables named like a credential, or like a password (`MYSQL_PWD`). */
function envSecrets(env: Readonly<Record<string, string>> | null | undefined): string[] {
  if (typeof env !== 'object' || env === null) return []
  const secrets = headerCredentials(env)
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== 'string' || isSecretFieldName(name)) continue
    if (passwordVariable.test(name) || isSecretStringField(name, value)) secrets.push(value)
  }
  return secrets
}
