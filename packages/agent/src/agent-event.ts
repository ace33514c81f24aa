import type { Usage } from '@tinyllm/core'
import type { FinishReason } from '@tinyllm/llm'
import type { PendingApproval } from './agent-outcome.js'

/** How one tool call ended, as the model is told. */
export type ToolCallStatus = 'ok' | 'error' | 'denied'

/**
 * The agent's progress, as it streams it (`agent.stream(input)`, or `invoke(input, { stream })`): typed, JSON-safe
 * events a UI can render as they come.
 */
export type AgentEvent =
  | { readonly type: 'step-started'; readonly step: number }
  /** A piece of the model's text in this step. */
  | { readonly type: 'text-delta'; readonly step: number; readonly text: string }
  /** A tool call is about to run (after approval, when it needed one). */
  | {
      readonly type: 'tool-call-started'
      readonly step: number
      readonly toolCallId: string
      readonly toolName: string
      readonly arguments: unknown
    }
  /** A tool call ended: its result, or the error or denial the model is told. */
  | {
      readonly type: 'tool-call-finished'
      readonly step: number
      readonly toolCallId: string
      readonly toolName: string
      readonly status: ToolCallStatus
      readonly result?: unknown
      readonly error?: string
    }
  /** The model's turn ended (its tool calls, if any, run next). */
  | {
      readonly type: 'step-finished'
      readonly step: number
      readonly finishReason: FinishReason
      readonly toolCalls: number
      /** The tokens the model reported for this turn; `undefined` when it reported none. */
      readonly usage: Usage | undefined
      /**
       * `true` when the turn called the final-answer tool alone: the run ends with this answer unless it is refused
       * (then the model is told, and the run goes on).
       */
      readonly finalAnswer?: true
    }
  /** The run pauses: these calls wait for a person. */
  | { readonly type: 'approval-requested'; readonly approvals: ReadonlyArray<PendingApproval> }
