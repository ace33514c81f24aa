import type { TinyLLMError } from '@tinyllm/core'
import type { ChatCallOptions } from '../chat-model.js'
import { readEnvironment } from './api-key.js'
import { callSignal, cancellationError, cancelScopeField, readCallOptions } from './call-cancellation.js'
import { registerClientSecrets } from './client-secrets.js'
import { baseURLError, type ProviderEndpoint, providerEndpoint } from './endpoint.js'
import type { ProviderConnectionOptions } from './provider-connection-options.js'
import { toProviderError } from './provider-error.js'
import type { ProviderProfile } from './provider-profile.js'
import type { ProviderStreamOptions } from './provider-stream.js'
import { type SdkClientOptions, sdkClientOptions } from './sdk-client-options.js'

/** What tinyllm passes an SDK with each request: no retries, and the call's cancellation one way or the other. */
export interface SdkRequestOptions {
  readonly maxRetries: 0
  readonly signal?: AbortSignal
  /** Carries the call's cancel scope to tinyllm's transport (under a symbol key no `fetch` reads). */
  readonly fetchOptions?: Record<never, never>
}

const noRetries: SdkRequestOptions = Object.freeze({ maxRetries: 0 })

/** What the helper reads of an SDK client: both official SDKs' clients have these (`authToken`, Anthropic's only). */
export interface SdkClientShape {
  readonly baseURL: string
  readonly apiKey?: string | null | undefined
  /** A bearer token the client sends instead of, or beside, its key. */
  readonly authToken?: string | null | undefined
}

/** A client passed in, or what creating one takes. */
export interface ProviderClientOptions<Client> extends ProviderConnectionOptions {
  readonly client?: Client | undefined
}

/**
 * The SDK client behind a provider's chat model, handled one way for every provider: the client passed in, or one
 * created at the first call (so a missing API key is an error of that call, not of the import) from
 * {@link sdkClientOptions} (key, base URL, headers, size cap, logs) and what `create` adds; the API key, the base
 * URL's credentials and those in the `headers` option — given, or read from the environment by the SDK of a client
 * created here (the profile's variables) — registered for redaction from construction for as long as this object —
 * and so the model holding it — lives; failures mapped by {@link toProviderError}, with the client's endpoint.
 *
 * @example
 * this.#client = new ProviderClient(openAIProfile, options, (common) => new OpenAI({ ...common, project: options.project }))
 * const completion = await this.#client.client.chat.completions.create(body)
 */
export class ProviderClient<Client extends SdkClientShape> {
  readonly #profile: ProviderProfile
  readonly #options: ProviderClientOptions<Client>
  readonly #create: (common: SdkClientOptions) => Client
  readonly #owner: string
  #client: Client | undefined
  #endpoint: ProviderEndpoint | undefined
  /** The credentials of a client passed in, as last registered (its key and bearer token). */
  #registeredCredentials = ''

  constructor(
    profile: ProviderProfile,
    options: ProviderClientOptions<Client>,
    create: (common: SdkClientOptions) => Client,
  ) {
    this.#profile = profile
    this.#create = create
    this.#owner = `${profile.displayName}ChatModel`
    const client = options.client
    this.#client = client
    // The headers as they are now are the ones registered and the ones sent: a key put into the object later (before
    // the first call creates the client) would be sent and never registered.
    const headers = options.headers
    this.#options = typeof headers === 'object' && headers !== null ? { ...options, headers: { ...headers } } : options
    // A client passed in keeps its default headers out of reach (the SDKs expose no way to read them): only its key,
    // bearer token and base URL are registered. What a client built here will read from the environment (the key, the
    // base URL, the headers of OPENAI_CUSTOM_HEADERS…) is registered now, as what is given is, though it is read at the
    // first call: a run whose calls are all replayed from a journal makes none.
    const baseURLVariable = profile.baseURLVariable
    registerClientSecrets(this, {
      apiKey: client === undefined ? (options.apiKey ?? readEnvironment(profile.apiKeyVariable)) : undefined,
      baseURL:
        client !== undefined
          ? client.baseURL
          : (options.baseURL ?? (baseURLVariable === undefined ? undefined : readEnvironment(baseURLVariable))),
      headers: client === undefined ? this.#options.headers : undefined,
    })
    if (client === undefined) registerClientSecrets(this, { headers: environmentHeaders(profile.headersVariable) })
    if (client !== undefined) this.registerCredentials(client)
  }

