import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { expect, it } from 'vitest'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))

/** Runs the chat, offline unless `live` sets a key and a base URL, typing `lines` into it; answers what it printed. */
function chat(lines: string[], live: Record<string, string> = {}): Promise<string> {
  const env = { ...process.env }
  delete env.OPENAI_API_KEY
  delete env.OPENAI_BASE_URL
  Object.assign(env, live)
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [main], { env, encoding: 'utf8' }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    )
    child.stdin?.end(lines.map((line) => `${line}\n`).join(''))
  })
}

it('sends the whole conversation each turn and prints the streamed answers', async () => {
  const output = await chat(['Hi, I am Ada.', 'What is my name?', ''])
  expect(output).toContain('Offline: a loopback server answers.')
  // system + user; then system + user + assistant + user: the history went along.
  expect(output).toContain('assistant> You said "Hi, I am Ada.". I was sent 2 messages, this one included.')
  expect(output).toContain('assistant> You said "What is my name?". I was sent 4 messages, this one included.')
  expect(output).toContain('Bye: 2 turns.')
})

it('ends at the end of the input', async () => {
  expect(await chat(['One question'])).toContain('Bye: 1 turn.')
})

it('prints the base URL it chats with without the api-key query value it carries', async () => {
  const server = await startOpenAICompatibleServer({ replies: () => 'Hello.' })
  try {
    const output = await chat(['Hi'], {
      OPENAI_API_KEY: 'sk-test-chat',
      OPENAI_BASE_URL: `${server.baseURL}?api-key=QueryValue7f3e9a`,
    })
    expect(output).toContain(`Chatting with ${server.baseURL}?api-key=[REDACTED].`)
    expect(output).not.toContain('QueryValue7f3e9a')
    expect(output).toContain('Bye: 1 turn.')
  } finally {
    await server.close()
  }
})

it('refuses a blank OPENAI_MODEL with a line saying so and exit status 2, not a stack', async () => {
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const refused = execFile(
      process.execPath,
      [main],
      { env: { ...process.env, OPENAI_MODEL: ' ' } },
      (_error, _out, err) => resolve({ code: refused.exitCode, stderr: err }),
    )
    refused.stdin?.end('Hi\n')
  })
  expect(code).toBe(2)
  expect(stderr).toBe('OPENAI_MODEL must be a model id, got " "\n')
})

it('says why a turn failed, in one line and no stack, keeps the chat going and ends with exit status 1', async () => {
  // Every call refused as a wrong key would be: the first turn fails, the next is answered.
  const server = await startOpenAICompatibleServer({
    faults: [{ kind: 'status', status: 401 }],
    replies: (request) => `I was sent ${request.messages.length} messages.`,
  })
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const env = { ...process.env, OPENAI_API_KEY: 'sk-test-chat', OPENAI_BASE_URL: server.baseURL }
        const child = execFile(process.execPath, [main], { env, encoding: 'utf8' }, (_error, out, err) =>
          resolve({ code: child.exitCode, stdout: out, stderr: err }),
        )
        child.stdin?.end('Hi\nAgain\n')
      },
    )
    expect(stderr).toMatch(/^The call failed: ProviderCallError: openai: 401 .*\n$/)
    expect(stderr).not.toContain('    at ')
    // The failed turn is not kept: the next one is sent the system message and its own (2), not 3.
    expect(stdout).toContain('assistant> I was sent 2 messages.')
    expect(stdout).toContain('Bye: 1 turn.')
    expect(code).toBe(1)
  } finally {
    await server.close()
  }
})
