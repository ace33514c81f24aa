import type { IncomingHttpHeaders } from 'node:http'
import { inspect } from 'node:util'
import { AbortError, ConfigurationError, TimeoutError, TinyLLMError } from '@tinyllm/core'
import {
  type ChatMessage,
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  LLMCall,
  ProviderCallError,
  RateLimitError,
  resultText,
} from '@tinyllm/llm'
import type { LoggedRequest, LoopbackServer } from '@tinyllm/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { checkAdapter } from './adapter-check.js'
import { importAnotherCopy, importInstalled } from './another-copy.js'
import type { ScriptedFinishReason, ScriptedTurn } from './scripted-turn.js'
import { type StreamTampering, startStreamProxy } from './stream-proxy.js'
import type { WireRequest } from './wire-request.js'

/**
 * What a provider package supplies to run the conformance suite against its own loopback server: how to start the
 * server with scripted replies, how to build its chat model pointed at it, and how to read the requests it received.
 */
export interface ChatModelConformanceAdapter<Server extends LoopbackServer = LoopbackServer> {
  /** The provider's name; the model's `provider` must equal it. */
  readonly name: string
  /** The path of the chat endpoint on the server, e.g. `/v1/messages`; other requests are ignored. */
  readonly chatPath: string
  /**
   * Starts the provider's loopback server so that its `i`-th chat request is answered by `script[i]` (see
   * `scriptFaults` and `replyTurnAt` for servers built on `@tinyllm/testing`). Each test starts its own server and
   * closes it afterwards.
   */
  startServer(script: readonly ScriptedTurn[]): Promise<Server>
  /**
   * Builds the provider's chat model pointed at `server` (its `url`, or a URL built on it such as a `baseURL`), with a
   * test key (sent in a header; the suite checks that no error shows it) and no retries of the SDK's own.
   */
  createModel(server: Server): ChatModel
  /** Reads a chat request body, as the server received it, into provider-neutral terms. */
  readRequest(body: unknown): WireRequest
  /**
   * Whether the provider returns several choices for `n > 1`. When it does not, the model must reject such a call
   * with a `ConfigurationError` whose `option` is `n`, before anything is sent.
   */
  readonly multipleChoices: boolean
  /**
   * The provider's SDK, for the case "a client from another copy of the SDK maps the same": the package's name, where
   * it is installed (`import.meta.url` of the adapter's file), and the model built on a client of the copy it is given,
   * pointed at the server. The suite copies the SDK, so the copy's classes are not the installed ones.
   */
  readonly sdk?:
    | {
        readonly packageName: string
        readonly installedFrom: string
        createModel(sdk: unknown, server: Server): ChatModel
      }
    | undefined
}

/**
 * Longest wait for something the server or the model must do (a request arriving, a connection closing), in ms: only a
 * failing run waits this long, so it is generous enough for a machine under heavy load.
 */
const waitLimitMs = 20_000

/**
 * Declares the chat-model conformance suite (vitest `describe`/`it`) for one provider: plain completion, system prompt,
 * multi-turn (another provider's reasoning in it left out, generated and streamed), multiple choices (each with its
 * own finish reason, generated and streamed; or a typed "unsupported"), stop sequences and max tokens (generated and
 * streamed), strict JSON-schema output (the schema made strict-mode valid on the wire, the model's nulls read back),
 * empty answers, a tool-call round trip, multi-turn tool use (parallel calls, results out of order, a second tool turn,
 * a streamed turn sent back, and a call left without a result refused by the server as by the API), streaming that
 * assembles to the non-streaming result, finish reasons,
 * usage (of a text turn and of a tool-call turn, generated and streamed), request ids, a streamed request sent as the generated one (apart from asking for a stream), error mapping (401, 429, 5xx, generated and streamed, and the same for a client from another copy
 * of the SDK when the adapter names it), errors that never show the key the model sent, connection failures (refused,
 * reset, cut mid-answer, a stream ended early, a malformed body), abort and idle timeout.
 * Call it at the top level of a provider package's test file. An adapter it cannot run on — a field misspelt or
 * missing, a `multipleChoices` that is no boolean, a `chatPath` that is no path, a getter that throws — is a
 * `ConfigurationError` naming the field, thrown before any test is declared.
 *
 * @example
 * // packages/<provider>/src/conformance.test.ts
 * import { describeChatModelConformance } from '@tinyllm/conformance'
 * describeChatModelConformance(myProviderAdapter)
 */
