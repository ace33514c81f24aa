import { rename, rm } from 'node:fs/promises'
import { startAnthropicCompatibleServer } from '@tinyllm/anthropic/testing'
import { redactString } from '@tinyllm/logger'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { type Cassette, createCassette } from '@tinyllm/testing'
import { cassettePath, readCassetteFacts } from './cassettes.ts'
import type { ExampleOptions, Provider } from './command-line.ts'

/** Where the chat model sends its requests, and what to tell the reader about it. */
export interface Connection {
  /** Spread into the chat's constructor: empty for the real API, the loopback server's address otherwise. */
  readonly client: { readonly baseURL?: string; readonly apiKey?: string }
  /** Says where the calls go, and whether the answers are real. */
  readonly notice: readonly string[]
  /** Requests the cassette could not answer (offline only): the pipeline asked something that was not recorded. */
  readonly cassetteMisses: () => number
  /**
   * Stops the loopback server. Recording, it replaces the cassette with the recording when `succeeded` (the run went
   * through), and otherwise leaves the cassette as it was and drops the recording.
   */
  close(succeeded: boolean): Promise<void>
}

/** A loopback server of either provider, serving a cassette. */
type StartServer = (options: { cassette: Cassette }) => Promise<{ baseURL: string; close(): Promise<void> }>

const loopbackServers: Readonly<Record<Provider, { readonly label: string; readonly start: StartServer }>> = {
  openai: { label: 'OpenAI', start: startOpenAICompatibleServer },
  anthropic: { label: 'Anthropic', start: startAnthropicCompatibleServer },
}

/**
 * Connects the example to its provider. Offline, a loopback server on 127.0.0.1 replays the shipped cassette; live,
 * nothing is started and the SDK calls the real API; recording, the loopback server forwards every request to the
 * real API and writes what it answered to the cassette (request headers are never stored, keys are redacted).
 */
export async function connect(options: ExampleOptions): Promise<Connection> {
  const { label, start } = loopbackServers[options.provider]
  const path = cassettePath(options.provider)
  const shown = `cassettes/${options.provider}.cassette.json`
  if (options.mode === 'live') {
    return {
      client: {},
      notice: [`Live: calling ${label} (${options.model}) with the key in ${options.keyVariable}.`],
      cassetteMisses: () => 0,
      close: async () => {},
    }
  }
  if (options.mode === 'record') {
    const key = process.env[options.keyVariable] ?? ''
    // Recorded beside the cassette, which it replaces only when the run went through: a recording of a wrong key's
    // 401s or of an unreachable API would otherwise leave nothing to replay.
    const recording = `${path}.recording`
    const cassette = createCassette({ path: recording, mode: 'record', upstream: options.upstream, secrets: [key] })
    const server = await start({ cassette })
    return {
      client: { baseURL: server.baseURL },
      notice: [
        `Recording: calling ${redactString(options.upstream)} (${options.model}) through a loopback proxy on 127.0.0.1;`,
        `the answers replace ${shown} if the run goes through (request headers are not stored, keys are redacted).`,
      ],
      cassetteMisses: () => 0,
      close: async (succeeded) => {
        await server.close()
        if (succeeded) await rename(recording, path)
        else {
          await rm(recording, { force: true })
          console.log(`\nNot recorded: the run failed, so ${shown} is left as it was.`)
        }
      },
    }
  }
  const cassette = createCassette({ path, mode: 'replay' })
  const server = await start({ cassette })
  const { synthetic } = readCassetteFacts(options.provider)
  const keySet = (process.env[options.keyVariable] ?? '') !== ''
  return {
    client: { baseURL: server.baseURL, apiKey: 'offline-replay' },
    notice: [
      `Offline: a loopback ${label}-compatible server on 127.0.0.1 replays ${shown}.`,
      ...(synthetic === undefined
        ? [`The cassette is a recording of ${label}'s answers, made with --record.`]
        : wrap(`The recording is synthetic: ${synthetic}`, 116)),
      keySet
        ? `${options.keyVariable} is set: leave out --offline to call ${label} for real.`
        : `Set ${options.keyVariable} to call ${label} for real.`,
    ],
    cassetteMisses: () => cassette.misses.length,
    close: () => server.close(),
  }
}

/** Breaks a paragraph into lines of at most `width` characters, at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  if (line !== '') lines.push(line)
  return lines
}
