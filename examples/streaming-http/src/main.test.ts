import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseSseEvents } from '@tinyllm/testing'
import { afterEach, expect, it } from 'vitest'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))
let child: ChildProcess | undefined
afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
})

/** Starts the example offline on a free port and answers its /chat URL. */
async function start(): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' }
  delete env.OPENAI_API_KEY
  delete env.OPENAI_BASE_URL
  child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = /^Listening on (\S+) \(offline/.exec(line)?.[1]
    if (url) return url
  }
  throw new Error('the example exited before listening')
}

it('streams the answer as server-sent events, one per delta, then done', async () => {
  const url = await start()
  const response = await fetch(url, { method: 'POST', body: JSON.stringify({ message: 'Hello' }) })
  expect(response.headers.get('content-type')).toBe('text/event-stream')
  const events = parseSseEvents(await response.text())
  const deltas = events.filter((event) => event.event === undefined).map((event) => JSON.parse(event.data).text)
  expect(deltas.length).toBeGreaterThan(1)
  expect(deltas.join('')).toBe('A streamed answer to "Hello", word by word.')
  expect(events.at(-1)).toMatchObject({ event: 'done' })
})

it('answers 400 to a request without a message', async () => {
  const url = await start()
  expect((await fetch(url, { method: 'POST', body: '{}' })).status).toBe(400)
})
