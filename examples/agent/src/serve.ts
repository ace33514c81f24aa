// The loan-review agent behind an HTTP server that streams its progress as server-sent events. Run it with
// `pnpm --filter @tinyllm/example-agent serve` (offline against the cassette without an API key, as `pnpm agent`), then:
//
//   curl -N 'http://127.0.0.1:3000/review?applicant=A-17'
//   curl -N -X POST http://127.0.0.1:3000/approvals/review-A-17-1 -d '{"call_email":{"approved":true}}'
import { AnthropicChat } from '@tinyllm/anthropic'
import { OpenAIChat } from '@tinyllm/openai'
import { readOptions, readPort, UsageError } from './command-line.ts'
import { connect } from './connection.ts'
import { loanReviewAgent } from './loan-review.ts'
import { createReviewServer } from './review-server.ts'

const options = readOptions()
let port: number
try {
  port = readPort()
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  console.error(error.message)
  process.exit(2)
}
const connection = await connect(options)
const model =
  options.provider === 'anthropic'
    ? new AnthropicChat({ name: 'model', model: options.model, output: 'result', ...connection.client })
    : new OpenAIChat({ name: 'model', model: options.model, temperature: 0, output: 'result', ...connection.client })
const server = createReviewServer(loanReviewAgent(model))
// A port that is taken (or not ours to open) stops here, saying so, rather than as an unhandled 'error' event.
server.once('error', (error: NodeJS.ErrnoException) => {
  const why = error.code === 'EADDRINUSE' ? 'is in use' : `cannot be opened (${error.code ?? error.message})`
  console.error(`port ${port} on 127.0.0.1 ${why}: set PORT to another port (0: any free port)`)
  process.exit(2)
})
server.listen(port, '127.0.0.1', () => {
  const bound = (server.address() as { port: number }).port
  for (const line of connection.notice) console.log(line)
  console.log(`Streaming reviews on http://127.0.0.1:${bound}/review?applicant=A-17 (server-sent events)`)
})
