import {
  ConfigurationError,
  checkKnownOptions,
  checkNumber,
  checkOneOf,
  optionError,
  type StandardSchemaV1,
  unreadableOption,
} from '@tinyllm/core'
import type { ChatModel, ChatSettings } from '../chat-model.js'
import { chatSettingKeys, splitChatSettings } from '../chat-settings.js'
import { type LLMCallOptions, type LLMCallOutputMode, llmCallOptionKeys } from '../llm-call.js'
import { copyOptions } from '../options-copy.js'
import { baseURLError } from './endpoint.js'
import { providerConnectionKeys, transports } from './provider-connection-options.js'

/** Use an SDK client you built; tinyllm still sends every request with `maxRetries: 0` (it owns retries). */
export type ExistingClientOptions<Client, Connection extends object> = { readonly client: Client } & {
  readonly [Key in keyof Connection]?: never
}

/** Either an existing SDK client or the options to create one (`Connection`), never both. */
export type ClientOptions<Client, Connection extends object> =
  | ExistingClientOptions<Client, Connection>
  | (Connection & { readonly client?: undefined })

/**
 * Options of a provider's chat model: a default model id, and a client or how to create one. Time limits are the
 * calling LLMCall's (`attemptTimeoutMs`, `idleTimeoutMs`, `timeoutMs`), enforced by tinyllm on the whole call, streams
 * included; the SDK's own 10-minute request timeout stays underneath as a last resort.
 */
export type ProviderChatModelOptions<ClientChoice> = ClientChoice & {
  /** Default model id, e.g. `gpt-4o-mini`; a request's `model` overrides it. */
  readonly model: string
}

/**
 * Options of a provider's `*Chat` class (`OpenAIChat`, `AnthropicChat`), the same for every provider so that swapping
 * providers is changing the constructor: an optional name, the model id, any call setting at the top level
 * (`temperature`, `maxTokens`, `tools`…), a client or how to reach the API (`ClientChoice`), and the LLMCall options
 * (`retry`, `rateLimiter`, `prices`, `output`, `structuredOutput`, timeouts).
 */
export type ProviderChatOptions<Mode extends LLMCallOutputMode, Schema extends StandardSchemaV1, ClientChoice> = Omit<
  LLMCallOptions<Mode, Schema>,
  'model' | 'settings' | 'name'
> &
  Omit<ChatSettings, 'model'> &
  ClientChoice & {
    /** Shown in errors, logs, events and run trees. Default: the class name, e.g. `OpenAIChat`. */
    readonly name?: string | undefined
    /** The provider's model id, e.g. `gpt-4o-mini`; an input's `model` overrides it for one call. */
    readonly model: string
  }

/** The options of LLMCall a `*Chat` class passes on as they are (it builds `model` and `settings` itself). */
const passedCallOptionKeys = llmCallOptionKeys.filter((key) => key !== 'model' && key !== 'settings')

/** What a provider package says about its `*Chat` class, for {@link toProviderLLMCallOptions}. */
export interface ProviderChatDefinition<ModelOptions, Model extends ChatModel = ChatModel> {
  /** The name of a call that was given none: the class name. */
  readonly defaultName: string
  /** The names of the client and connection options (`client`, `apiKey`, `baseURL`…), handed to the model. */
  readonly connectionKeys: ReadonlyArray<string>
  /** Builds the chat model from `{ model, ...connection options }`. */
  readonly createModel: (options: ModelOptions) => Model
}

/**
 * Splits a `*Chat` class's options into LLMCall's — one rule for every provider: `name` defaults to the class name; an
 * unknown option (`top_p`, `max_tokens`, `model_name`, a typo) is a {@link ConfigurationError} suggesting the right
 * name; call settings become `settings` (with `model`); the client and connection options build the chat model;
 * everything else passes to LLMCall unchanged.
 */
export function toProviderLLMCallOptions<Mode extends LLMCallOutputMode, Schema extends StandardSchemaV1, ModelOptions>(
  options: ProviderChatOptions<Mode, Schema, object>,
  definition: ProviderChatDefinition<ModelOptions>,
): LLMCallOptions<Mode, Schema> {
  if (typeof options !== 'object' || options === null) {
    throw optionError('options', 'an object', options, definition.defaultName)
  }
  let name: string = definition.defaultName
  // Each option read once, into one copy everything below reads: a getter cannot answer the model one value and the
  // settings another, and a getter or a Proxy that throws is a ConfigurationError naming the call.
  try {
    // The name first, so that an option whose reading throws is named after the call.
    name = options.name ?? name
    const known = knownChatOptions(definition.connectionKeys)
    const source = copyOptions(options, known)
    // The options as given, not the copy: a misspelt getter of a settings class is left out of the copy, not refused.
    checkKnownOptions(options, known, name)
    const modelOptions: Record<string, unknown> = { model: source.model }
    for (const key of definition.connectionKeys) modelOptions[key] = source[key]
    checkConnectionOptions(modelOptions, definition.connectionKeys, name)
    const rest: Record<string, unknown> = {}
    for (const key of passedCallOptionKeys) if (source[key] !== undefined) rest[key] = source[key]
    const settings: ChatSettings = { ...splitChatSettings(source).settings, model: source.model as string }
    return {
      ...(rest as Omit<LLMCallOptions<Mode, Schema>, 'name' | 'model' | 'settings'>),
      name,
      model: definition.createModel(modelOptions as ModelOptions),
      settings,
    }
  } catch (error) {
    throw unreadableOption(error, 'options', typeof name === 'string' ? name : definition.defaultName)
  }
}