  /** The SDK client: the one passed in, or one created now, at the first call. */
  get client(): Client {
    const passed = this.#options.client
    if (passed !== undefined) {
      // A client passed in may be given a new key (`client.apiKey = …`) after the model was built: it sends that one.
      this.registerCredentials(passed)
      return passed
    }
    if (this.#client !== undefined) return this.#client
    const options = this.#options
    const client = this.#create(sdkClientOptions(this.#profile, this, options))
    // The SDK adds the headers of its environment variable (OPENAI_CUSTOM_HEADERS…) to every request: the credentials
    // among them are redacted, as those of the headers option are (again: the variable may have changed since).
    registerClientSecrets(this, { headers: environmentHeaders(this.#profile.headersVariable) })
    // Without a baseURL option the SDK read one from the environment (OPENAI_BASE_URL…), credentials included: they are
    // redacted, and refused, as the option's are at construction.
    if (options.baseURL === undefined) {
      registerClientSecrets(this, { baseURL: client.baseURL })
      const source = this.#profile.baseURLVariable ?? 'the base URL read from the environment'
      const refused = baseURLError(client.baseURL, source)
      if (refused !== undefined) throw refused
    }
    this.#client = client
    return client
  }

  /** Registers the key and bearer token a client passed in sends, when they changed since they last were. */
  private registerCredentials(client: Client): void {
    const { apiKey, authToken } = client
    const credentials = JSON.stringify([apiKey, authToken])
    if (credentials === this.#registeredCredentials) return
    this.#registeredCredentials = credentials
    registerClientSecrets(this, { apiKey })
    registerClientSecrets(this, { apiKey: authToken })
  }

  /**
   * The SDK's per-request options of one call: no retries, and the call's cancellation. When tinyllm created the client
   * (so its transport is tinyllm's) and the caller passed a cancel scope, the scope travels in `fetchOptions` and the
   * transport cancels the request underneath the SDK, which gets no signal to compose with its own on every request;
   * otherwise the SDK gets the call's signal, if any.
   */
  requestOptions(options: ChatCallOptions | undefined): SdkRequestOptions {
    const read = readCallOptions(options, this.#owner)
    const scope = read.scope
    if (scope !== undefined && this.#options.client === undefined) {
      return scope.cancellable ? { maxRetries: 0, fetchOptions: { [cancelScopeField]: scope } } : noRetries
    }
    const signal = callSignal(read)
    return signal === undefined ? noRetries : { maxRetries: 0, signal }
  }

  /** The signal that cancels a call with `options` (a stream's); options that cannot be read are a ConfigurationError. */
  signal(options: ChatCallOptions | undefined): AbortSignal | undefined {
    return callSignal(readCallOptions(options, this.#owner))
  }

  /**
   * What a stream reads of its call `options`, once: the signal that cancels it and whom to tell of each event (see
   * {@link streamProviderParts}); options that cannot be read are a ConfigurationError.
   */
  streamOptions(options: ChatCallOptions | undefined): Pick<ProviderStreamOptions<unknown>, 'signal' | 'onActivity'> {
    const read = readCallOptions(options, this.#owner)
    return { signal: callSignal(read), onActivity: read.onActivity }
  }

  /**
   * What one call threw, as a typed tinyllm error: the call's cancellation once it was cancelled, else {@link toError}
   * (`answered`: the server's answer had arrived).
   */
  callError(error: unknown, options: ChatCallOptions | undefined, answered = false): TinyLLMError {
    return this.cancellation(options) ?? this.toError(error, undefined, answered)
  }

  /**
   * Rejects with the {@link callError} of what `pending`, the SDK's promise of one call, failed with, knowing whether
   * the server had answered: a body that fails while it is read is a retryable connection failure, whatever `fetch`
   * the client reads it through, never a request that could not be sent.
   */
  rejectCall(pending: unknown, error: unknown, options: ChatCallOptions | undefined): Promise<never> {
    return answerArrived(pending).then((answered) => {
      throw this.callError(error, options, answered)
    })
  }

  /**
   * The call's cancellation (its AbortError or TimeoutError) when it was cancelled before it could be sent, or the
   * ConfigurationError of options that cannot be read; never thrown.
   */
  cancellation(options: ChatCallOptions | undefined): TinyLLMError | undefined {
    try {
      return cancellationError(readCallOptions(options, this.#owner))
    } catch (error) {
      return error as TinyLLMError
    }
  }

  /** Whatever a call through the client threw, as a typed tinyllm error naming the endpoint. */
  toError(error: unknown, signal: AbortSignal | undefined, answered = false): TinyLLMError {
    // A client passed in whose key is a function (the OpenAI SDK's key rotation) reads a key for each request and
    // keeps it as `client.apiKey` once read: registered now, before the failure that may quote it is shown.
    const passed = this.#options.client
    if (passed !== undefined) {
      try {
        this.registerCredentials(passed)
      } catch {
        // A key getter that throws: the call's failure is still mapped.
      }
    }
    const client = this.#client
    if (client !== undefined) this.#endpoint ??= providerEndpoint(this.#profile, client.baseURL)
    return toProviderError(this.#profile, error, { signal, endpoint: this.#endpoint, answered })
  }
}

/**
 * Whether the server had answered a call that failed, read from the SDK's promise of it (both SDKs' `asResponse`
 * resolves once the status and headers arrived, and rejects when they never did): a body that fails while it is read
 * through a client's own `fetch` rejects with whatever that `fetch` failed with, which names no phase.
 */
function answerArrived(pending: unknown): Promise<boolean> {
  try {
    const asResponse = (pending as { asResponse?: unknown } | null | undefined)?.asResponse
    if (typeof asResponse !== 'function') return Promise.resolve(false)
    return Promise.resolve(asResponse.call(pending)).then(
      () => true,
      () => false,
    )
  } catch {
    return Promise.resolve(false)
  }
}

/**
 * The headers an SDK reads from `variable` and sends with every request of a client it builds, read as the SDKs read
 * them: one `name: value` a line, both trimmed; a line without a colon is none.
 */
function environmentHeaders(variable: string | undefined): Record<string, string> | undefined {
  const text = variable === undefined ? undefined : readEnvironment(variable)
  if (text === undefined) return undefined
  const headers: Array<[string, string]> = []
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':')
    if (colon !== -1) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()])
  }
  // Own keys whatever their names, `__proto__` included.
  return Object.fromEntries(headers)
}
