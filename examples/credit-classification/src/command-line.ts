import { parseArgs } from 'node:util'
import { redactString } from '@tinyllm/logger'
import { readCassetteFacts } from './cassettes.ts'

/** The providers this example can run on. */
export type Provider = 'openai' | 'anthropic'

/** How the calls are made: replayed from the shipped cassette, sent to the real API, or sent and recorded. */
export type Mode = 'offline' | 'live' | 'record'

/** What the command line asked for, with the defaults filled in. */
export interface ExampleOptions {
  readonly provider: Provider
  readonly mode: Mode
  readonly model: string
  /** Record mode: where requests are forwarded; default the provider's API. */
  readonly upstream: string
  /** The environment variable holding the provider's API key. */
  readonly keyVariable: string
  /** The environment variable that points the SDK at another server (`OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL`). */
  readonly baseURLVariable: string
  /** Its value when it is set: live calls go there instead of the provider's API. */
  readonly baseURL?: string | undefined
}

const providers = {
  openai: {
    keyVariable: 'OPENAI_API_KEY',
    baseURLVariable: 'OPENAI_BASE_URL',
    modelVariable: 'OPENAI_MODEL',
    defaultModel: 'gpt-4o-mini',
    api: 'https://api.openai.com',
  },
  anthropic: {
    keyVariable: 'ANTHROPIC_API_KEY',
    baseURLVariable: 'ANTHROPIC_BASE_URL',
    modelVariable: 'ANTHROPIC_MODEL',
    defaultModel: 'claude-haiku-4-5',
    api: 'https://api.anthropic.com',
  },
} as const

export const usage = `Usage: pnpm demo [options]   (or: pnpm --filter @tinyllm/example-credit-classification start [options])

Classifies two loan applications (a good one and a bad one) with the credit pipeline of the original Python tiny-llm.

  --provider openai|anthropic  which provider's chat model answers (default: openai)
  --model <id>                 model id (default: $OPENAI_MODEL or gpt-4o-mini; $ANTHROPIC_MODEL or claude-haiku-4-5)
  --offline                    replay the shipped cassette even when an API key is set
  --record                     call the real API and re-record the cassette (needs the API key)
  --upstream <url>             with --record: the API to forward to (default: the provider's)
  --help                       show this text

Without the provider's API key (OPENAI_API_KEY, ANTHROPIC_API_KEY) the example runs offline: a loopback server on
127.0.0.1 replays cassettes/<provider>.cassette.json, with the model it was recorded with. With the key, it calls the
provider's API, or the server in OPENAI_BASE_URL / ANTHROPIC_BASE_URL when that is set (any compatible server; one
that needs no key accepts any non-empty one).`

/** Thrown for a command line that cannot be run; the message says why. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/**
 * Reads the command line and the environment: which provider, which model, and whether to replay, call or record.
 * Returns `undefined` for `--help`.
 */
export function readCommandLine(
  argv: readonly string[],
  environment: NodeJS.ProcessEnv = process.env,
): ExampleOptions | undefined {
  const { values } = parseArgs({
    // `pnpm start -- --flag` passes the `--` on; it separates pnpm's options from the script's, not ours.
    args: argv[0] === '--' ? argv.slice(1) : [...argv],
    options: {
      provider: { type: 'string', default: 'openai' },
      model: { type: 'string' },
      offline: { type: 'boolean', default: false },
      record: { type: 'boolean', default: false },
      upstream: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  })
  if (values.help) return undefined
  const provider = values.provider
  if (provider !== 'openai' && provider !== 'anthropic') {
    throw new UsageError(`--provider must be openai or anthropic, got "${provider}"`)
  }
  const settings = providers[provider]
  const hasKey = (environment[settings.keyVariable] ?? '') !== ''
  if (values.record && values.offline) throw new UsageError('--record and --offline exclude each other')
  if (values.record && !hasKey) throw new UsageError(`--record calls the real API: set ${settings.keyVariable}`)
  if (values.upstream !== undefined && !values.record) throw new UsageError('--upstream only applies with --record')
  if (values.upstream !== undefined) checkUpstream(values.upstream, settings.keyVariable)
  const mode: Mode = values.record ? 'record' : hasKey && !values.offline ? 'live' : 'offline'
  if (values.model !== undefined && values.model.trim() === '') {
    throw new UsageError(`--model must be a model id, got "${values.model}"`)
  }
  // Offline, the cassette answers only the requests it recorded: same model, same prompt, same settings.
  const recordedModel = mode === 'offline' ? (readCassetteFacts(provider).model ?? settings.defaultModel) : undefined
  if (recordedModel !== undefined && values.model !== undefined && values.model !== recordedModel) {
    throw new UsageError(
      `offline, the cassette answers for ${recordedModel} only; --model ${values.model} needs ${settings.keyVariable}`,
    )
  }
  const model = recordedModel ?? values.model ?? (environment[settings.modelVariable] || settings.defaultModel)
  if (model.trim() === '') throw new UsageError(`${settings.modelVariable} must be a model id, got "${model}"`)
  return {
    provider,
    mode,
    model,
    upstream: values.upstream ?? settings.api,
    keyVariable: settings.keyVariable,
    baseURLVariable: settings.baseURLVariable,
    ...(environment[settings.baseURLVariable] ? { baseURL: environment[settings.baseURLVariable] } : {}),
  }
}

/**
 * Refuses an upstream the recording proxy cannot call: one that is not http or https, or that holds a user or
 * password (fetch refuses to send them). Credentials are never quoted.
 */
function checkUpstream(upstream: string, keyVariable: string): void {
  const url = URL.parse(upstream)
  if (url === null || !/^https?:$/.test(url.protocol)) {
    throw new UsageError(`--upstream must be an http or https URL, got "${redactString(upstream)}"`)
  }
  if (url.username !== '' || url.password !== '') {
    throw new UsageError(
      `--upstream must not hold a user or password, which fetch refuses to send; the key is read from ${keyVariable}`,
    )
  }
}
