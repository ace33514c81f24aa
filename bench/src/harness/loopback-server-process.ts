// Entry of the loopback server's own process: the server's CPU and memory never count against the client measured.
import { type ReplyFunction, startOpenAICompatibleServer } from '@tinyllm/openai/testing'
import type { ServerReply, ServerRequest } from './loopback-server-protocol.ts'

const latencyMs = Number(process.argv[2] ?? '0')
const maxLatencyMs = Number(process.argv[3] ?? latencyMs)
/** With a number of agent steps, each conversation gets a tool call per step before a final answer; else an echo. */
const agentSteps = process.argv[4] === undefined || process.argv[4] === '' ? undefined : Number(process.argv[4])
const server = await startOpenAICompatibleServer({
  latency: maxLatencyMs > latencyMs ? { minMs: latencyMs, maxMs: maxLatencyMs } : latencyMs,
  ...(agentSteps === undefined ? {} : { replies: agentTurn(agentSteps) }),
})

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
