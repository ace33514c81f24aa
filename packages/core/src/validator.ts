import { isPromiseLike } from './cancellation.js'
import { describeThrown, safeStringify, ValidationError, type ValidationIssue } from './errors.js'
import { optionError, unreadableOption } from './options.js'
import type { StandardSchemaV1 } from './standard-schema.js'

/** Infers the type a schema accepts; `unknown` when there is no schema. */
export type InferSchemaInput<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferInput<S> : unknown
/** Infers the type a schema produces; `unknown` when there is no schema. */
export type InferSchemaOutput<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : unknown

/** Whose value a {@link Validator} checks, and at which step: named in every error it raises. */
export interface ValidationSite {
  readonly functionName: string
  /** The lifecycle state, e.g. `input_validation`. */
  readonly state: string
}

/**
 * Checks values against one Standard Schema (zod 4, valibot, arktype, …) on behalf of a Function and a lifecycle
 * state, so that a failure says whose value, at which step, and what is wrong where. A synchronous schema is answered
 * synchronously; an asynchronous one (any thenable) is awaited. A schema that throws, or answers with something that
 * is not a Standard Schema result, fails with a {@link ValidationError} too: a value is never let through unchecked.
 * An issue keeps the first 1,000 segments of its path.
 *
 * @example
 * const validator = new Validator(z.object({ name: z.string() }), { functionName: 'greet', state: 'input_validation' })
 * const value = await validator.validate(input) // or a ValidationError naming `greet`, the state and each path
 */
export class Validator<S extends StandardSchemaV1 = StandardSchemaV1> {
  readonly schema: S
  readonly site: ValidationSite

  constructor(schema: S, given: ValidationSite = { functionName: 'value', state: 'validation' }) {
    // The site names every error this validator raises: read once, here, so that one it cannot read (or that answers
    // otherwise later, a getter) fails now as a bad option, never later in place of the ValidationError.
    let site: ValidationSite
    try {
      site = Object.freeze({ functionName: given?.functionName, state: given?.state })
    } catch (cause) {
      throw unreadableOption(cause, 'site', 'Validator')
    }
    if (typeof site.functionName !== 'string' || typeof site.state !== 'string')
      throw optionError('site', '{ functionName, state }, both strings', given, 'Validator')
    // Named as the option it is, for whoever built this validator (an LLMCall's structured output, say).
    if (!isStandardSchema(schema))
      throw optionError('schema', 'a Standard Schema v1 object (zod 4, valibot, arktype, …)', schema, site.functionName)
    this.schema = schema
    this.site = site
  }

  /** The schema's output for `value`, or a {@link ValidationError} listing every issue; a promise only if the schema is async. */
  validate(value: unknown): StandardSchemaV1.InferOutput<S> | Promise<StandardSchemaV1.InferOutput<S>> {
    const answer = this.ask(value)
    return this.answeredLater(answer) ? this.later(answer, (result) => this.outcome(result)) : this.outcome(answer)
  }

  /**
   * As {@link validate}, the output wrapped as a Standard Schema success result (`{ value }`): for a caller that must
   * not take an output that is itself a thenable (a query builder, say) for the schema answering asynchronously.
   */
  validateResult(
    value: unknown,
  ):
    | { readonly value: StandardSchemaV1.InferOutput<S> }
    | Promise<{ readonly value: StandardSchemaV1.InferOutput<S> }> {
    const answer = this.ask(value)
    return this.answeredLater(answer)
      ? this.later(answer, (result) => ({ value: this.outcome(result) }))
      : { value: this.outcome(answer) }
  }

  /** What the schema answers for `value`; a ValidationError when it throws. */
  private ask(value: unknown): unknown {
    try {
      return this.schema['~standard'].validate(value)
    } catch (cause) {
      throw this.failure([{ path: [], message: `the schema itself threw: ${describeThrown(cause)}` }], cause)
    }
  }

  /** Whether the schema answered with a promise (any thenable); a ValidationError when that cannot be read. */
  private answeredLater(answer: unknown): answer is PromiseLike<unknown> {
    try {
      return isPromiseLike(answer)
    } catch (cause) {
      throw this.unreadable(cause)
    }
  }

  private later<T>(answer: PromiseLike<unknown>, settled: (result: unknown) => T): Promise<T> {
    return Promise.resolve(answer).then(settled, (cause: unknown) => {
      throw this.failure([{ path: [], message: `the schema itself threw: ${describeThrown(cause)}` }], cause)
    })
  }

