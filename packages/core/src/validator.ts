import { ValidationError, type ValidationIssue } from './errors.js'
import type { StandardSchemaV1 } from './standard-schema.js'

/** Infers the type a schema accepts; `unknown` when there is no schema. */
export type InferSchemaInput<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferInput<S> : unknown
/** Infers the type a schema produces; `unknown` when there is no schema. */
export type InferSchemaOutput<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : unknown

/** True when `value` implements Standard Schema v1. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false
  const props = (value as { '~standard'?: { version?: unknown; validate?: unknown } })['~standard']
  return typeof props === 'object' && props !== null && props.version === 1 && typeof props.validate === 'function'
}

/**
 * Checks values against one Standard Schema (zod 4, valibot, arktype, …) on behalf of a Function and a lifecycle
 * state, so that a failure says whose value, at which step, and what is wrong where.
 *
 * @example
 * const validator = new Validator(z.object({ name: z.string() }))
 * const value = await validator.validate(input, { functionName: 'greet', state: 'input_validation' })
 */
export class Validator<S extends StandardSchemaV1 = StandardSchemaV1> {
  readonly schema: S

  constructor(schema: S) {
    if (!isStandardSchema(schema))
      throw new TypeError('Validator expects a Standard Schema v1 object (zod 4, valibot, arktype, …)')
    this.schema = schema
  }

  /** Resolves with the schema's output, or rejects with a {@link ValidationError} listing every issue. */
  async validate(
    value: unknown,
    where: { functionName: string; state: string },
  ): Promise<StandardSchemaV1.InferOutput<S>> {
    return validateWith(this.schema, value, where.functionName, where.state) as Promise<StandardSchemaV1.InferOutput<S>>
  }
}

/** Validates `value` and returns the schema's output; throws {@link ValidationError} on failure or if the schema throws. */
export async function validateWith(
  schema: StandardSchemaV1,
  value: unknown,
  functionName: string,
  state: string,
): Promise<unknown> {
  let result: StandardSchemaV1.Result<unknown>
  try {
    const pending = schema['~standard'].validate(value)
    result = pending instanceof Promise ? await pending : pending
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause)
    throw new ValidationError({
      functionName,
      state,
      issues: [{ path: [], message: `the schema itself threw: ${message}` }],
      cause,
    })
  }
  if (result.issues === undefined) return result.value
  throw new ValidationError({ functionName, state, issues: result.issues.map(toIssue) })
}

function toIssue(issue: StandardSchemaV1.Issue): ValidationIssue {
  const path =
    issue.path === undefined ? [] : issue.path.map((segment) => (typeof segment === 'object' ? segment.key : segment))
  return { path, message: issue.message }
}
