/**
 * The Standard Schema v1 interface (https://standardschema.dev), which zod 4, valibot, arktype and others implement.
 * Declared here as types only, as the specification recommends, so core needs no runtime dependency for it.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaV1.Props<Input, Output>
}
/** The types a Standard Schema v1 object is made of: its properties, its results and their issues. */
export declare namespace StandardSchemaV1 {
  /** What a schema keeps under `~standard`: the specification version, the library's name and `validate`. */
  interface Props<Input = unknown, Output = Input> {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>
    readonly types?: Types<Input, Output> | undefined
  }
  /** What `validate` answers: the value, or the issues found. */
  type Result<Output> = SuccessResult<Output> | FailureResult
  /** A value that passed, as the schema outputs it. */
  interface SuccessResult<Output> {
    readonly value: Output
    readonly issues?: undefined
  }
  /** A value that failed, with each issue found. */
  interface FailureResult {
    readonly issues: ReadonlyArray<Issue>
  }
  /** One problem with a value: a message and where in the value it is. */
  interface Issue {
    readonly message: string
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined
  }
  /** A step of an issue's path given as an object. */
  interface PathSegment {
    readonly key: PropertyKey
  }
  /** The input and output types a schema carries, for inference only. */
  interface Types<Input = unknown, Output = Input> {
    readonly input: Input
    readonly output: Output
  }
  /** The type a schema accepts. */
  type InferInput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['input']
  /** The type a schema produces. */
  type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['output']
}
//# sourceMappingURL=standard-schema.d.ts.map
