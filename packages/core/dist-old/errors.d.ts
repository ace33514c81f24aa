/** Where in a Function's lifecycle something went wrong. */
export interface ErrorLocation {
  /** Name of the Function whose run failed. */
  readonly functionName?: string | undefined
  /** Lifecycle state the run was in. */
  readonly state?: string | undefined
}
/** Options shared by every tinyllm error. */
export interface TinyLLMErrorOptions extends ErrorLocation {
  readonly message: string
  readonly cause?: unknown
  /** Whether retrying the same operation may succeed. */
  readonly retryable?: boolean | undefined
  /** A server's hint (e.g. `retry-after`) of how long to wait before retrying, in milliseconds. */
  readonly retryAfterMs?: number | undefined
}
/**
 * The base of every error tinyllm throws. Recognise one with `TinyLLMError.isInstance(error)` — it works across
 * duplicated copies of the package, where `instanceof` does not.
 */
export declare class TinyLLMError extends Error {
  readonly name: string
  readonly functionName: string | undefined
  readonly state: string | undefined
  readonly retryable: boolean
  readonly retryAfterMs: number | undefined
  constructor(options: TinyLLMErrorOptions)
  /**
   * True for a tinyllm error, from any copy of the package (where `instanceof` fails); each subclass has its own:
   * `TimeoutError.isInstance(error)`. It needs no `this`, so `errors.filter(TimeoutError.isInstance)` works.
   */
  static isInstance: (error: unknown) => error is TinyLLMError
  /**
   * A JSON-safe view, for logs, run records and transport between processes: what JSON cannot hold (a BigInt, a
   * circular value a Decision received) is made safe, secrets are replaced, as in a log line, and a string the error
   * quotes (its cause, an abort reason, a value received) is cut at 1,000 characters. A tinyllm error that caused it
   * is shown as its own JSON, eight causes deep; deeper ones (a cycle of causes) by name and message.
   */
  toJSON(): Record<string, unknown>
  /**
   * The typed error a `toJSON()` view describes, as another process received it: the same class (any branded class
   * whose package is loaded, else TinyLLMError), message, `retryable` and fields. Only own data keys the class does not
   * define itself are copied, onto a fresh error: JSON can neither reach a prototype through it (`__proto__`,
   * `constructor`) nor replace a method (`toJSON`, `toString`).
   *
   * @example
   * const error = TinyLLMError.fromJSON(JSON.parse(JSON.stringify(timeout)))
   * TimeoutError.isInstance(error) // true; error.kind, error.timeoutMs and error.retryable as they were
   */
  static fromJSON(json: unknown): TinyLLMError
}
/**
 * Gives an error class its own `isInstance`, recognised across duplicated copies of its package through a `Symbol.for`
 * marker (where `instanceof` fails), and lets {@link TinyLLMError.fromJSON} rehydrate it. Every tinyllm error class is
 * branded; an error class of another package calls it once after the class, with the class's `name`.
 *
 * @example
 * class TemplateError extends TinyLLMError {
 *   override readonly name = 'TemplateError'
 *   declare static isInstance: (error: unknown) => error is TemplateError
 * }
 * brandError(TemplateError, 'TemplateError')
 */
export declare function brandError(
  target: {
    readonly prototype: TinyLLMError
  },
  name: string,
): void
/** One problem a schema found, with where it is. */
export interface ValidationIssue {
  /** Path to the offending value, e.g. `['applicant', 'income']`; empty for the value itself. */
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}
/** Formats a path as `applicant.incomes[0]`, or `(root)` when empty. */
export declare function formatIssuePath(path: ReadonlyArray<PropertyKey>): string
/**
 * `<path>: <message>` for each of the first `max` issues (a long path or message cut short), and a last line saying how
 * many more there are: what messages and run trees show of a validation that found many issues.
 */