export function describeChatModelConformance<Server extends LoopbackServer>(
  adapter: ChatModelConformanceAdapter<Server>,
): void {
  checkAdapter(adapter)
  describe(`${adapter.name}: chat-model conformance`, () => {
    let server: Server | undefined

    afterEach(async () => {
      await server?.close()
      server = undefined
    })

    async function start(script: readonly ScriptedTurn[]): Promise<{ server: Server; model: ChatModel }> {
      server = await adapter.startServer(script)
      return { server, model: adapter.createModel(server) }
    }

    function chatRequests(running: Server): LoggedRequest[] {
      return running.requests.filter((request) => request.path === adapter.chatPath)
    }

    /** The `x-request-id` the server sent with its answer to chat request `index`. */
    function requestIdOf(running: Server, index: number): string {
      const logged = chatRequests(running)[index]
      if (logged === undefined) throw new Error(`the server received no chat request #${index}`)
      return logged.requestId
    }

    function wire(running: Server, index = 0): WireRequest {
      const logged = chatRequests(running)[index]
      if (logged === undefined) throw new Error(`the server received no chat request #${index}`)
      return adapter.readRequest(logged.body)
    }

    const user = (content: string) => ({ role: 'user', content }) as const

    it('implements chat-model specification v1 under its provider name', async () => {
      const { model } = await start([])
      expect(model.specificationVersion).toBe('v1')
      expect(model.provider).toBe(adapter.name)
      expect(model.modelId).toBeTypeOf('string')
      expect(model.modelId.length).toBeGreaterThan(0)
    })

    it('plain completion: one choice with the text, finish reason stop, the model and the request id', async () => {
      const { server, model } = await start([{ type: 'text', text: 'Hello from the loopback server.' }])
      const result = await model.doGenerate({ messages: [user('Say hello.')] })
      expect(result.choices).toHaveLength(1)
      expect(result.choices[0]).toMatchObject({
        index: 0,
        finishReason: 'stop',
        message: { role: 'assistant', content: 'Hello from the loopback server.' },
      })
      expect(resultText(result)).toBe('Hello from the loopback server.')
      expect(result.model).toBeTypeOf('string')
      expect(result.model.length).toBeGreaterThan(0)
      expect(result.requestId).toBe(requestIdOf(server, 0))
      expect(chatRequests(server)).toHaveLength(1)
      expect(wire(server)).toMatchObject({ messages: [{ role: 'user', text: 'Say hello.' }], stream: false })
    })

    it("sends the model's default model id, or the one the request names", async () => {
      const { server, model } = await start([
        { type: 'text', text: 'one' },
        { type: 'text', text: 'two' },
      ])
      await model.doGenerate({ messages: [user('a')] })
      await model.doGenerate({ model: 'conformance-model-override', messages: [user('b')] })
      expect(wire(server, 0).model).toBe(model.modelId)
      expect(wire(server, 1).model).toBe('conformance-model-override')
    })

    it('system prompt reaches the provider as system instructions, not as a conversation turn', async () => {
      const { server, model } = await start([{ type: 'text', text: 'Terse.' }])
      await model.doGenerate({
        messages: [{ role: 'system', content: 'You are terse. SYSTEM-MARKER-7' }, user('Describe the sea.')],
      })
      const request = wire(server)
      expect(request.system).toEqual(['You are terse. SYSTEM-MARKER-7'])
      expect(request.messages).toEqual([{ role: 'user', text: 'Describe the sea.' }])
    })

    it('multi-turn: every user and assistant turn reaches the wire, in order', async () => {
      const { server, model } = await start([{ type: 'text', text: 'Blue.' }])
      const result = await model.doGenerate({
        messages: [
          user('My name is Ada.'),
          { role: 'assistant', content: 'Hello Ada.' },
          user('What is my name?'),
          { role: 'assistant', content: 'Ada.' },
          user('And the colour of the sky?'),
        ],
      })
      expect(resultText(result)).toBe('Blue.')
      expect(wire(server).messages).toEqual([
        { role: 'user', text: 'My name is Ada.' },
        { role: 'assistant', text: 'Hello Ada.', toolCalls: [] },
        { role: 'user', text: 'What is my name?' },
        { role: 'assistant', text: 'Ada.', toolCalls: [] },
        { role: 'user', text: 'And the colour of the sky?' },
      ])
    })

    for (const how of callKinds) {
      it(`another provider's reasoning in an assistant turn is not sent: the turn reaches the wire as without it (${how.name})`, async () => {
        const { server, model } = await start([{ type: 'text', text: 'Blue.' }])
        const reasoning = [
          { text: 'Reasoning made elsewhere.', provider: 'another-provider', signature: 'opaque-proof' },
        ]
        await how.call(model, {
          messages: [user('Hello.'), { role: 'assistant', content: 'Hello.', reasoning }, user('The sky?')],
        })
        expect(wire(server).messages).toEqual([
          { role: 'user', text: 'Hello.' },
          { role: 'assistant', text: 'Hello.', toolCalls: [] },
          { role: 'user', text: 'The sky?' },
        ])
        const body = JSON.stringify(chatRequests(server)[0]?.body)
        expect(body).not.toContain('Reasoning made elsewhere.')
        expect(body).not.toContain('opaque-proof')
      })
    }

    if (adapter.multipleChoices) {
      it('multiple choices: n reaches the wire and every choice comes back, indexed, with its own finish reason, streamed or not', async () => {
        // Choices that stop for different reasons: a provider that reports one reason for all of them fails.
        const texts = ['First.', 'Second, cut off at the']
        const finishReasons: readonly ScriptedFinishReason[] = ['stop', 'length']
        const { server, model } = await start([
          { type: 'choices', texts, finishReasons },
          { type: 'choices', texts, finishReasons },
        ])
        const request: ChatRequest = { n: 2, messages: [user('Two answers, please.')] }
        const generated = await model.doGenerate(request)
        expect(wire(server).n).toBe(2)
        const indexed = (result: ChatResult) =>
          result.choices.map((choice) => [choice.index, choice.finishReason, choice.message.content])
        expect(indexed(generated), 'generated').toEqual([
          [0, 'stop', 'First.'],
          [1, 'length', 'Second, cut off at the'],
        ])
        const { parts, result: streamed } = await collect(model.doStream(request))
        expect(wire(server, 1)).toMatchObject({ n: 2, stream: true })
        expect(indexed(streamed), 'streamed').toEqual(indexed(generated))
        // Each choice's deltas, by their choiceIndex, assemble to that choice's text.
        const assembled = ['', '']
        for (const part of parts) if (part.type === 'text-delta') assembled[part.choiceIndex] += part.text
        expect(assembled).toEqual(texts)
      })
    } else {
      it('multiple choices: n > 1 is a typed "unsupported" ConfigurationError, and nothing is sent', async () => {
        const { server, model } = await start([{ type: 'text', text: 'one' }])
        const request: ChatRequest = { n: 2, messages: [user('Two answers, please.')] }
        const generated = await model.doGenerate(request).catch((error: unknown) => error)
        expectConfigurationError(generated, 'n')
        const streamed = await collect(model.doStream(request)).catch((error: unknown) => error)
        expectConfigurationError(streamed, 'n')
        expect(chatRequests(server)).toHaveLength(0)
        const single = await model.doGenerate({ n: 1, messages: [user('One is fine.')] })
        expect(resultText(single)).toBe('one')
      })
    }

    for (const how of callKinds) {
      it(`stop sequences and max tokens reach the wire; a single string is one stop sequence (${how.name})`, async () => {
        const { server, model } = await start([
          { type: 'text', text: 'One, two' },
          { type: 'text', text: 'One' },
        ])
        const expectAnswered = (answer: unknown) => expect(answer, String(answer)).not.toBeInstanceOf(Error)
        expectAnswered(await how.call(model, { stop: ['END', '###'], maxTokens: 77, messages: [user('Count.')] }))
        expect(wire(server)).toMatchObject({ stop: ['END', '###'], maxTokens: 77 })
        // Callers without types (and JSON inputs) pass a string, as the providers' own APIs allow.
        expectAnswered(await how.call(model, { stop: 'END' as unknown as string[], messages: [user('Count.')] }))
        expect(wire(server, 1).stop).toEqual(['END'])
      })
    }

    it('JSON-schema output with strict: the schema reaches the wire strict-mode valid, and the answer reads back, streamed or not', async () => {
      // An ordinary schema, as zod writes it: objects open, an optional property left out of `required`.
      const schema = {
        type: 'object',
        properties: { city: { type: 'string' }, population: { type: 'integer' } },
        required: ['city'],
      }
      const { server, model } = await start([
        { type: 'text', text: '{"city":"Paris","population":2102650}' },
        { type: 'text', text: '{"city":"Paris","population":null}' },
        { type: 'text', text: '{"city":"Paris","population":null}' },
      ])
      const request: ChatRequest = {
        responseFormat: { type: 'json_schema', name: 'city', schema, strict: true },
        messages: [user('The largest city of France, as JSON.')],
      }
      const result = await model.doGenerate(request)
      expect(wire(server).responseSchema).toEqual({
        type: 'object',
        properties: { city: { type: 'string' }, population: { type: ['integer', 'null'] } },
        required: ['city', 'population'],
        additionalProperties: false,
      })
      expect(JSON.parse(resultText(result))).toEqual({ city: 'Paris', population: 2102650 })
      // The null strict mode made the model write for the optional property reads back as an absent property.
      expect(JSON.parse(resultText(await model.doGenerate(request)))).toEqual({ city: 'Paris' })
      // Streamed too: the finish part's answer is the one generating gives.
      const { result: streamed } = await collect(model.doStream(request))
      expect(JSON.parse(resultText(streamed)), 'streamed').toEqual({ city: 'Paris' })
    })

    it('a streamed request reaches the wire as the same request generated does, apart from asking for a stream', async () => {
      const weather = {
        name: 'get_weather',
        description: 'Current weather of a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      }
      const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }
      const requests: ChatRequest[] = [
        {
          model: 'conformance-model-override',
          tools: [weather],
          stop: ['END'],
          maxTokens: 55,
          messages: [
            { role: 'system', content: 'You are terse. SYSTEM-MARKER-9' },
            user('Weather in Paris?'),
            {
              role: 'assistant',
              content: null,
              toolCalls: [{ id: 'call_same_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
            },
            { role: 'tool', toolCallId: 'call_same_1', content: '18 °C, clear' },
            user('And now?'),
          ],
        },
        {
          responseFormat: { type: 'json_schema', name: 'city', schema, strict: true },
          messages: [user('The largest city of France, as JSON.')],
        },
      ]
      const { server, model } = await start(
        requests.flatMap(() => [
          { type: 'text', text: '{"city":"Paris"}' },
          { type: 'text', text: '{"city":"Paris"}' },
        ]),
      )
      // Every top-level field of the body but those that ask for a stream (`stream`, `stream_options`).
      const withoutStream = (body: unknown): unknown =>
        Object.fromEntries(Object.entries(body as Record<string, unknown>).filter(([key]) => !key.startsWith('stream')))
      for (const [index, request] of requests.entries()) {
        await model.doGenerate(request)
        await collect(model.doStream(request))
        const [generated, streamed] = [wire(server, 2 * index), wire(server, 2 * index + 1)]
        expect([generated.stream, streamed.stream]).toEqual([false, true])
        expect({ ...streamed, stream: false }).toEqual(generated)
        const bodies = chatRequests(server).slice(2 * index, 2 * index + 2)
        expect(withoutStream(bodies[1]?.body)).toEqual(withoutStream(bodies[0]?.body))
      }
    })

    it('an empty answer is the empty string, streamed or not', async () => {
      const { model } = await start([
        { type: 'text', text: '' },
        { type: 'text', text: '' },
      ])
      const request: ChatRequest = { messages: [user('Say nothing.')] }
      const generated = await model.doGenerate(request)
      const { result: streamed } = await collect(model.doStream(request))
      expect(generated.choices[0]?.message).toEqual({ role: 'assistant', content: '' })
      expect(streamed.choices[0]?.message).toEqual({ role: 'assistant', content: '' })
    })

    it('tool-call round trip: the call comes back typed, and its result reaches the wire with its id', async () => {
      const weather = {
        name: 'get_weather',
        description: 'Current weather of a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      }
      const { server, model } = await start([
        {
          type: 'tool-calls',
          toolCalls: [{ id: 'call_conformance_1', name: 'get_weather', arguments: { city: 'Paris' } }],
        },
        { type: 'text', text: 'It is 18 °C in Paris.' },
      ])
      const question = user('Weather in Paris?')
      const first = await model.doGenerate({ tools: [weather], messages: [question] })
      expect(wire(server, 0).toolNames).toEqual(['get_weather'])
      const choice = first.choices[0]
      expect(choice?.finishReason).toBe('tool_calls')
      const calls = choice?.message.toolCalls ?? []
      expect(calls.map(({ id, name }) => ({ id, name }))).toEqual([{ id: 'call_conformance_1', name: 'get_weather' }])
      expect(JSON.parse(calls[0]?.arguments ?? 'null')).toEqual({ city: 'Paris' })

      const second = await model.doGenerate({
        tools: [weather],
        messages: [
          question,
          { role: 'assistant', content: choice?.message.content ?? null, toolCalls: calls },
          { role: 'tool', toolCallId: 'call_conformance_1', content: '18 °C, clear' },
        ],
      })
      expect(resultText(second)).toBe('It is 18 °C in Paris.')
      const turns = wire(server, 1).messages
      expect(turns[0]).toEqual({ role: 'user', text: 'Weather in Paris?' })
      expect(turns[1]).toMatchObject({
        role: 'assistant',
        toolCalls: [{ id: 'call_conformance_1', name: 'get_weather', arguments: { city: 'Paris' } }],
      })
      expect(turns[2]).toEqual({ role: 'tool', toolCallId: 'call_conformance_1', text: '18 °C, clear' })
      expect(turns).toHaveLength(3)
    })

    it('multi-turn tool use: parallel calls, their results in any order, a second tool turn, then the answer', async () => {
      const city = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }
      const tools = [
        { name: 'get_weather', description: 'Current weather of a city', parameters: city },
        { name: 'get_time', description: 'Local time of a city', parameters: city },
      ]
      const { server, model } = await start([
        {
          type: 'tool-calls',
          text: 'Looking both up.',
          toolCalls: [
            { id: 'call_multi_1', name: 'get_weather', arguments: { city: 'Paris' } },
            { id: 'call_multi_2', name: 'get_weather', arguments: { city: 'Rome' } },
          ],
        },
        { type: 'tool-calls', toolCalls: [{ id: 'call_multi_3', name: 'get_time', arguments: { city: 'Rome' } }] },
        { type: 'text', text: 'Rome is warmer; it is 14:00 there.' },
      ])
      const conversation: ChatMessage[] = [user('Which is warmer, Paris or Rome, and what time is it there?')]
      const first = await model.doGenerate({ tools, messages: conversation })
      const firstMessage = first.choices[0]?.message
      expect(firstMessage?.toolCalls?.map((call) => call.id)).toEqual(['call_multi_1', 'call_multi_2'])
      conversation.push(
        firstMessage as ChatMessage,
        // Results answered out of order: each is matched by its call's id, not its position.
        { role: 'tool', toolCallId: 'call_multi_2', content: '24 °C' },
        { role: 'tool', toolCallId: 'call_multi_1', content: '17 °C' },
      )
      const second = await model.doGenerate({ tools, messages: conversation })
      conversation.push(second.choices[0]?.message as ChatMessage, {
        role: 'tool',
        toolCallId: 'call_multi_3',
        content: '14:00',
      })
      const third = await model.doGenerate({ tools, messages: conversation })
      expect(resultText(third)).toBe('Rome is warmer; it is 14:00 there.')

      expect(wire(server, 1).messages).toEqual([
        { role: 'user', text: 'Which is warmer, Paris or Rome, and what time is it there?' },
        {
          role: 'assistant',
          text: 'Looking both up.',
          toolCalls: [
            { id: 'call_multi_1', name: 'get_weather', arguments: { city: 'Paris' } },
            { id: 'call_multi_2', name: 'get_weather', arguments: { city: 'Rome' } },
          ],
        },
        { role: 'tool', toolCallId: 'call_multi_2', text: '24 °C' },
        { role: 'tool', toolCallId: 'call_multi_1', text: '17 °C' },
      ])
      const last = wire(server, 2).messages
      expect(last).toHaveLength(6)
      expect(last[4]).toMatchObject({
        role: 'assistant',
        toolCalls: [{ id: 'call_multi_3', name: 'get_time', arguments: { city: 'Rome' } }],
      })
      expect(last[5]).toEqual({ role: 'tool', toolCallId: 'call_multi_3', text: '14:00' })
    })

    it('a streamed tool-call turn, sent back as the assistant message, round-trips on the wire', async () => {
      const { server, model } = await start([
        { type: 'tool-calls', toolCalls: [{ id: 'call_streamed_1', name: 'lookup', arguments: { query: 'tinyllm' } }] },
        { type: 'text', text: 'Found it.' },
      ])
      const tools = [{ name: 'lookup', parameters: { type: 'object', properties: { query: { type: 'string' } } } }]
      const question = user('Look tinyllm up.')
      const { result } = await collect(model.doStream({ tools, messages: [question] }))
      const assistant = result.choices[0]?.message as ChatMessage
      const answer = await model.doGenerate({
        tools,
        messages: [question, assistant, { role: 'tool', toolCallId: 'call_streamed_1', content: 'a library' }],
      })
      expect(resultText(answer)).toBe('Found it.')
      expect(wire(server, 1).messages.slice(1)).toEqual([
        {
          role: 'assistant',
          text: expect.any(String),
          toolCalls: [{ id: 'call_streamed_1', name: 'lookup', arguments: { query: 'tinyllm' } }],
        },
        { role: 'tool', toolCallId: 'call_streamed_1', text: 'a library' },
      ])
    })

    for (const how of callKinds) {
      it(`the provider's server refuses a tool call left without a result, as the API does (400, not retried) (${how.name})`, async () => {
        const { server, model } = await start([{ type: 'text', text: 'unreachable' }])
        const error = await how.call(model, {
          tools: [{ name: 'lookup', parameters: { type: 'object', properties: {} } }],
          messages: [
            user('Look it up.'),
            { role: 'assistant', content: null, toolCalls: [{ id: 'call_orphan_1', name: 'lookup', arguments: '{}' }] },
            user('Never mind.'),
          ],
        })
        expect(ProviderCallError.isInstance(error), String(error)).toBe(true)
        expect(error).toMatchObject({ status: 400, retryable: false })
        expect(chatRequests(server)).toHaveLength(1)
      })
    }

    it('streaming text assembles to the non-streaming result', async () => {
      const text = 'Streaming, one delta at a time, should assemble to the very same answer.'
      const { server, model } = await start([
        { type: 'text', text },
        { type: 'text', text },
      ])
      const request: ChatRequest = { messages: [user('Tell me something.')] }
      const generated = await model.doGenerate(request)
      const { parts, result } = await collect(model.doStream(request))
      expect(wire(server, 1).stream).toBe(true)
      expect(comparable(result)).toEqual(comparable(generated))
      expect(result.requestId).toBe(requestIdOf(server, 1))
      const deltas = parts.filter((part) => part.type === 'text-delta')
      expect(deltas.length).toBeGreaterThan(0)
      expect(deltas.map((part) => part.text).join('')).toBe(text)
      expect(deltas.every((part) => part.choiceIndex === 0)).toBe(true)
    })

    it('streaming tool calls assemble to the non-streaming result', async () => {
      const toolCalls = [
        { id: 'call_stream_1', name: 'lookup', arguments: { query: 'tinyllm conformance', limit: 3 } },
        { id: 'call_stream_2', name: 'lookup', arguments: { query: 'loopback', limit: 1 } },
      ]
      const { model } = await start([
        { type: 'tool-calls', toolCalls },
        { type: 'tool-calls', toolCalls },
      ])
      const request: ChatRequest = {
        tools: [{ name: 'lookup', parameters: { type: 'object', properties: { query: { type: 'string' } } } }],
        messages: [user('Look two things up.')],
      }
      const generated = await model.doGenerate(request)
      const { parts, result } = await collect(model.doStream(request))
      expect(comparable(result)).toEqual(comparable(generated))
      const assembled = new Map<number, { id?: string; name?: string; arguments: string }>()
      for (const part of parts) {
        if (part.type !== 'tool-call-delta') continue
        const call = assembled.get(part.toolCallIndex) ?? { arguments: '' }
        if (part.id !== undefined) call.id = part.id
        if (part.name !== undefined) call.name = part.name
        call.arguments += part.argumentsDelta
        assembled.set(part.toolCallIndex, call)
      }
      expect([...assembled.keys()]).toEqual([0, 1])
      expect(
        [...assembled.values()].map((call) => ({
          id: call.id,
          name: call.name,
          arguments: JSON.parse(call.arguments),
        })),
      ).toEqual(toolCalls)
    })

    it('usage: input and output tokens are reported, the same when streaming', async () => {
      const usage = { inputTokens: 21, outputTokens: 8 }
      const { model } = await start([
        { type: 'text', text: 'Counted.', usage },
        { type: 'text', text: 'Counted.', usage },
      ])
      const request: ChatRequest = { messages: [user('Count my tokens.')] }
      const expected = { inputTokens: 21, outputTokens: 8, totalTokens: 29 }
      expect((await model.doGenerate(request)).usage).toEqual(expected)
      expect((await collect(model.doStream(request))).result.usage).toEqual(expected)
    })

    it('usage: input and output tokens are reported on a tool-call turn too, the same when streaming', async () => {
      const usage = { inputTokens: 34, outputTokens: 12 }
      const turn: ScriptedTurn = {
        type: 'tool-calls',
        toolCalls: [{ id: 'call_usage_1', name: 'lookup', arguments: { query: 'tokens' } }],
        usage,
      }
      const { model } = await start([turn, turn])
      const request: ChatRequest = {
        tools: [{ name: 'lookup', parameters: { type: 'object', properties: { query: { type: 'string' } } } }],
        messages: [user('Look up how many tokens this takes.')],
      }
      const expected = { inputTokens: 34, outputTokens: 12, totalTokens: 46 }
      const generated = await model.doGenerate(request)
      expect(generated.choices[0]?.finishReason).toBe('tool_calls')
      expect(generated.usage, 'generated').toEqual(expected)
      const { result: streamed } = await collect(model.doStream(request))
      expect(streamed.choices[0]?.finishReason).toBe('tool_calls')
      expect(streamed.usage, 'streamed').toEqual(expected)
    })

    it('finish reasons: length and content_filter are reported as the server gave them, streamed or not', async () => {
      const reasons: readonly ScriptedFinishReason[] = ['length', 'content_filter']
      const { model } = await start(
        [...reasons, ...reasons].map((finishReason) => ({ type: 'text', text: 'Cut off at the li', finishReason })),
      )
      const request: ChatRequest = { messages: [user('Write a long essay.')] }
      for (const reason of reasons) {
        const generated = await model.doGenerate(request)
        expect(generated.choices[0]?.finishReason, `generated, ${reason}`).toBe(reason)
      }
      for (const reason of reasons) {
        const { result } = await collect(model.doStream(request))
        expect(result.choices[0]?.finishReason, `streamed, ${reason}`).toBe(reason)
        expect(resultText(result)).toBe('Cut off at the li')
      }
    })

    for (const how of callKinds) {
      it(`401 → ProviderCallError, not retryable, with status, request id and cause; sent once (${how.name})`, async () => {
        const { server, model } = await start([{ type: 'error', status: 401, message: 'invalid api key' }])
        const error = await how.call(model, { messages: [user('Hi')] })
        expect(ProviderCallError.isInstance(error), String(error)).toBe(true)
        expect(RateLimitError.isInstance(error)).toBe(false)
        const failure = error as ProviderCallError
        expect(failure).toMatchObject({ status: 401, retryable: false, provider: adapter.name })
        expect(failure.requestId).toBe(requestIdOf(server, 0))
        expect(failure.cause).toBeDefined()
        expect(chatRequests(server)).toHaveLength(1)
      })

      it(`an error never shows the key the model sent: not in its message, stack, JSON or printed form (${how.name})`, async () => {
        // Every failure an application logs: refused, rate-limited, failed on the server, or cut off.
        const failures: ReadonlyArray<{ readonly name: string; readonly turn: ScriptedTurn }> = [
          { name: '401', turn: { type: 'error', status: 401, message: 'invalid api key' } },
          { name: '429', turn: { type: 'error', status: 429, headers: { 'retry-after': '2' }, message: 'slow down' } },
          { name: '500', turn: { type: 'error', status: 500, message: 'internal error' } },
          { name: 'reset', turn: { type: 'reset' } },
        ]
        const { server } = await start(failures.map((failure) => failure.turn))
        // The server's own log redacts credentials: a proxy in front of it sees the key as the model sent it.
        const proxy = await startStreamProxy(server.url, 'none')
        try {
          const model = adapter.createModel(proxy.redirect(server))
          for (const failure of failures) {
            const error = await how.call(model, { messages: [user('Hi')] })
            expect(ProviderCallError.isInstance(error), `${failure.name}: ${String(error)}`).toBe(true)
            const credentials = credentialsSent(proxy.requestHeaders)
            expect(credentials, 'the model sends its test key in a header').not.toEqual([])
            const shown = { message: (error as Error).message, stack: (error as Error).stack ?? '' }
            const printed = { ...shown, string: String(error), json: JSON.stringify(error), inspected: inspect(error) }
            for (const [where, text] of Object.entries(printed)) {
              for (const credential of credentials)
                expect(text, `the key in the ${failure.name} error's ${where}`).not.toContain(credential)
            }
          }
        } finally {
          await proxy.close()
        }
      })

      it(`429 → RateLimitError, retryable, with retryAfterMs from retry-after; sent once (${how.name})`, async () => {
        const { server, model } = await start([
          { type: 'error', status: 429, headers: { 'retry-after': '2' }, message: 'slow down' },
        ])
        const error = await how.call(model, { messages: [user('Hi')] })
        expect(RateLimitError.isInstance(error), String(error)).toBe(true)
        expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: 2_000, provider: adapter.name })
        expect((error as RateLimitError).requestId).toBe(requestIdOf(server, 0))
        expect(chatRequests(server)).toHaveLength(1)
      })

      it(`500 and 503 → ProviderCallError, retryable, with status; each sent once (${how.name})`, async () => {
        const { server, model } = await start([
          { type: 'error', status: 500, message: 'internal error' },
          { type: 'error', status: 503, message: 'unavailable' },
        ])
        for (const [index, status] of [500, 503].entries()) {
          const error = await how.call(model, { messages: [user('Hi')] })
          expect(ProviderCallError.isInstance(error), String(error)).toBe(true)
          expect(RateLimitError.isInstance(error)).toBe(false)
          expect(error).toMatchObject({ status, retryable: true, provider: adapter.name })
          expect((error as ProviderCallError).requestId).toBe(requestIdOf(server, index))
        }
        expect(chatRequests(server)).toHaveLength(2)
      })

      it(`connection refused → ProviderCallError, retryable, without status (${how.name})`, async () => {
        const closed = await adapter.startServer([])
        await closed.close()
        const error = await how.call(adapter.createModel(closed), { messages: [user('Hi')] })
        expectConnectionFailure(error, adapter.name)
        expect(error).toMatchObject({ status: undefined })
      })

      it(`connection reset before the response → ProviderCallError, retryable; sent once (${how.name})`, async () => {
        const { server, model } = await start([{ type: 'reset' }])
        expectConnectionFailure(await how.call(model, { messages: [user('Hi')] }), adapter.name)
        expect(chatRequests(server)).toHaveLength(1)
      })
    }

    it('a plain answer that is not JSON → ProviderCallError, retryable; sent once', async () => {
      const { server, model } = await start([{ type: 'malformed', text: 'This answer arrives garbled.' }])
      const error = await model.doGenerate({ messages: [user('Hi')] }).catch((caught: unknown) => caught)
      expectConnectionFailure(error, adapter.name)
      expect(chatRequests(server)).toHaveLength(1)
    })

    it('connection reset half-way through a plain answer → ProviderCallError, retryable; sent once', async () => {
      const { server, model } = await start([
        { type: 'cut', text: 'This answer is cut off half-way through its body.' },
      ])
      const error = await model.doGenerate({ messages: [user('Hi')] }).catch((caught: unknown) => caught)
      expectConnectionFailure(error, adapter.name)
      expect(chatRequests(server)).toHaveLength(1)
    })

    /** Streams `longAnswer` through a proxy that tampers with it; the parts before the failure, and the failure. */
    async function streamThroughProxy(tampering: StreamTampering) {
      const { server } = await start([{ type: 'text', text: longAnswer }])
      const proxy = await startStreamProxy(server.url, tampering)
      try {
        const model = adapter.createModel(proxy.redirect(server))
        const streamed = await collectUntilError(model.doStream({ messages: [user('Stream.')] }))
        expect(chatRequests(server)).toHaveLength(1)
        return streamed
      } finally {
        await proxy.close()
      }
    }

    it('a streamed event whose data is not JSON → ProviderCallError, retryable, never a finish part', async () => {
      const { parts, error } = await streamThroughProxy('garble-first-data')
      expect(parts.filter((part) => part.type === 'finish')).toEqual([])
      expectConnectionFailure(error, adapter.name)
    })

    it('a stream reset part-way fails with a retryable ProviderCallError, never a finish part; sent once', async () => {
      const { server, model } = await start([{ type: 'cut', text: longAnswer, afterEvents: 4 }])
      const { parts, error } = await collectUntilError(model.doStream({ messages: [user('Stream.')] }))
      expect(parts.filter((part) => part.type === 'finish')).toEqual([])
      expectConnectionFailure(error, adapter.name)
      expect(chatRequests(server)).toHaveLength(1)
    })

    it('a stream ended cleanly but early (a gateway closing it) fails with a retryable ProviderCallError, never a finish part', async () => {
      const { parts, error } = await streamThroughProxy('end-half-way')
      expect(parts.filter((part) => part.type === 'finish')).toEqual([])
      expectConnectionFailure(error, adapter.name)
    })

    const sdk = adapter.sdk
    if (sdk !== undefined) {
      // Copying and importing a whole SDK takes seconds, and many more on a loaded machine: a generous limit.
      it('a client from another copy of the SDK: its errors map the same way, by name and shape, not by class', {
        timeout: 240_000,
      }, async () => {
        const copy = await importAnotherCopy(sdk.packageName, sdk.installedFrom)
        try {
          const installed = (await importInstalled(sdk.packageName, sdk.installedFrom)) as Record<string, unknown>
          server = await adapter.startServer([
            { type: 'error', status: 429, headers: { 'retry-after': '2' }, message: 'slow down' },
            { type: 'error', status: 503, message: 'unavailable' },
            { type: 'error', status: 400, message: 'bad request' },
          ])
          const model = sdk.createModel(copy.module, server)
          const fail = () => model.doGenerate({ messages: [user('Hi')] }).catch((caught: unknown) => caught)
          const limited = await fail()
          const cause = (limited as { cause?: unknown }).cause as object
          const className = cause.constructor.name
          const copiedClass = (copy.module as Record<string, unknown>)[className]
          const installedClass = installed[className]
          if (typeof copiedClass === 'function') expect(cause).toBeInstanceOf(copiedClass)
          if (typeof installedClass === 'function') expect(cause).not.toBeInstanceOf(installedClass)
          expect(RateLimitError.isInstance(limited)).toBe(true)
          expect(limited).toMatchObject({ status: 429, retryable: true, retryAfterMs: 2_000, provider: adapter.name })
          expect(await fail()).toMatchObject({ status: 503, retryable: true })
          expect(await fail()).toMatchObject({ status: 400, retryable: false })
          const closed = await adapter.startServer([])
          await closed.close()
          const refused = await sdk
            .createModel(copy.module, closed)
            .doGenerate({ messages: [user('Hi')] })
            .catch((caught: unknown) => caught)
          expect(ProviderCallError.isInstance(refused)).toBe(true)
          expect(refused).toMatchObject({ retryable: true, status: undefined })
          expect((refused as Error).message).toContain('ECONNREFUSED')
        } finally {
          copy.remove()
        }
      })
    }

    it('abort during a call: rejects with AbortError, and the server sees the request closed', async () => {
      const { server, model } = await start([{ type: 'stall' }])
      const controller = new AbortController()
      const pending = model.doGenerate({ messages: [user('Take your time.')] }, { signal: controller.signal })
      const settled = pending.catch((error: unknown) => error)
      await waitFor(() => chatRequests(server).length === 1, 'the request to arrive')
      controller.abort(new Error('user cancelled'))
      expect(AbortError.isInstance(await settled)).toBe(true)
      await waitFor(() => chatRequests(server)[0]?.outcome !== 'pending', 'the server to see the request closed')
      expect(server.inFlight).toBe(0)
    })

    it('abort before the first streamed event: rejects with AbortError, and the server sees the request closed', async () => {
      const { server, model } = await start([{ type: 'stall' }])
      const controller = new AbortController()
      const settled = collect(
        model.doStream({ messages: [user('Take your time.')] }, { signal: controller.signal }),
      ).catch((error: unknown) => error)
      await waitFor(() => chatRequests(server).length === 1, 'the request to arrive')
      controller.abort(new Error('user cancelled'))
      expect(AbortError.isInstance(await settled)).toBe(true)
      await waitFor(() => chatRequests(server)[0]?.outcome !== 'pending', 'the server to see the request closed')
      expect(server.inFlight).toBe(0)
    })

    it('abort mid-stream: rejects with AbortError, and the server sees the request closed', async () => {
      const { server, model } = await start([{ type: 'stall', text: 'This answer starts, then stalls forever.' }])
      const controller = new AbortController()
      const settled = collect(
        model.doStream({ messages: [user('Stream slowly.')] }, { signal: controller.signal }),
      ).catch((error: unknown) => error)
      await waitFor(() => chatRequests(server).length === 1, 'the request to arrive')
      controller.abort()
      expect(AbortError.isInstance(await settled)).toBe(true)
      await waitFor(() => chatRequests(server)[0]?.outcome !== 'pending', 'the server to see the request closed')
      expect(server.inFlight).toBe(0)
    })

    it('an already aborted signal: rejects with AbortError and sends nothing', async () => {
      const { server, model } = await start([{ type: 'text', text: 'unused' }])
      const signal = AbortSignal.abort(new Error('too late'))
      const generated = await model.doGenerate({ messages: [user('Hi')] }, { signal }).catch((error: unknown) => error)
      expect(AbortError.isInstance(generated)).toBe(true)
      const streamed = await collect(model.doStream({ messages: [user('Hi')] }, { signal })).catch(
        (error: unknown) => error,
      )
      expect(AbortError.isInstance(streamed)).toBe(true)
      expect(chatRequests(server)).toHaveLength(0)
      // A request sent anyway, without waiting for it, would reach the server before a call made after it, and take
      // the script's only turn.
      await model.doGenerate({ messages: [user('After the aborted calls')] })
      expect(chatRequests(server)).toHaveLength(1)
      expect(wire(server, 0).messages).toEqual([{ role: 'user', text: 'After the aborted calls' }])
    })

    it('idle timeout: through LLMCall, a stream that stalls fails with TimeoutError (idle), and the request is closed', async () => {
      const { server, model } = await start([{ type: 'stall', text: 'This answer starts, then stalls forever.' }])
      // Long enough that a loaded machine still has the request on the wire before the stall is timed.
      const call = new LLMCall({ name: 'conformance', model, idleTimeoutMs: 1_000, retry: { attempts: 1 } })
      const error = await call.stream({ messages: [user('Stream.')] }).result.catch((caught: unknown) => caught)
      expect(TimeoutError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ kind: 'idle', retryable: true })
      await waitFor(() => chatRequests(server)[0]?.outcome !== 'pending', 'the server to see the request closed')
    })
  })
}

