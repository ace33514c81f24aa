import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCassette } from '@tinyllm/testing'
import OpenAI, { NotFoundError } from 'openai'
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { OpenAICompatibleServer, OpenAICompatibleServerOptions } from './openai-compatible-server.js'
import { startOpenAICompatibleServer } from './openai-compatible-server.js'

const canaryKey = 'sk-canary-openai-0123456789'
let directory: string

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tinyllm-openai-cassette-'))
})

afterAll(async () => {
  await rm(directory, { recursive: true, force: true })
})

const servers: OpenAICompatibleServer[] = []

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

async function serve(options: OpenAICompatibleServerOptions): Promise<OpenAICompatibleServer> {
  const server = await startOpenAICompatibleServer(options)
  servers.push(server)
  return server
}

/** The calls a small pipeline makes: a completion, a stream with usage and a tool call. */
async function pipeline(client: OpenAI) {
  const completion = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Classify: the card was declined' }],
    temperature: 0,
  })
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Explain in one line' }],
    stream: true,
    stream_options: { include_usage: true },
  })
  const chunks: ChatCompletionChunk[] = []
  for await (const chunk of stream) chunks.push(chunk)
  const tools = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
  })
  const models = await client.models.list()
  return { completion, chunks, tools, models: models.data }
}

describe('OpenAI-compatible server with cassettes', () => {
  it('records a pipeline against an upstream and replays it offline through the SDK, identically', async () => {
    const path = join(directory, 'pipeline.cassette.json')
    const upstream = await serve({
      created: 1_700_000_000,
      replies: (request) => {
        const last = request.messages.at(-1)?.content
        if (last === 'Weather in Paris?') return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] }
        return { content: `Answer to: ${String(last)}` }
      },
    })
    const recorder = await serve({
      cassette: createCassette({ path, mode: 'record', upstream: upstream.url }),
    })
    const recorded = await pipeline(new OpenAI({ apiKey: canaryKey, baseURL: recorder.baseURL, maxRetries: 0 }))
    expect(recorded.completion.choices[0]?.message.content).toBe('Answer to: Classify: the card was declined')
    expect(recorded.chunks.at(-1)?.usage?.total_tokens).toBeGreaterThan(0)
    expect(recorded.tools.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_weather' } })
    await recorder.close()
    await upstream.close()

    const text = await readFile(path, 'utf8')
    expect(text).not.toContain(canaryKey)
    expect(text).not.toContain('canary')
    expect(JSON.parse(text).interactions).toHaveLength(4)

    const cassette = createCassette({ path, mode: 'replay' })
    const replay = await serve({ cassette })
    const client = new OpenAI({ apiKey: 'another-key', baseURL: replay.baseURL, maxRetries: 0 })
    expect(await pipeline(client)).toEqual(recorded)
    expect(cassette.misses).toEqual([])

    const miss = await client.chat.completions
      .create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Classify: the card was accepted' }],
        temperature: 0,
      })
      .catch((caught: unknown) => caught)
    expect(miss).toBeInstanceOf(NotFoundError)
    expect((miss as NotFoundError).message).toContain(
      '$.body.messages[0].content: "Classify: the card was declined" → "Classify: the card was accepted"',
    )
    expect(cassette.misses[0]?.nearest?.body).toMatchObject({ temperature: 0 })
  })
})
