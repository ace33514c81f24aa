// Entry of the loopback server's own process: the server's CPU and memory never count against the client measured.
import { gzipSync } from 'node:zlib'
import { type ReplyFunction, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import type { ServerProcessOptions } from './loopback-server.ts'
import type { ServerReply, ServerRequest } from './loopback-server-protocol.ts'

const options = JSON.parse(process.argv[2] ?? '{"latencyMs":0}') as ServerProcessOptions
const { latencyMs, maxLatencyMs = latencyMs, agentSteps, encoding = 'identity' } = options
const server = await startOpenAICompatibleServer({
  latency: maxLatencyMs > latencyMs ? { minMs: latencyMs, maxMs: maxLatencyMs } : latencyMs,
  ...(agentSteps === undefined ? {} : { replies: agentTurn(agentSteps) }),
})
let answered = 0

/**
 * The scripted model of the agent-loop scenario: while the conversation has fewer than `steps - 1` tool results, a
 * call of the `step` tool with the next number; then the answer `done after <n> tool calls`.
 */
function agentTurn(steps: number): ReplyFunction {
  return (request) => {
    let results = 0
    for (const message of request.messages) if (message.role === 'tool') results += 1
    if (results >= steps - 1) return `done after ${results} tool calls`
    return { toolCalls: [{ id: `call_${results}`, name: 'step', arguments: { n: results } }] }
  }
}

if (encoding === 'gzip') {
  // Like the real API: a chat completion compressed for a client that accepts gzip (fetch asks for it by default).
  server.setHandler('POST /v1/chat/completions', ({ request, requestId }) => {
    const body = request.body as { model: string; messages: { role: string; content: string }[] }
    const content = body.messages.findLast((message) => message.role === 'user')?.content ?? ''
    const completion = JSON.stringify({
      id: `chatcmpl-${++answered}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        { index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: 8, completion_tokens: 2, total_tokens: 10 },
      system_fingerprint: 'fp_loopback',
    })
    const accepts = /\bgzip\b/.test(request.headers['accept-encoding'] ?? '')
    return accepts
      ? {
          raw: gzipSync(completion),
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-request-id': requestId },
        }
      : { raw: completion, headers: { 'content-type': 'application/json', 'x-request-id': requestId } }
  })
}

function reply(message: ServerReply): void {
  process.send?.(message)
}

process.on('message', async (received) => {
  const request = received as ServerRequest
  switch (request.type) {
    case 'stats':
      reply({ id: request.id, type: 'stats', inFlight: server.inFlight, received: server.requests.length })
      return
    case 'stall':
      // Every chat call from now on waits before its headers until the server closes: runs held open.
      server.injectFaults(() => ({ kind: 'stall-headers' }))
      reply({ id: request.id, type: 'done' })
      return
    case 'close':
      await server.close()
      reply({ id: request.id, type: 'done' })
      process.exit(0)
  }
})
// The parent is gone (crashed or killed): do not outlive it.
process.on('disconnect', () => process.exit(0))
reply({ id: 0, type: 'ready', baseURL: server.baseURL })
