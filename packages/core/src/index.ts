export { defineFunction, type FunctionDefinition } from './define-function.js'
export {
  AbortError,
  abortErrorFor,
  BudgetExceededError,
  ConfigurationError,
  DecisionError,
  FunctionError,
  formatIssuePath,
  InvalidTransitionError,
  isRetryableStatus,
  ProviderCallError,
  type ProviderCallErrorOptions,
  RateLimitError,
  StepLimitError,
  safeStringify,
  TimeoutError,
  TinyLLMError,
  type TinyLLMErrorOptions,
  ValidationError,
  type ValidationIssue,
} from './errors.js'
export type { LifecycleEvent, LifecycleListener } from './events.js'
export { onLifecycleEvent } from './events.js'
export {
  FSM,
  type StateChange,
  type StateMachineConfig,
  StateMachineDefinition,
  type StateMachineDescription,
  stateDiagramToMermaid,
  type TransitionTable,
} from './fsm.js'
export {
  type FunctionOptions,
  isAbortable,
  TinyFunction as Function,
  TinyFunction,
} from './function.js'
export type { FunctionNode, NodeLayout } from './function-node.js'
export type { LifecycleState } from './lifecycle.js'
export { functionLifecycle } from './lifecycle.js'
export {
  checkKnownOptions,
  checkNumber,
  checkOneOf,
  checkTimeout,
  maxTimerDelayMs,
  type NumberRule,
  optionError,
} from './options.js'
export {
  isRetryableError,
  type ResolvedRetryPolicy,
  type RetryPolicy,
  resolveRetryPolicy,
  retryDelay,
  sleep,
} from './retry-policy.js'
export type { ChildInvokeOptions, Invocable, InvokeOptions, RunContext } from './run-context.js'
export type { RunRecord, RunStateEntry } from './run-record.js'
export { type FormatRunTreeOptions, formatRunTree } from './run-tree.js'
export type { StandardSchemaV1 } from './standard-schema.js'
export { addUsageTo, assertWithinBudget, type Budget, emptyUsageTotals, type Usage, type UsageTotals } from './usage.js'
export {
  type InferSchemaInput,
  type InferSchemaOutput,
  isStandardSchema,
  Validator,
  validateWith,
} from './validator.js'
