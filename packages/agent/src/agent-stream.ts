import type { ResultStream } from '@tinyllm/llm'
import type { AgentEvent } from './agent-event.js'
import type { AgentOutcome } from './agent-outcome.js'

/**
 * A streamed agent run: iterate it for {@link AgentEvent}s as they happen, await `result` for the outcome (the value
 * `invoke` would resolve with). Iterate it at most once; leaving the loop early stops the events, not the run — abort
 * the `signal` given to `stream` to stop the run. An error ends the iteration with the run's typed error, and `result`
 * rejects with it.
 *
 * @example
 * const stream = agent.stream('Review application A-17')
 * for await (const event of stream) if (event.type === 'text-delta') process.stdout.write(event.text)
 * const outcome = await stream.result
 */
export interface AgentStream<Output> extends ResultStream<AgentEvent, AgentOutcome<Output>> {}