/** An answer of many words, so a stream cut after a few events is cut mid-text in any provider's format. */
const longAnswer =
  'This answer streams one word at a time, and the connection goes away long before the last of its many words arrives.'

/** The two ways of calling a model, each settling with the error it failed with (or the result it returned). */
const callKinds = [
  {
    name: 'doGenerate',
    call: (model: ChatModel, request: ChatRequest): Promise<unknown> =>
      model.doGenerate(request).catch((error: unknown) => error),
  },
  {
    name: 'doStream',
    call: (model: ChatModel, request: ChatRequest): Promise<unknown> =>
      collect(model.doStream(request)).catch((error: unknown) => error),
  },
] as const

async function collect(
  stream: AsyncIterable<ChatStreamPart>,
): Promise<{ parts: ChatStreamPart[]; result: ChatResult }> {
  const parts: ChatStreamPart[] = []
  for await (const part of stream) parts.push(part)
  const finishes = parts.filter((part) => part.type === 'finish')
  expect(finishes, 'a stream ends with exactly one finish part').toHaveLength(1)
  const last = parts.at(-1)
  if (last?.type !== 'finish') throw new Error('the finish part is not the last part of the stream')
  return { parts, result: last.result }
}

/** The parts a stream yielded before it failed, and what it failed with (`undefined` if it did not). */
async function collectUntilError(
  stream: AsyncIterable<ChatStreamPart>,
): Promise<{ parts: ChatStreamPart[]; error: unknown }> {
  const parts: ChatStreamPart[] = []
  try {
    for await (const part of stream) parts.push(part)
  } catch (error) {
    return { parts, error }
  }
  return { parts, error: undefined }
}

