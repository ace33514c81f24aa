import type { ChatMessage } from '@tinyllm/llm'

/** A person's answer to a tool call that awaits approval. */
export type ApprovalDecision =
  | {
      readonly approved: true
      /** Arguments to run the tool with instead of the model's (checked by the tool's schema like the model's). */
      readonly arguments?: Readonly<Record<string, unknown>>
    }
  | {
      readonly approved: false
      /** Told to the model with the denial. */
      readonly reason?: string
    }

/** A tool call the agent paused for: what a person needs to see to approve or deny it. */
export interface PendingApproval {
  readonly toolCallId: string
  readonly toolName: string
  /** The model's arguments, parsed. */
  readonly arguments: unknown
  /** The model turn that made the call, from 1. */
  readonly step: number
}

/** What an agent takes: a conversation (or a user message as a string). */
export interface AgentInput {
  readonly messages: ReadonlyArray<ChatMessage>
  /**
   * Decisions on tool calls awaiting approval, by tool call id. A conversation that ends with tool calls not yet
   * answered (a paused run's `messages`) has them run first; pass the same decisions on every re-run of a run id.
   */
  readonly approvals?: Readonly<Record<string, ApprovalDecision>>
  /** Model turns the run being continued took already (a paused run's `steps`); they count against `maxSteps`. */
  readonly stepsTaken?: number
}

/** How a completed agent run ended: the model answered without tools, or called the final-answer tool. */
export type AgentFinish = 'answer' | 'final-answer'

/** The agent finished: its answer, and the whole conversation. */
export interface AgentCompleted<Output> {
  readonly status: 'complete'
  /** The model's last text, or the final-answer tool's arguments validated by its schema. */
  readonly output: Output
  readonly finishedBy: AgentFinish
  /**
   * The conversation, from the input's messages to the model's answer (the agent's instructions left out). Each tool
   * call in it has its result, the final answer's too: add a user message to carry it on.
   */
  readonly messages: ReadonlyArray<ChatMessage>
  /** Model turns taken, those of a continued run included. */
  readonly steps: number
}

/**
 * The agent stopped before tool calls that need a person's approval: the calls that did not need one have run, and
 * their results are in `messages`. Continue with `agent.resume(outcome, decisions)` (the same process or another one:
 * the outcome is JSON-safe), or — with a journal — by invoking the agent again with the same input and run id, plus
 * `approvals`.
 */
export interface AgentAwaitingApproval {
  readonly status: 'awaiting-approval'
  readonly approvals: ReadonlyArray<PendingApproval>
  /** The conversation so far: it ends with the model's tool calls and the results of those that ran. */
  readonly messages: ReadonlyArray<ChatMessage>
  /** Model turns taken so far. */
  readonly steps: number
}

/** What an agent run resolves with: completed, or paused for approval. */
export type AgentOutcome<Output = string> = AgentCompleted<Output> | AgentAwaitingApproval
