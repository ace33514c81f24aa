// The loan-review agent behind an HTTP server that streams its progress as server-sent events. Run it with
// `pnpm --filter @tinyllm/example-agent serve` (offline against the cassette without an API key, as `pnpm agent`), then:
//
//   curl -N 'http://127.0.0.1:3000/review?applicant=A-17'
//   curl -N -X POST http://127.0.0.1:3000/approvals/review-A-17-1 -d '{"call_email":{"approved":true}}'
import { AnthropicChat } from '@tinyllm/anthropic'
import { OpenAIChat } from '@tinyllm/openai'
import { readCommandLine } from './command-line.ts'
import { connect } from './connection.ts'
import { loanReviewAgent } from './loan-review.ts'
import { createReviewServer } from './review-server.ts'

const options = readCommandLine(process.argv.slice(2))
if (options === undefined) process.exit(0)
const connection = await connect(options)
const model =
  options.provider === 'anthropic'
    ? new AnthropicChat({ name: 'model', model: options.model, output: 'result', ...connection.client })
    : new OpenAIChat({ name: 'model', model: options.model, temperature: 0, output: 'result', ...connection.client })
const port = Number(process.env.PORT ?? 3000)
createReviewServer(loanReviewAgent(model)).listen(port, '127.0.0.1', () => {
  for (const line of connection.notice) console.log(line)
  console.log(`Streaming reviews on http://127.0.0.1:${port}/review?applicant=A-17 (server-sent events)`)
})