/**
 * Checks what every provider's chat model is built from, in one place: a model id, a `client` (an object, never
 * shown) or connection options (not both — the first clashing option is named), an `apiKey`, a `baseURL` and a
 * provider's own connection options (OpenAI's `organization` and `project`) that are strings, a `baseURL` that is an
 * absolute http(s) URL without credentials in it (which `fetch` cannot send), a positive whole `maxResponseBytes`, and a
 * known `transport`.
 */
export function checkConnectionOptions(
  options: Readonly<Record<string, unknown>>,
  connectionKeys: ReadonlyArray<string>,
  owner: string,
): void {
  const model = options.model
  if (typeof model !== 'string' || model.trim() === '') throw optionError('model', 'a model id', model, owner)
  const client = options.client
  // An SDK client is an object: anything else (null, a key given as the client) would fail every call as unsendable.
  if (client !== undefined && (typeof client !== 'object' || client === null || Array.isArray(client))) {
    throw new ConfigurationError({
      option: 'client',
      message: `client must be the provider's SDK client (an object), got ${typeName(client)}`,
      functionName: owner,
    })
  }
  if (client !== undefined) {
    const clash = connectionKeys.find((key) => key !== 'client' && options[key] !== undefined)
    if (clash !== undefined) {
      throw new ConfigurationError({
        option: clash,
        message: `${clash} cannot be combined with client: configure the client you pass instead`,
        functionName: owner,
      })
    }
  }
  checkString(options.apiKey, 'apiKey', owner)
  checkString(options.baseURL, 'baseURL', owner)
  // A provider's own connection options (OpenAI's organization and project) are ids, sent as header values.
  for (const key of connectionKeys) {
    if (!(providerConnectionKeys as ReadonlyArray<string>).includes(key)) checkString(options[key], key, owner)
  }
  const baseURL = options.baseURL
  const refused = typeof baseURL === 'string' ? baseURLError(baseURL, 'baseURL', owner) : undefined
  if (refused !== undefined) throw refused
  checkNumber(options.maxResponseBytes, 'maxResponseBytes', { integer: true, above: 0, unit: 'bytes' }, owner)
  checkOneOf(options.transport, 'transport', transports, owner)
  checkHeaders(options.headers, owner)
}

/** A string option, or absent; anything else is refused by its type alone, so a key given by mistake is never shown. */
/** Throws a ConfigurationError naming `option` unless `value` is a string or absent; the value is named by its type only. */
export function checkString(value: unknown, option: string, owner: string): void {
  if (value === undefined || typeof value === 'string') return
  throw new ConfigurationError({
    option,
    message: `${option} must be a string, got ${typeName(value)}`,
    functionName: owner,
  })
}

/**
 * The `headers` option: an object of string values (`null` removes a header the SDK sends). A value of another kind
 * would be sent as its string form (`[object Object]`), and one named like a credential would not be registered for
 * redaction (only strings are): refused by its type, never shown. So is a `Headers` or a `Map`, which the SDKs would
 * send but whose entries are not its own properties, where the credentials registered for redaction are read.
 */
function checkHeaders(headers: unknown, owner: string): void {
  if (headers === undefined) return
  if (typeof headers !== 'object' || headers === null || Symbol.iterator in headers) {
    throw new ConfigurationError({
      option: 'headers',
      message: `headers must be an object of header values, got ${typeName(headers)}`,
      functionName: owner,
    })
  }
  let entries: Array<[string, unknown]>
  try {
    entries = Object.entries(headers)
  } catch (error) {
    throw unreadableOption(error, 'headers', owner)
  }
  for (const [name, value] of entries) {
    if (value === null) continue
    checkString(value, `headers[${JSON.stringify(name)}]`, owner)
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object' && Symbol.iterator in value)
    return `a ${Object.prototype.toString.call(value).slice(8, -1)}`
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/**
 * Checks a provider chat model's own options: no unknown key (a typo, another library's name), then
 * {@link checkConnectionOptions}. `extraKeys` are options the provider adds (Anthropic's `maxTokens`), which it checks
 * itself. Returns the options as they were checked, each read once: the model uses this copy, so a getter cannot answer
 * a checked `baseURL` and then another; options whose reading throws are a ConfigurationError naming `owner`.
 */
export function checkChatModelOptions<Options extends object>(
  options: Options,
  connectionKeys: ReadonlyArray<string>,
  owner: string,
  extraKeys: ReadonlyArray<string> = [],
): Options {
  if (typeof options !== 'object' || options === null) throw optionError('options', 'an object', options, owner)
  const known = knownKeys(connectionKeys, ['model', ...extraKeys])
  let copy: Record<string, unknown>
  try {
    copy = copyOptions(options, known)
  } catch (error) {
    throw unreadableOption(error, 'options', owner)
  }
  // The options as given, not the copy: a misspelt getter of a settings class is left out of the copy, not refused.
  checkKnownOptions(options, known, owner)
  checkConnectionOptions(copy, connectionKeys, owner)
  return copy as Options
}

const knownKeysCache = new WeakMap<ReadonlyArray<string>, Map<string, ReadonlySet<string>>>()

/** The set of `connectionKeys` and `others`, built once per provider. */
function knownKeys(connectionKeys: ReadonlyArray<string>, others: ReadonlyArray<string>): ReadonlySet<string> {
  let byOthers = knownKeysCache.get(connectionKeys)
  if (byOthers === undefined) {
    byOthers = new Map()
    knownKeysCache.set(connectionKeys, byOthers)
  }
  const id = others.join(',')
  let known = byOthers.get(id)
  if (known === undefined) {
    known = new Set([...connectionKeys, ...others])
    byOthers.set(id, known)
  }
  return known
}

function knownChatOptions(connectionKeys: ReadonlyArray<string>): ReadonlySet<string> {
  return knownKeys(connectionKeys, [...passedCallOptionKeys, ...chatSettingKeys])
}
