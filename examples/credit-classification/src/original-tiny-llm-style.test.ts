import { AbortError, formatRunTree } from '@tinyllm/core'
import { Decision } from '@tinyllm/flow'
import { OpenAIChat, OpenAIPromptTemplate, OpenAISystemMessage, OpenAIUserMessage } from '@tinyllm/openai'
import { type OpenAICompatibleServer, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import { afterEach, describe, expect, it } from 'vitest'

// The original Python tiny-llm calls children directly inside `run` (`await openai_chat(**messages)`), with no context
// in sight. Written that way here, the chat call must still be part of the run: in the tree with its tokens and cost,
// and cancelled — its HTTP request closed at the server — when the root run is aborted.
const servers: OpenAICompatibleServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

function classifierAt(baseURL: string) {
  const openaiChat = new OpenAIChat({ name: 'openai_chat', model: 'gpt-4o-mini', baseURL, apiKey: 'test-key' })
  const template = new OpenAIPromptTemplate({
    name: 'Loan Classifier Template',
    sections: [
      new OpenAISystemMessage({ name: 'Role', content: 'Classify the loan application as good or bad.' }),
      new OpenAIUserMessage({ name: 'Application' }),
    ],
  })
  class CreditClassifier extends Decision<{ loan_application: string }, 'good' | 'bad'> {
    override async run(input: { loan_application: string }) {
      const messages = await template.invoke({ message: input.loan_application })
      const answer = await openaiChat.invoke(messages)
      return { decision: answer.trim().toLowerCase() }
    }
  }
  return new CreditClassifier({ name: 'CreditClassification', choices: ['good', 'bad'] })
}

describe('the original Python tiny-llm’s style: children called directly inside run', () => {
  it('puts the chat call in the run tree, with its tokens and cost', async () => {
    const server = await startOpenAICompatibleServer({ replies: ['bad'] })
    servers.push(server)
    const record = await classifierAt(server.baseURL).trace({ loan_application: 'Three missed payments.' })
    expect(record.status).toBe('complete')
    expect(record.output).toEqual({ decision: 'bad' })
    const tree = formatRunTree(record)
    expect(tree).toMatch(/^├─ ✔ Loan Classifier Template \(prompt-template\)/m)
    expect(tree).toMatch(/^└─ ✔ openai_chat \(openai-chat\) .* tokens=\d+ cost=\$\d+\.\d{6}$/m)
    expect(record.usage?.calls).toBe(1)
    expect(record.usage?.costUsd).toBeGreaterThan(0)
  })

  it("closes the chat call's request at the server when the root run is aborted", async () => {
    const server = await startOpenAICompatibleServer({ replies: ['bad'], latency: 600_000 })
    servers.push(server)
    const controller = new AbortController()
    const pending = classifierAt(server.baseURL).invoke(
      { loan_application: 'Three missed payments.' },
      { signal: controller.signal },
    )
    await eventually(() => server.requests.length === 1)
    controller.abort('user cancelled')
    const error = await pending.catch((thrown: unknown) => thrown)
    expect(AbortError.isInstance(error)).toBe(true)
    await eventually(() => server.requests[0]?.outcome !== 'pending')
    expect(server.requests.map((request) => request.outcome)).toEqual(['client-closed'])
  })
})

/** Waits for a condition the server reaches on its own schedule; a generous bound, not a timing assertion. */
async function eventually(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > until) throw new Error('the condition was not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
