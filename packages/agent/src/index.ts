export {
  Agent,
  type AgentOptions,
  type AgentOutput,
  type AnyAgentTool,
  type FinalAnswerOptions,
  resumeInput,
  type ToolErrorPolicy,
} from './agent.js'
export type { AgentEvent, ToolCallStatus } from './agent-event.js'
export type {
  AgentAwaitingApproval,
  AgentCompleted,
  AgentFinish,
  AgentInput,
  AgentOutcome,
  ApprovalDecision,
  PendingApproval,
} from './agent-outcome.js'
export type { AgentStream } from './agent-stream.js'
export type { ApprovalRecord } from './approval-step.js'
export { type AsToolOptions, asTool, type ToolTarget } from './as-tool.js'
export { defineTool, type ToolDefinition } from './define-tool.js'
export { NestedApprovalError } from './nested-approval-error.js'
export { type AgentTool, type ApprovalRule, Tool, type ToolDescription, type ToolOptions } from './tool.js'
