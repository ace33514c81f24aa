// An HTTP endpoint that streams an LLM call's tokens to the client as server-sent events, on node:http alone.
// Run it with `pnpm --filter @tinyllm/example-streaming-http start`, then:
//   curl -N -X POST http://127.0.0.1:3000/chat -H 'content-type: application/json' -d '{"message":"Hello"}'
// Each text delta is one `data:` event; the last event is `done`. A client that hangs up cancels the
// call, and its HTTP request to the model is closed.
//
// With OPENAI_API_KEY set it calls OpenAI (or the server in OPENAI_BASE_URL); without it, a loopback server.
import { createServer } from 'node:http'
import { OpenAIChat } from '@tinyllm/openai'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'

// PORT is read before anything starts: a value that is not a port stops here, saying so.
const port = /^\d{1,5}$/.test(process.env.PORT ?? '3000') ? Number(process.env.PORT ?? 3000) : Number.NaN
if (!(port <= 65_535)) {
  console.error(`PORT must be a port number, 0 to 65535 (0: any free port), got "${process.env.PORT}"`)
  process.exit(2)
}
// OPENAI_MODEL is read before anything starts: a blank one stops here, saying so (empty means the default).
const model = process.env.OPENAI_MODEL || 'gpt-4o-mini'
if (model.trim() === '') {
  console.error(`OPENAI_MODEL must be a model id, got "${model}"`)
  process.exit(2)
}
const live = (process.env.OPENAI_API_KEY ?? '') !== ''
const upstream = live
  ? undefined
  : await startOpenAICompatibleServer({
      replies: (request) => `A streamed answer to "${String(request.messages.at(-1)?.content ?? '')}", word by word.`,
      streamEventDelayMs: 10,
    })
const chat = new OpenAIChat({
  name: 'chat',
  model,
  ...(upstream ? { baseURL: upstream.baseURL, apiKey: 'offline' } : {}),
})

/** The largest request body read: a message of up to a million bytes. */
const maxBodyBytes = 1_000_000

const server = createServer(async (request, response) => {
  if (request.method !== 'POST' || request.url !== '/chat') {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('POST /chat with {"message": "…"}\n')
    return
  }
  let message: unknown
  try {
    // A body is read up to a limit, so that no client can make the server hold more.
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of request) {
      size += (chunk as Buffer).length
      if (size > maxBodyBytes) {
        response.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('message too long\n')
        return
      }
      chunks.push(chunk as Buffer)
    }
    message = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message?: unknown }).message
  } catch {}
  if (typeof message !== 'string' || message === '') {
    response.writeHead(400, { 'content-type': 'text/plain' }).end('expected {"message": "…"}\n')
    return
  }
  // The client hanging up aborts the call: the stream ends with an AbortError and the model request is closed.
  const hangUp = new AbortController()
  response.once('close', () => hangUp.abort(new Error('the client went away')))
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  const stream = chat.stream({ messages: [{ role: 'user', content: message }] }, { signal: hangUp.signal })
  try {
    for await (const delta of stream) {
      if (delta.type === 'text-delta') response.write(`data: ${JSON.stringify({ text: delta.text })}\n\n`)
    }
    const text = await stream.result
    response.end(`event: done\ndata: ${JSON.stringify({ characters: String(text).length })}\n\n`)
  } catch (error) {
    if (!hangUp.signal.aborted) response.end(`event: error\ndata: ${JSON.stringify({ message: String(error) })}\n\n`)
  }
})

// A port that is taken (or not ours to open) stops here, saying so, rather than as an unhandled 'error' event.
server.once('error', (error: NodeJS.ErrnoException) => {
  const why = error.code === 'EADDRINUSE' ? 'is in use' : `cannot be opened (${error.code ?? error.message})`
  console.error(`port ${port} on 127.0.0.1 ${why}: set PORT to another port (0: any free port)`)
  process.exitCode = 2
  void upstream?.close()
})
server.listen(port, '127.0.0.1', () => {
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  console.log(`Listening on http://127.0.0.1:${bound}/chat (${live ? 'live' : 'offline: a loopback server answers'})`)
})
// Ctrl-C stops it at once: every connection is closed, a request still arriving or a stream in flight, and closing a
// stream's response cancels its call as a client hanging up does.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close()
    server.closeAllConnections()
    void upstream?.close()
  })
}
