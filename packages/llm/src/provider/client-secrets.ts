import { registerSecret } from '@tinyllm/logger'
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
}

/**
 * Registers a client's secrets — its API key, the credentials in its base URL — with the redaction of every tinyllm
 * logger, error message and run record, for as long as `owner` (the chat model holding the client) lives: they are
 * released when the owner is garbage-collected, or earlier through the returned function. A process serving many
 * tenants, each with a model of its own, so holds the keys of the models alive, not of every tenant it ever served.
 *
 * @example
 * registerClientSecrets(this, { apiKey: options.apiKey, baseURL: options.baseURL })
 */
export function registerClientSecrets(owner: object, secrets: ClientSecrets): () => void {
  const values = [...urlSecrets(secrets.baseURL)]
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
