import type { ChildInvokeOptions, FunctionNode, FunctionOptions, RunContext } from '@tinyllm/core'
import { Function, optionError, unreadableOption } from '@tinyllm/core'
import type { AnyFunction, FunctionInput, FunctionOutput } from './any-function.js'
import { checkFunctionList, describeFunction } from './any-function.js'
import { checkCombinatorOptions, combinatorOptionNames } from './combinator-options.js'
import { mustWaitForTurn, runTreeOf, waitForTurn } from './event-loop-turn.js'

const chainOptionNames = combinatorOptionNames(['children'])

/** The input of a chain of `Children`: what its first child accepts. */
export type ChainInput<Children extends readonly AnyFunction[]> = Children extends readonly [
  infer First,
  ...AnyFunction[],
]
  ? FunctionInput<First>
  : FunctionInput<Children[number]>

/** The output of a chain of `Children`: what its last child resolves with. */
export type ChainOutput<Children extends readonly AnyFunction[]> = Children extends readonly [
  ...AnyFunction[],
  infer Last,
]
  ? FunctionOutput<Last>
  : FunctionOutput<Children[number]>

/** Stands in for a child whose input does not accept the previous child's output, so the error says why. */
export interface ChainLinkMismatch<PreviousOutput, StepInput> {
  readonly 'this step does not accept the output of the step before it': {
    readonly previousOutput: PreviousOutput
    readonly stepInput: StepInput
  }
}

/** Stands in for an empty list of children, so the error says why. */
export interface EmptyChain {
  readonly 'a Chain needs at least one child': never
}

/**
 * `Children` where every child accepts the output of the one before it; a child that does not is replaced by a
 * {@link ChainLinkMismatch}, which makes the constructor call a type error at that child.
 */
export type LinkedChildren<
  Children extends readonly unknown[],
  Previous = never,
  Checked extends readonly unknown[] = [],
> = Children extends readonly [infer Head, ...infer Rest]
  ? LinkedChildren<
      Rest,
      FunctionOutput<Head>,
      [
        ...Checked,
        Checked extends readonly []
          ? Head
          : [Previous] extends [FunctionInput<Head>]
            ? Head
            : ChainLinkMismatch<Previous, FunctionInput<Head>>,
      ]
    >
  : Children extends readonly []
    ? Checked extends readonly []
      ? readonly [EmptyChain]
      : Readonly<Checked>
    : Children

/** Options of a {@link Chain}. */
export interface ChainOptions<Children extends readonly AnyFunction[]> extends FunctionOptions {
  /** The steps, in order: each one's output is the next one's input. At least one. */
  readonly children: readonly [...Children] & LinkedChildren<Children>
}

/**
 * Runs its children in order; each child's output is the next child's input, and the last child's output is the
 * chain's output. Types flow through: the chain accepts what its first child accepts and resolves with what its last
 * child resolves with, and a child that does not accept the previous output is a type error. A failing child fails
 * the chain with the child's own error; the run tree shows which child failed, in which state.
 *
 * @example
 * const pipeline = new Chain({ name: 'Credit analysis', children: [classify, report] })
 * const result = await pipeline.invoke(application)
 */
export class Chain<const Children extends readonly AnyFunction[] = readonly AnyFunction[]> extends Function<
  ChainInput<Children>,
  ChainOutput<Children>
> {
  override readonly kind: 'chain' = 'chain'
  /** The steps, in order. */
  readonly children: Children
  /** Each step's key in a run (its index): what identifies it in run ids and journals. */
  private readonly steps: ReadonlyArray<ChildInvokeOptions>

  constructor(options: ChainOptions<Children>) {
    super(options)
    const name = options.name
    checkCombinatorOptions(options, chainOptionNames, new.target === Chain)
    let children: AnyFunction[]
    try {
      const given: unknown = options.children
      if (!Array.isArray(given)) throw optionError('children', 'a list of Functions', given, name)
      children = checkFunctionList(given, 'children', name)
    } catch (error) {
      throw unreadableOption(error, 'children', name)
    }
    if (children.length === 0) throw optionError('children', 'a non-empty list of Functions', children, name)
    this.children = Object.freeze(children) as unknown as Children
    this.steps = Object.freeze(children.map((_, index) => Object.freeze({ key: String(index) })))
  }

  async run(input: ChainInput<Children>, context: RunContext): Promise<ChainOutput<Children>> {
    const children = this.children as unknown as ReadonlyArray<Function<unknown, unknown>>
    let value: unknown = input
    const steps = this.steps
    const tree = runTreeOf(context)
    for (let index = 0; index < children.length; index++) {
      // Steps that settle at once never let the event loop turn: past `startsPerTurn` of them (in any combinator of the
      // run tree), wait for it, so that a timer's or a socket's abort can stop the chain (the next `invoke` is refused
      // once it was aborted).
      while (mustWaitForTurn(tree)) await new Promise<void>(waitForTurn)
      value = await context.invoke(children[index]!, value, steps[index])
    }
    return value as ChainOutput<Children>
  }

  override describe(): FunctionNode {
    return { kind: this.kind, name: this.name, layout: 'sequence', children: this.children.map(describeFunction) }
  }
}
