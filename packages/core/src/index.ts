export { CancelScope, type CancelScopeOptions, isPromiseLike, sleep } from './cancellation.js'
export { defineFunction, type FunctionDefinition } from './define-function.js'
export {
  AbortError,
  abortErrorFor,
  BudgetExceededError,
  brandError,
  ConfigurationError,
  type ErrorLocation,
  FunctionError,
  InvalidTransitionError,
  NonDeterminismError,
  StepLimitError,
  safeStringify,
  TimeoutError,
  TinyLLMError,
  type TinyLLMErrorOptions,
  ValidationError,
  type ValidationIssue,
} from './errors.js'
export {
  type FunctionLike,
  type LifecycleEvent,
  type LifecycleListener,
  type LifecycleSubscription,
  onLifecycleEvent,
  type RunWrapper,
  setRunWrapper,
} from './events.js'
export {
  FSM,
  type StateChange,
  type StateMachineConfig,
  StateMachineDefinition,
  type StateMachineDescription,
  type TransitionTable,
} from './fsm.js'
export { Function, type FunctionOptions, functionOptionKeys } from './function.js'
export type * from './function-node.js'
export {
  assertJsonSafe,
  type JournalEntry,
  keptJournalEntry,
  MemoryJournal,
  type StepJournal,
} from './journal.js'
export { functionLifecycle, type LifecycleState } from './lifecycle.js'
export {
  checkKnownOptions,
  checkNumber,
  checkOneOf,
  checkTimeout,
  knownSpelling,
  type NumberRule,
  optionError,
  unreadableOption,
} from './options.js'
export {
  type AttemptFacts,
  decideRetry,
  type ResolvedRetryPolicy,
  type RetryDecision,
  type RetryPolicy,
  resolveRetryPolicy,
} from './retry-policy.js'
export { checkRootOptions } from './run.js'
export type * from './run-context.js'
export { partNotHandedOut } from './run-context.js'
export type * from './run-record.js'
export { type FormatRunTreeOptions, formatRunTree } from './run-tree.js'
export type { StandardSchemaV1 } from './standard-schema.js'
export type { Budget, Usage, UsageTotals } from './usage.js'
export { type InferSchemaInput, type InferSchemaOutput, type ValidationSite, Validator } from './validator.js'