  /** The value of a Standard Schema result; else a ValidationError, also when the answer cannot be read. */
  private outcome(result: unknown): StandardSchemaV1.InferOutput<S> {
    try {
      if (typeof result !== 'object' || result === null)
        throw this.failure([{ path: [], message: `the schema answered ${safeStringify(result, 40)}, not a result` }])
      const issues = (result as { issues?: unknown }).issues
      if (issues === undefined) {
        if ('value' in result) return (result as { value: StandardSchemaV1.InferOutput<S> }).value
        throw this.failure([{ path: [], message: 'the schema answered a result with neither a value nor issues' }])
      }
      if (!Array.isArray(issues))
        throw this.failure([
          { path: [], message: `the schema answered issues that are not a list: ${safeStringify(issues, 40)}` },
        ])
      const listed = issuesIn(issues)
      throw this.failure(
        listed.length === 0 ? [{ path: [], message: 'the schema reported an empty list of issues' }] : listed,
      )
    } catch (cause) {
      throw ValidationError.isInstance(cause) ? cause : this.unreadable(cause)
    }
  }

  private failure(issues: ValidationIssue[], cause?: unknown): ValidationError {
    return new ValidationError({ functionName: this.site.functionName, state: this.site.state, issues, cause })
  }

  private unreadable(cause: unknown): ValidationError {
    return this.failure(
      [{ path: [], message: `the schema's answer could not be read: ${describeThrown(cause)}` }],
      cause,
    )
  }
}

/** True when `value` implements Standard Schema v1. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false
  try {
    const props = (value as { '~standard'?: { version?: unknown; validate?: unknown } })['~standard']
    return typeof props === 'object' && props !== null && props.version === 1 && typeof props.validate === 'function'
  } catch {
    // A schema whose properties throw when read (a getter, a Proxy) is not one.
    return false
  }
}

/**
 * The issues a list holds, made safe to show. Its holes are no issues, and are never visited: a sparse list as long as
 * 2³²−1 costs what it holds, not its length. An issue that cannot be read (a getter that throws) is listed as such, so
 * that the others are still shown.
 */
function issuesIn(list: unknown[]): ValidationIssue[] {
  const issues: ValidationIssue[] = []
  for (const key of Object.keys(list)) {
    const index = Number(key)
    if (Number.isInteger(index) && index >= 0 && String(index) === key) issues.push(readIssue(list, index))
  }
  return issues
}

/** The issue at `index` of a list, or one saying it could not be read. */
function readIssue(list: unknown[], index: number): ValidationIssue {
  try {
    return toIssue(list[index])
  } catch (cause) {
    return { path: [], message: `the schema reported an issue that could not be read: ${describeThrown(cause)}` }
  }
}

/**
 * One issue as a schema reported it, made safe to show: a string message and a path of plain keys. An issue of a union
 * that no branch accepted says what each branch found (zod lists them under `errors`, valibot under `issues`), never a
 * bare "Invalid input".
 */
function toIssue(issue: unknown): ValidationIssue {
  const { message, path, errors, issues } = (typeof issue === 'object' && issue !== null ? issue : {}) as {
    message?: unknown
    path?: unknown
    errors?: unknown
    issues?: unknown
  }
  const text = typeof message === 'string' ? message : safeStringify(message ?? issue, 200)
  const branches = Array.isArray(errors)
    ? errors
    : Array.isArray(issues)
      ? issues.slice(0, maxBranchesShown).map((branch) => [branch])
      : []
  const found = branches
    .slice(0, maxBranchesShown)
    .map((branch) => (Array.isArray(branch) ? branch[0] : undefined)?.message)
    .filter((branchMessage): branchMessage is string => typeof branchMessage === 'string')
  return {
    path: Array.isArray(path) ? pathKeys(path) : [],
    message: found.length === 0 ? text : `${text} (${found.map((line) => line.slice(0, 200)).join('; or ')})`,
  }
}

/** The most branches of a union an issue names what they found. */
const maxBranchesShown = 5

/**
 * The most segments of a path an issue keeps: no value a Function is handed is nested that deep, and a path as long as
 * 2³²−1 (a sparse list from a schema gone wrong) is neither copied nor printed whole.
 */
const maxPathSegments = 1_000

/** A path as plain keys, read by index: its first {@link maxPathSegments} segments (a hole as `undefined`). */
function pathKeys(path: unknown[]): PropertyKey[] {
  const keys: PropertyKey[] = []
  for (let index = 0; index < path.length && index < maxPathSegments; index++) keys.push(toPathKey(path[index]))
  return keys
}

function toPathKey(segment: unknown): PropertyKey {
  let key: unknown
  try {
    key = typeof segment === 'object' && segment !== null ? (segment as { key?: unknown }).key : segment
  } catch (cause) {
    // A segment whose `key` getter throws costs its issue no more than that segment.
    return `(unreadable key: ${describeThrown(cause, 60)})`
  }
  if (typeof key === 'string' || typeof key === 'number' || typeof key === 'symbol') return key
  // An item of a set has no key (valibot says `null`); a map's key may be any value, an object without a prototype too.
  return key === null ? '(item)' : safeStringify(key, 60)
}