export declare function describeIssues(issues: ReadonlyArray<ValidationIssue>, max: number): string[]
/** Input, output or processed output did not match its schema. Lists each issue with its path. */
export declare class ValidationError extends TinyLLMError {
  readonly name = 'ValidationError'
  static isInstance: (error: unknown) => error is ValidationError
  readonly issues: ReadonlyArray<ValidationIssue>
  constructor(options: {
    functionName: string
    state: string
    issues: ReadonlyArray<ValidationIssue>
    cause?: unknown
  })
  /** As every error's JSON, with the path and message of each issue it lists cut at 1,000 characters. */
  toJSON(): Record<string, unknown>
}
/** A state machine was asked to move along a transition its table does not allow. */
export declare class InvalidTransitionError extends TinyLLMError {
  readonly name = 'InvalidTransitionError'
  static isInstance: (error: unknown) => error is InvalidTransitionError
  readonly machine: string
  readonly from: string
  readonly to: string
  constructor(options: {
    machine: string
    from: string
    to: string
    allowed: ReadonlyArray<string>
  })
}
/** A run, an attempt or a stream exceeded its time limit. */
export declare class TimeoutError extends TinyLLMError {
  readonly name = 'TimeoutError'
  static isInstance: (error: unknown) => error is TimeoutError
  readonly timeoutMs: number
  readonly kind: 'total' | 'attempt' | 'idle'
  /** `detail` says what happened, when it is more than "timed out after N ms". */
  constructor(
    options: ErrorLocation & {
      timeoutMs: number
      kind: 'total' | 'attempt' | 'idle'
      detail?: string | undefined
    },
  )
}
/** The run was cancelled through its AbortSignal. `reason` is the signal's reason. */
export declare class AbortError extends TinyLLMError {
  readonly name = 'AbortError'
  static isInstance: (error: unknown) => error is AbortError
  readonly reason: unknown
  constructor(
    options: ErrorLocation & {
      reason?: unknown
    },
  )
}
/** A call was stopped before it was sent because it would exceed the run tree's token or cost budget. */
export declare class BudgetExceededError extends TinyLLMError {
  readonly name = 'BudgetExceededError'
  static isInstance: (error: unknown) => error is BudgetExceededError
  readonly limit: 'tokens' | 'cost'
  readonly budget: number
  readonly spent: number
  readonly requested: number
  constructor(
    options: ErrorLocation & {
      limit: 'tokens' | 'cost'
      budget: number
      spent: number
      requested: number
    },
  )
}
/**
 * A Function, policy or model was given an invalid option: thrown at construction, or the rejection of a call given
 * one. The message reads `<Function name>: <what is wrong with the option>`; `option` names it.
 */
export declare class ConfigurationError extends TinyLLMError {
  readonly name = 'ConfigurationError'
  static isInstance: (error: unknown) => error is ConfigurationError
  readonly option: string
  constructor(options: {
    option: string
    message: string
    functionName?: string | undefined
    cause?: unknown
  })
}
/** A construct that can loop (retries, tool loops, graphs) went past its step limit. */
export declare class StepLimitError extends TinyLLMError {
  readonly name = 'StepLimitError'
  static isInstance: (error: unknown) => error is StepLimitError
  readonly limit: number
  /** What was counted (`nested runs`, `model turns`…): which limit this is. */
  readonly what: string
  constructor(options: {
    limit: number
    functionName?: string
    state?: string
    what?: string
  })
}
/**
 * A Function's own code threw something that is not a tinyllm error. The original is kept as `cause`, and the
 * message says which Function and state it came from.
 */
export declare class FunctionError extends TinyLLMError {
  readonly name = 'FunctionError'
  static isInstance: (error: unknown) => error is FunctionError
  constructor(options: {
    functionName: string
    state: string
    cause: unknown
    retryable?: boolean
  })
}
/**
 * A durable run was replayed from its journal, and the step at some position is not the one that ran there before: the
 * graph (or a custom `run`'s order of calls) changed. Replaying would hand the wrong output to the wrong step.
 */
export declare class NonDeterminismError extends TinyLLMError {
  readonly name = 'NonDeterminismError'
  static isInstance: (error: unknown) => error is NonDeterminismError
  /** The step's idempotency key. */
  readonly key: string
  readonly expected: string
  readonly found: string
  constructor(options: {
    key: string
    expected: string
    found: string
    functionName: string
  })
}
/**
 * Renders any value for an error message without ever throwing (circular values, BigInt, symbols), in time bounded by
 * `maxLength`: a list is rendered from its first `maxLength` entries only (each takes at least a character), so a
 * sparse list as long as 2³²−1 renders at once. Secrets in its strings are replaced, as in a log line.
 */
export declare function safeStringify(value: unknown, maxLength?: number): string
/**
 * `<name>: <message>` of a thrown error, else the value as {@link safeStringify} renders it, cut at `maxLength`; never
 * throws.
 */
export declare function describeThrown(value: unknown, maxLength?: number): string
/**
 * The tinyllm error for an operation cancelled with `reason` (an abort reason, or an aborted signal): the reason itself
 * when it already is an {@link AbortError} or a {@link TimeoutError}, else an AbortError carrying it.
 */
export declare function abortErrorFor(reason: unknown, where?: ErrorLocation): AbortError | TimeoutError
/** An `AbortSignal` of any realm (or one that behaves as one); never throws. */
export declare function isAbortSignal(value: unknown): value is AbortSignal
//# sourceMappingURL=errors.d.ts.map