/** The credentials in the headers of the requests a model sent: the values of `authorization`, `x-api-key` and the like. */
function credentialsSent(requests: readonly IncomingHttpHeaders[]): string[] {
  const credentials = new Set<string>()
  for (const headers of requests) {
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || !/auth|key|token|secret|cookie/i.test(name)) continue
      for (const item of Array.isArray(value) ? value : [value]) {
        const credential = item.replace(/^(bearer|basic|token)\s+/i, '').trim()
        // A shorter value is no key, and could appear in an error by chance.
        if (credential.length >= 6) credentials.add(credential)
      }
    }
  }
  return [...credentials]
}

/** A failure of the connection or of the body: a typed, retryable `ProviderCallError`, never the transport's own. */
function expectConnectionFailure(error: unknown, provider: string): void {
  expect(ProviderCallError.isInstance(error), `expected a ProviderCallError, got ${String(error)}`).toBe(true)
  expect(RateLimitError.isInstance(error)).toBe(false)
  expect(error).toMatchObject({ retryable: true, provider })
}

/** What must be equal between a generated and a streamed result: all but the raw body and the request id. */
function comparable(result: ChatResult): Pick<ChatResult, 'choices' | 'usage' | 'model'> {
  return { choices: result.choices, usage: result.usage, model: result.model }
}

function expectConfigurationError(error: unknown, option: string): void {
  expect(TinyLLMError.isInstance(error), `expected a tinyllm error, got ${String(error)}`).toBe(true)
  expect(ConfigurationError.isInstance(error)).toBe(true)
  expect((error as ConfigurationError).option).toBe(option)
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + waitLimitMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
