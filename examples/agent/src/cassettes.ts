import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Provider } from './command-line.ts'

/** The cassette a provider's offline run replays, shipped with the example in `cassettes/`. */
export function cassettePath(provider: Provider): string {
  return fileURLToPath(new URL(`../cassettes/${provider}.cassette.json`, import.meta.url))
}

/** What the example needs to know about a shipped cassette before replaying it. */
export interface CassetteFacts {
  /** The model the requests were recorded with: replay answers only the same requests. */
  readonly model: string | undefined
  /** The note a synthetic recording carries (see record-synthetic-cassette.ts); a real recording has none. */
  readonly synthetic: string | undefined
}

/** Reads the model and the synthetic note of a provider's cassette. */
export function readCassetteFacts(provider: Provider): CassetteFacts {
  const file = JSON.parse(readFileSync(cassettePath(provider), 'utf8')) as {
    synthetic?: unknown
    interactions?: ReadonlyArray<{ request?: { body?: { model?: unknown } } }>
  }
  const model = file.interactions?.[0]?.request?.body?.model
  return {
    model: typeof model === 'string' ? model : undefined,
    synthetic: typeof file.synthetic === 'string' ? file.synthetic : undefined,
  }
}
