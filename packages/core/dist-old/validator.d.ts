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
 *
 * @example
 * const validator = new Validator(z.object({ name: z.string() }), { functionName: 'greet', state: 'input_validation' })
 * const value = await validator.validate(input) // or a ValidationError naming `greet`, the state and each path
 */
export declare class Validator<S extends StandardSchemaV1 = StandardSchemaV1> {
  readonly schema: S
  readonly site: ValidationSite
  constructor(schema: S, site?: ValidationSite)
  /** The schema's output for `value`, or a {@link ValidationError} listing every issue; a promise only if the schema is async. */
  validate(value: unknown): StandardSchemaV1.InferOutput<S> | Promise<StandardSchemaV1.InferOutput<S>>
  /** The value of a Standard Schema result; else a ValidationError, also when the answer cannot be read. */
  private outcome
  private read
  private failure
  private unreadable
}
/** True when `value` implements Standard Schema v1. */
export declare function isStandardSchema(value: unknown): value is StandardSchemaV1
//# sourceMappingURL=validator.d.ts.map
