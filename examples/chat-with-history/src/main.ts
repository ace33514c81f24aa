// A chat with history in the terminal: every turn sends the whole conversation so far, and the answer streams in as
// the model writes it. Run it with `pnpm --filter @tinyllm/example-chat-with-history start`; type a message and
// press Enter, an empty line or Ctrl-D ends the chat.
//
// With OPENAI_API_KEY set it talks to OpenAI (or to the server in OPENAI_BASE_URL, with the model in OPENAI_MODEL);
// without it, to a loopback OpenAI-compatible server on 127.0.0.1 whose answers show what it received.
import { createInterface } from 'node:readline'
import type { ChatMessage } from '@tinyllm/llm'
import { redactString } from '@tinyllm/logger'
import { OpenAIChat } from '@tinyllm/openai'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'

// OPENAI_MODEL is read before anything starts: a blank one stops here, saying so (empty means the default).
const model = process.env.OPENAI_MODEL || 'gpt-4o-mini'
if (model.trim() === '') {
  console.error(`OPENAI_MODEL must be a model id, got "${model}"`)
  process.exit(2)
}
const live = (process.env.OPENAI_API_KEY ?? '') !== ''
// Offline, the answer quotes the last message and counts the messages sent, so you can see the history grow.
const server = live
  ? undefined
  : await startOpenAICompatibleServer({
      replies: (request) => {
        const last = String(request.messages.at(-1)?.content ?? '')
        return `You said "${last}". I was sent ${request.messages.length} messages, this one included.`
      },
      chunkChars: 6, // stream a few characters per event, slowly enough to watch
      streamEventDelayMs: 15,
    })

const chat = new OpenAIChat({
  name: 'chat',
  model,
  ...(server ? { baseURL: server.baseURL, apiKey: 'offline' } : {}),
})
const history: ChatMessage[] = [{ role: 'system', content: 'You are a helpful assistant. Answer in a few sentences.' }]

// The base URL is printed as the logger would write it: a password or an `?api-key=` value in it is replaced.
const upstream = process.env.OPENAI_BASE_URL ? redactString(process.env.OPENAI_BASE_URL) : 'OpenAI'
console.log(live ? `Chatting with ${upstream}.` : 'Offline: a loopback server answers.')
const terminal = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY })
let inputOpen = true
terminal.once('close', () => {
  inputOpen = false
})
terminal.setPrompt('you> ')
terminal.prompt()
let failedTurns = 0
try {
  // Lines typed (or piped in) while an answer streams wait their turn.
  for await (const line of terminal) {
    if (line.trim() === '') break
    try {
      await reply(line)
    } catch (error) {
      // A failed call (a wrong key, a server out of reach) ends its turn, not the chat: one line says why, and the
      // unanswered message leaves the history, so the next turn sends the conversation as it was.
      history.pop()
      failedTurns++
      process.stdout.write('\n')
      console.error(`The call failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`)
    }
    if (inputOpen) terminal.prompt()
  }
} finally {
  terminal.close()
  await server?.close()
}
const turns = (history.length - 1) / 2
console.log(`\nBye: ${turns} turn${turns === 1 ? '' : 's'}.`)
process.exitCode = failedTurns === 0 ? 0 : 1

/** One turn: the line joins the history, the answer streams in, and joins it once it is complete. */
async function reply(line: string): Promise<void> {
  history.push({ role: 'user', content: line })
  process.stdout.write('assistant> ')
  const stream = chat.stream({ messages: history })
  let answer = ''
  for await (const delta of stream) {
    if (delta.type !== 'text-delta') continue
    answer += delta.text
    process.stdout.write(delta.text)
  }
  await stream.result
  process.stdout.write('\n')
  history.push({ role: 'assistant', content: answer })
}
