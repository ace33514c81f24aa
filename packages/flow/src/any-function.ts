import { ConfigurationError, type FunctionNode, type InvokeOptions, optionError } from '@tinyllm/core'

/**
 * Any Function, whatever its input and output: the constraint of combinator children. It is structural and says
 * nothing about input and output on purpose — a Function written inline as a child keeps the types it would have on
 * its own instead of taking them from the combinator. The precise types are recovered with {@link FunctionInput} and
 * {@link FunctionOutput}.
 */
export interface AnyFunction {
  readonly name: string
  readonly kind: string
  invoke(input: unknown, options?: InvokeOptions): unknown
  describe(): FunctionNode
}

/** What `invoke` of `F` accepts. */
export type FunctionInput<F> = F extends { invoke(input: infer Input, options?: InvokeOptions): unknown }
  ? Input
  : never

/** What `invoke` of `F` resolves with (its processed output). */
export type FunctionOutput<F> = F extends { invoke(input: never, options?: InvokeOptions): Promise<infer Output> }
  ? Output
  : never

/**
 * Something whose `invoke` accepts `Input`, compared strictly (a property, not a method), so that a child which needs
 * more than it is given is a type error.
 */
export interface Accepts<Input> {
  readonly invoke: (input: Input, options?: InvokeOptions) => unknown
}

/** Throws a `ConfigurationError` unless `value` is a Function (anything with `invoke` and `describe`). */
export function assertFunction(value: unknown, option: string, functionName: string): void {
  const candidate = value as { invoke?: unknown; describe?: unknown } | null | undefined
  if (typeof candidate?.invoke !== 'function' || typeof candidate.describe !== 'function') {
    throw optionError(option, 'a Function', value, functionName)
  }
}

/**
 * The Functions of a list option, checked in order: anything else — a hole too — is a `ConfigurationError` naming its
 * index (`children[1] must be a Function, got undefined`).
 */
export function checkFunctionList(
  list: ReadonlyArray<unknown>,
  option: string,
  functionName: string,
  each?: (child: AnyFunction) => void,
): AnyFunction[] {
  const functions: AnyFunction[] = []
  // An index loop: `map` and `forEach` skip holes, which would reach the run as missing children. The length is read
  // once: a list (a Proxy) whose length grows each time it is read would keep the loop going without end.
  const length = list.length
  for (let index = 0; index < length; index++) {
    const child = list[index]
    assertFunction(child, `${option}[${index}]`, functionName)
    // A caller's own check of each child (a repeated name, say) fails where the child is, before the rest is read.
    each?.(child as AnyFunction)
    functions.push(child as AnyFunction)
  }
  return functions
}

/**
 * The entries of an object of Functions keyed by name — a Parallel's children, a Decision's branches — in order. What
 * `Object.entries` leaves out is refused naming the option, so its Function is never dropped without a word: a Symbol
 * key (no result key or choice), and a key the object inherits, enumerable or a getter of its class.
 */
export function namedFunctionEntries(object: object, option: string, functionName: string): Array<[string, unknown]> {
  // A Map's or a Set's entries are no keys: named as the wrong kind of object, not by a getter it inherits (`size`).
  if (object instanceof Map || object instanceof Set || typeof object === 'function')
    throw optionError(option, 'an object of Functions keyed by name', object, functionName)
  for (const key of Object.getOwnPropertySymbols(object))
    if (Object.prototype.propertyIsEnumerable.call(object, key))
      throw optionError(option, 'an object whose keys are strings', key, functionName)
  // Below the root of its prototype chain (`Object.prototype`, whose `__proto__` is no branch).
  let holder = Object.getPrototypeOf(object) as object | null
  for (let depth = 0; holder !== null && Object.getPrototypeOf(holder) !== null && depth < 100; depth++) {
    for (const key of Object.getOwnPropertyNames(holder)) {
      const property = Object.getOwnPropertyDescriptor(holder, key)
      if (property?.get !== undefined || property?.enumerable === true)
        throw new ConfigurationError({
          option: `${option}.${key}`,
          message: `${option}.${key} must be an own property of ${option}, got one it inherits`,
          functionName,
        })
    }
    holder = Object.getPrototypeOf(holder) as object | null
  }
  return Object.entries(object)
}

/** A child's graph node; a named function, so combinators' `describe` allocates no closure. */
export function describeFunction(child: AnyFunction): FunctionNode {
  return child.describe()
}
