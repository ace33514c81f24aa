import type { ResultStream } from '@tinyllm/llm'
import type { AgentEvent } from './agent-event.js'
import type { AgentOutcome } from './agent-outcome.js'

/**
 * A streamed agent run: iterate it for {@link AgentEvent}s as they happen, await `result` for the outcome (the value
 * `invoke` would resolve with). Iterate it at most once; leaving the loop before the run ended (a `break`, a `return`,
 * a throw in its body) cancels the run, as aborting the `signal` given to `stream` does, and `result` rejects with an
 * `AbortError`; leaving on the run's last event (`approval-requested`, or the `step-finished` of the turn that
 * answered) cancels nothing. An error ends the iteration with the run's typed error, and `result` rejects with it.
 *
 * @example
 * const stream = agent.stream('Review application A-17')
 * for await (const event of stream) if (event.type === 'text-delta') process.stdout.write(event.text)
 * const outcome = await stream.result
 */
export interface AgentStream<Output> extends ResultStream<AgentEvent, AgentOutcome<Output>> {}
