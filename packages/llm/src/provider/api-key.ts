import { ConfigurationError } from '@tinyllm/core'
import { registerSecret } from '@tinyllm/logger'
import { registerClientSecrets } from './client-secrets.js'
import { checkString } from './provider-chat-options.js'

/** An environment variable, or `undefined` when it is unset or empty (or there is no `process`, as in a browser). */
export function readEnvironment(name: string): string | undefined {
  const value = typeof process === 'undefined' ? undefined : process.env[name]
  return value === '' ? undefined : value
}

/**
 * The API key a provider should use: the one passed, else the environment variable. Called at the first request, so
 * a missing key is an error of that call, naming the variable, not of the import. The key is registered with the
 * logger's redaction, so it never appears in tinyllm's logs, errors or run records — for as long as `owner` (the
 * model holding the client) lives, or for good when there is no owner.
 */
export function resolveApiKey(options: {
  readonly apiKey: string | undefined
  readonly variable: string
  readonly provider: string
  readonly owner?: object | undefined
}): string {
  // A key that is not a string (a number, an object) is refused by its type, never shown: it may still be the key.
  checkString(options.apiKey, 'apiKey', 'resolveApiKey')
  const apiKey = options.apiKey ?? readEnvironment(options.variable)
  if (apiKey === undefined || apiKey.trim() === '') {
    throw new ConfigurationError({
      option: 'apiKey',
      message:
        `no ${options.provider} API key: set the ${options.variable} environment variable or pass \`apiKey\`` +
        ` (a server that needs no key, such as a local Ollama or vLLM, accepts any non-empty one, e.g. 'unused')`,
    })
  }
  if (options.owner === undefined) registerSecret(apiKey)
  else registerClientSecrets(options.owner, { apiKey })
  return apiKey
}
