// Writes the cassettes the example replays offline, synthetically: the "upstream" they record is a scripted loopback
// server on this machine, not OpenAI or Anthropic. Run it with
// `pnpm --filter @tinyllm/example-credit-classification record:synthetic` after changing the prompt or the settings.
//
// It runs the real example (`src/main.ts --record`) with a placeholder key, so the requests in the cassette are exactly
// the ones the example sends; only the answers are made up — by the keyword rule below — and their token counts are the
// loopback server's estimate (about one token per four characters). A real recording (`--record` with a key) replaces
// the file and drops the `synthetic` note.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startAnthropicCompatibleServer } from '@tinyllm/anthropic/testing'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { cassettePath } from './cassettes.ts'
import type { Provider } from './command-line.ts'

const note =
  'it was made by src/record-synthetic-cassette.ts against a scripted server on 127.0.0.1, not against the real API. ' +
  'The answers follow a keyword rule, the first call is rate-limited once to show a retry, and the token counts are ' +
  'estimates (about one token per four characters).'

/** The scripted underwriter: a history of timely payments and a stable income is good, anything else is bad. */
function underwrite(application: unknown): string {
  return /excellent credit history|timely payments/i.test(String(application)) ? 'good' : 'bad'
}

const rateLimited = 'Rate limit reached (synthetic): please try again in 250ms.'

const scriptedUpstreams: Readonly<Record<Provider, () => Promise<{ url: string; close(): Promise<void> }>>> = {
  openai: () =>
    startOpenAICompatibleServer({
      created: 1_735_689_600,
      replies: (request, { chatIndex }) =>
        chatIndex === 0
          ? {
              error: {
                status: 429,
                message: rateLimited,
                code: 'rate_limit_exceeded',
                headers: { 'retry-after-ms': '250' },
              },
            }
          : underwrite(request.messages.findLast((message) => message.role === 'user')?.content),
    }),
  anthropic: () =>
    startAnthropicCompatibleServer({
      replies: (request, { messageIndex }) =>
        messageIndex === 0
          ? { error: { status: 429, message: rateLimited, headers: { 'retry-after-ms': '250' } } }
          : underwrite(request.messages.findLast((message) => message.role === 'user')?.content),
    }),
}

const main = fileURLToPath(new URL('./main.ts', import.meta.url))
const keys: Readonly<Record<Provider, [string, string]>> = {
  openai: ['OPENAI_API_KEY', 'sk-synthetic-recording-placeholder'],
  anthropic: ['ANTHROPIC_API_KEY', 'sk-ant-synthetic-recording-placeholder'],
}

for (const provider of ['openai', 'anthropic'] as const) {
  const upstream = await scriptedUpstreams[provider]()
  const [keyVariable, placeholderKey] = keys[provider]
  // The example runs in a child process: this one must stay free to serve the scripted upstream.
  const example = spawn(process.execPath, [main, '--provider', provider, '--record', '--upstream', upstream.url], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, [keyVariable]: placeholderKey },
  })
  const [exitCode] = (await once(example, 'close')) as [number | null]
  await upstream.close()
  if (exitCode !== 0) throw new Error(`recording ${provider} failed: the example exited with ${exitCode}`)
  const path = cassettePath(provider)
  const file = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
  writeFileSync(path, `${JSON.stringify({ synthetic: note, ...file }, null, 2)}\n`)
  console.log(`${provider}: wrote ${path} (synthetic)`)
}
