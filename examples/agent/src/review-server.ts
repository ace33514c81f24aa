import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AgentAwaitingApproval, AgentInput, AgentStream, ApprovalDecision } from '@tinyllm/agent'
import { resumeInput } from '@tinyllm/agent'
import type { InvokeOptions, StandardSchemaV1 } from '@tinyllm/core'

/** What the server needs of an agent: that it streams, and the schema its input is checked by. */
interface StreamingAgent {
  readonly inputSchema: StandardSchemaV1 | undefined
  stream(input: AgentInput | string, options?: InvokeOptions): AgentStream<unknown>
}

const expectedDecisions = 'expected the decisions by tool call id: {"<id>": {"approved": true}}'

/**
 * An HTTP server that streams the agent's progress as server-sent events, one per AgentEvent (`event: tool-call-started`,
 * `data: {…}`), then `event: outcome` with the outcome. A run that pauses for approval is kept here by its run id, and
 * `POST /approvals/<run id>` with the decisions (`{ "<tool call id>": { "approved": true } }`) streams its continuation.
 *
 *   GET  /review?applicant=A-17
 *   POST /approvals/<run id>
 */
export function createReviewServer(agent: StreamingAgent): Server {
  const paused = new Map<string, AgentAwaitingApproval>()
  let runs = 0
  return createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    if (request.method === 'GET' && url.pathname === '/review') {
      const applicant = url.searchParams.get('applicant') ?? 'A-17'
      const runId = `review-${applicant}-${++runs}`
      await streamRun(agent, `Review loan application ${applicant}.`, runId, paused, response)
      return
    }
    const approval = /^\/approvals\/([^/]+)$/.exec(url.pathname)
    if (request.method === 'POST' && approval !== null) {
      // A bad request is answered and leaves the paused run waiting; it never takes the server down.
      const body = await readBody(request).catch(() => undefined)
      if (body === undefined) return // the client went away while sending
      if (body === tooLarge) return reply(response, 413, { error: `an approval body is at most ${maxBodyBytes} bytes` })
      const segment = approval[1] as string
      const runId = decodeRunId(segment)
      // Looked up after the body is read, so two requests for one run cannot both resume it.
      const waiting = runId === undefined ? undefined : paused.get(runId)
      if (runId === undefined || waiting === undefined) {
        return reply(response, 404, { error: `no run ${runId ?? segment} awaits approval` })
      }
      const decisions = readJson(body)
      if (typeof decisions !== 'object' || decisions === null || Array.isArray(decisions)) {
        return reply(response, 400, { error: expectedDecisions })
      }
      // Decisions must be by the ids of the calls that wait: `{}`, or one naming no waiting call, decides nothing.
      const waitingIds = waiting.approvals.map((approval) => approval.toolCallId)
      const unknown = Object.keys(decisions).find((id) => !waitingIds.includes(id))
      if (unknown !== undefined || Object.keys(decisions).length === 0) {
        const named = unknown === undefined ? 'none' : `${JSON.stringify(unknown).slice(0, 80)}, which does not wait`
        return reply(response, 400, {
          error: `${expectedDecisions}; the calls waiting are ${waitingIds.join(', ')}, got ${named}`,
        })
      }
      // Decisions the agent would refuse (`{"call_email": "yes"}`) are refused here, by the agent's own input schema,
      // before the run stops waiting.
      const input = resumeInput(waiting, decisions as Record<string, ApprovalDecision>)
      const issues = await inputIssues(agent, input)
      if (issues !== undefined) return reply(response, 400, { error: `${expectedDecisions}; ${issues}` })
      // Another approval may have resumed it while the decisions were checked.
      if (paused.get(runId) !== waiting) return reply(response, 404, { error: `no run ${runId} awaits approval` })
      paused.delete(runId)
      await streamRun(agent, input, runId, paused, response)
      return
    }
    reply(response, 404, { error: 'GET /review?applicant=… or POST /approvals/<run id>' })
  })
}

/** Streams one run as server-sent events; a run that pauses is kept for its approval. */
async function streamRun(
  agent: StreamingAgent,
  input: AgentInput | string,
  runId: string,
  paused: Map<string, AgentAwaitingApproval>,
  response: ServerResponse,
): Promise<void> {
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  })
  // A browser that goes away stops the run: its tool calls and model turn are cancelled.
  const controller = new AbortController()
  response.on('close', () => controller.abort(new Error('the client went away')))
  const stream = agent.stream(input, { runId, signal: controller.signal })
  const send = (event: string, data: unknown) => response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  try {
    for await (const event of stream) send(event.type, event)
    const outcome = await stream.result
    if (outcome.status === 'awaiting-approval') paused.set(runId, outcome)
    send('outcome', { runId, ...outcome })
  } catch (error) {
    send('error', { name: (error as Error).name, message: (error as Error).message })
  }
  response.end()
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

/** What the agent's input schema finds wrong with `input`, one `path: message` per issue; `undefined` when it fits. */
async function inputIssues(agent: StreamingAgent, input: AgentInput): Promise<string | undefined> {
  const result = await agent.inputSchema?.['~standard'].validate(input)
  if (result?.issues === undefined) return undefined
  return result.issues
    .map((issue) => {
      const path = (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment))
      return `${path.join('.') || '(input)'}: ${issue.message}`
    })
    .join('; ')
}

/** The run id of an `/approvals/<run id>` path; `undefined` for a malformed escape. */
function decodeRunId(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/** The body as JSON; `undefined` when it is not JSON. */
function readJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** The most bytes of an approval body kept: decisions for a few calls take a few hundred. */
const maxBodyBytes = 1 << 20
const tooLarge = Symbol('too large')

/** The body as text, or `tooLarge` past {@link maxBodyBytes}; the rest of a large body is read and dropped. */
async function readBody(request: IncomingMessage): Promise<string | typeof tooLarge> {
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.length
    if (bytes <= maxBodyBytes) chunks.push(chunk)
  }
  // Decoded whole: a character whose bytes arrive in two chunks stays one character.
  return bytes > maxBodyBytes ? tooLarge : Buffer.concat(chunks).toString('utf8')
}
