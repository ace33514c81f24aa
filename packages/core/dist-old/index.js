export { CancelScope, isPromiseLike, sleep } from './cancellation.js'
export { defineFunction } from './define-function.js'
export {
  AbortError,
  abortErrorFor,
  BudgetExceededError,
  brandError,
  ConfigurationError,
  FunctionError,
  InvalidTransitionError,
  NonDeterminismError,
  StepLimitError,
  safeStringify,
  TimeoutError,
  TinyLLMError,
  ValidationError,
} from './errors.js'
export { onLifecycleEvent, setRunWrapper } from './events.js'
export { FSM, StateMachineDefinition } from './fsm.js'
export { Function, functionOptionKeys } from './function.js'
export { assertJsonSafe, MemoryJournal, maxJsonBytes } from './journal.js'
export { functionLifecycle } from './lifecycle.js'
export {
  checkKnownOptions,
  checkNumber,
  checkOneOf,
  checkTimeout,
  knownSpelling,
  optionError,
  unreadableOption,
} from './options.js'
export { decideRetry, isRetryableError, resolveRetryPolicy } from './retry-policy.js'
export { formatRunTree } from './run-tree.js'
export { Validator } from './validator.js'
//# sourceMappingURL=index.js.map
