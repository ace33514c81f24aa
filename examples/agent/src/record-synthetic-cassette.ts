// Writes the cassettes the example replays offline, synthetically: the "upstream" they record is a scripted loopback
// server on this machine, not OpenAI or Anthropic. Run it with `pnpm --filter @tinyllm/example-agent record:synthetic`
// after changing the instructions, the tools or the settings.
//
// It runs the real example (`src/main.ts --record`) twice per provider — approving the email, then denying it — with a
// placeholder key, so the requests in the cassette are exactly the ones the example sends, and merges both recordings.
// Only the answers are made up, by the rule below; their token counts are the loopback server's estimate.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { canonicalJson } from '@tinyllm/testing'
import { cassettePath } from './cassettes.ts'
import type { Provider } from './command-line.ts'
import { scriptedUpstreams } from './scripted-model.ts'

const note =
  'it was made by src/record-synthetic-cassette.ts against a scripted server on 127.0.0.1, not against the real API. ' +
  'The scripted model looks the applicant up, computes the ratio, asks to email the decision and then answers; the ' +
  'token counts are estimates (about one token per four characters).'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))
const keys: Readonly<Record<Provider, [string, string]>> = {
  openai: ['OPENAI_API_KEY', 'sk-synthetic-recording-placeholder'],
  anthropic: ['ANTHROPIC_API_KEY', 'sk-ant-synthetic-recording-placeholder'],
}

for (const provider of ['openai', 'anthropic'] as const) {
  const interactions: unknown[] = []
  const seen = new Set<string>()
  let file: Record<string, unknown> = {}
  for (const answer of ['--approve', '--deny']) {
    const upstream = await scriptedUpstreams[provider]()
    const [keyVariable, placeholderKey] = keys[provider]
    // The example runs in a child process: this one must stay free to serve the scripted upstream.
    const example = spawn(
      process.execPath,
      [main, '--provider', provider, '--record', '--upstream', upstream.url, answer],
      { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, [keyVariable]: placeholderKey } },
    )
    const [exitCode] = (await once(example, 'close')) as [number | null]
    await upstream.close()
    if (exitCode !== 0) throw new Error(`recording ${provider} ${answer} failed: the example exited with ${exitCode}`)
    file = JSON.parse(readFileSync(cassettePath(provider), 'utf8')) as Record<string, unknown>
    // Both runs send the same requests until the approval; each interaction is kept once.
    for (const interaction of file.interactions as unknown[]) {
      const key = canonicalJson(interaction)
      if (!seen.has(key)) interactions.push(interaction)
      seen.add(key)
    }
  }
  const { synthetic: _, ...recorded } = file
  writeFileSync(cassettePath(provider), `${JSON.stringify({ synthetic: note, ...recorded, interactions }, null, 2)}\n`)
  console.log(`${provider}: wrote ${cassettePath(provider)} (synthetic, ${interactions.length} interactions)`)
}
