// Entry of the loopback server's own process: the server's CPU and memory never count against the client measured.
import { gzipSync } from 'node:zlib'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import type { ServerReply, ServerRequest } from './loopback-server-protocol.ts'

const latencyMs = Number(process.argv[2] ?? '0')
const encoding = process.argv[3] === 'gzip' ? 'gzip' : 'identity'
const server = await startOpenAICompatibleServer({ latency: latencyMs })
let answered = 0

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
