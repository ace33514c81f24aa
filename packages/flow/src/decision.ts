import type { FunctionNode, FunctionOptions, RunContext } from '@tinyllm/core'
import {
  brandError,
  ConfigurationError,
  Function,
  optionError,
  safeStringify,
  TinyLLMError,
  unreadableOption,
} from '@tinyllm/core'
import { redactAndCut } from '@tinyllm/logger'
import {
  type Accepts,
  type AnyFunction,
  assertFunction,
  type FunctionOutput,
  namedFunctionEntries,
} from './any-function.js'
import { checkCombinatorOptions, combinatorOptionNames } from './combinator-options.js'

const decisionOptionNames = combinatorOptionNames(['choices', 'branches', 'decide'])

/** The most choices, and the most characters of each, a DecisionError holds and its message lists. */
const listedChoices = 20
const listedChoiceLength = 60

/**
 * A choice as a DecisionError holds and lists it: cut at {@link listedChoiceLength} characters, marked by `…`, as
 * every quoted string is cut (on a code point, never inside an emoji).
 */
function quotedChoice(choice: string): string {
  return choice.length > listedChoiceLength ? redactAndCut(choice, listedChoiceLength) : choice
}

/** The choices as a message lists them: the first {@link listedChoices}, each cut, then how many more. */
function listChoices(choices: ReadonlyArray<string>): string {
  const shown = choices.slice(0, listedChoices).map(quotedChoice)
  const more = choices.length - shown.length
  return more > 0 ? `${shown.join(', ')}, … ${more} more` : shown.join(', ')
}

/**
 * A Decision produced a value that is not one of its declared choices. It holds, and its message lists, the first
 * 20 choices, each cut to 60 characters, and how many more there are, so that a decision of 100,000 choices or of long
 * ones does not make every error it fails with, and its JSON, as long.
 */
export class DecisionError extends TinyLLMError {
  override readonly name = 'DecisionError'
  declare static isInstance: (error: unknown) => error is DecisionError
  /** The first 20 choices, in order, each cut at 60 characters (`…` marks a cut). */
  readonly choices: ReadonlyArray<string>
  /** How many choices {@link DecisionError.choices} leaves out (0 when it holds them all). */
  readonly choicesLeftOut: number
  readonly received: unknown

  constructor(options: { functionName: string; choices: ReadonlyArray<string>; received: unknown; state?: string }) {
    super({
      message: `${options.functionName}: decision ${safeStringify(options.received)} is not one of the choices [${listChoices(options.choices)}]`,
      functionName: options.functionName,
      state: options.state ?? 'running',
    })
    this.choices = options.choices.slice(0, listedChoices).map(quotedChoice)
    this.choicesLeftOut = options.choices.length - this.choices.length
    this.received = options.received
  }
}
brandError(DecisionError, 'DecisionError')

/** What a Decision without branches resolves with: the checked choice. */
export interface DecisionResult<Choice extends string = string> {
  readonly decision: Choice
}

/**
 * What a decide step returns, before it is checked: a choice, or the original Python tiny-llm's `{ decision }`. Typed as any string on
 * purpose — a model's answer is not known to be a choice until the Decision has checked it.
 */
export type DecisionAnswer = string | { readonly decision: string }

/** A branch Function for every choice. */
export type DecisionBranches<Choice extends string> = { readonly [K in Choice]: AnyFunction }

/** What a Decision resolves with: the chosen branch's output, or `{ decision }` when it has no branches. */
export type DecisionOutput<Choice extends string, Branches> = [Branches] extends [undefined]
  ? DecisionResult<Choice>
  : FunctionOutput<Branches[keyof Branches]>

/** The decide step as a plain function. */
export type DecideFunction<Input> = (input: Input, context: RunContext) => DecisionAnswer | Promise<DecisionAnswer>

/** Options of a {@link Decision}. */
export interface DecisionOptions<Input, Choice extends string, Branches> extends FunctionOptions {
  /** The allowed choices, in order. Optional when `branches` is given: its keys are the choices. */
  readonly choices?: ReadonlyArray<Choice>
  /**
   * A Function per choice. The chosen one runs on the Decision's input and its output is the Decision's output.
   * Without branches the Decision resolves with `{ decision }`.
   */
  readonly branches?: Branches & { readonly [K in Choice]: Accepts<Input> }
  /** The decide step, unless a subclass overrides `decide` (or, in the original Python tiny-llm's style, `run`). */
  readonly decide?: DecideFunction<Input>
}

/**
 * A decision point: a decide step produces a choice, the Decision checks that it is one of its `choices` (else a
 * {@link DecisionError} listing the choices and the value received), records it on the run (`choice`, shown by
 * `formatRunTree`; a retry records its own, or none) and, when it has `branches`, runs the chosen branch on its own
 * input as a child run — the branch's output is the Decision's output. Without branches it resolves with
 * `{ decision }`.
 *
 * The decide step is, whichever is given: the `decide` option, an override of `decide`, or — the original Python tiny-llm's style — an
 * override of `run` that returns `{ decision }`. Deciding, checking and routing all happen in the Decision's `running`
 * state, so a retry policy on the Decision asks again (and reruns the branch).
 *
 * @example
 * const classify = new Decision({
 *   name: 'CreditClassification',
 *   decide: async (application: Application, context) => askModel(application, context.signal),
 *   branches: { good: approve, bad: analyse },
 * })
 * await classify.invoke(application) // the output of `approve` or of `analyse`
 */
export class Decision<
  Input = unknown,
  const Choice extends string = string,
  Branches extends DecisionBranches<Choice> | undefined = undefined,
> extends Function<Input, DecisionOutput<Choice, Branches> | DecisionAnswer, DecisionOutput<Choice, Branches>> {
  override readonly kind: 'decision' = 'decision'
  /** The allowed choices, in order. */
  readonly choices: ReadonlyArray<Choice>
  /** The branch of each choice, or `undefined` when the Decision does not route. */
  readonly branches: Branches
  private readonly routes: ReadonlyMap<string, AnyFunction | undefined>
  private readonly decider: DecideFunction<Input> | undefined

  constructor(options: DecisionOptions<Input, Choice, Branches>) {
    super(options)
    const name = options.name
    // Options whose reading throws (a getter, a Proxy) are bad options too.
    try {
      checkCombinatorOptions(options, decisionOptionNames, new.target === Decision)
      const branches = options.branches as Readonly<Record<string, AnyFunction>> | undefined
      // A list is an object too, but its indexes would be taken for the choices ('0', '1', …): refused, not read so.
      if (branches !== undefined && (typeof branches !== 'object' || branches === null || Array.isArray(branches))) {
        throw optionError('branches', 'an object with a Function per choice', branches, name)
      }
      const givenChoices: unknown = options.choices
      if (givenChoices !== undefined && !Array.isArray(givenChoices)) {
        throw optionError('choices', 'a list of strings', givenChoices, name)
      }
      // Each read once, into plain values: a getter or a Proxy that throws is a ConfigurationError naming the option.
      let ownBranches: Map<string, unknown> | undefined
      let choices: Choice[]
      try {
        ownBranches = branches === undefined ? undefined : new Map(namedFunctionEntries(branches, 'branches', name))
        for (const [key, branch] of ownBranches ?? [])
          if (branch !== undefined) assertFunction(branch, `branches.${key}`, name)
      } catch (error) {
        throw unreadableOption(error, 'branches', name)
      }
      try {
        // Without choices, branches give them: their keys are the choices.
        choices = readChoices(givenChoices ?? [...(ownBranches?.keys() ?? [])], name) as Choice[]
      } catch (error) {
        throw unreadableOption(error, 'choices', name)
      }
      if (choices.length === 0) {
        throw optionError('choices', 'a non-empty list of strings (or give branches)', choices, name)
      }
      const routes = new Map<string, AnyFunction | undefined>()
      for (const choice of choices) {
        const branch = ownBranches?.get(choice) as AnyFunction | undefined
        if (ownBranches !== undefined) {
          if (branch === undefined) {
            throw new ConfigurationError({
              option: `branches.${choice}`,
              message: `branches.${choice} is missing: every choice needs a branch`,
              functionName: name,
            })
          }
        }
        routes.set(choice, branch)
      }
      if (ownBranches !== undefined) {
        for (const key of ownBranches.keys()) {
          if (!routes.has(key)) {
            throw new ConfigurationError({
              option: `branches.${key}`,
              message: `branches.${key} is not one of the choices [${listChoices(choices)}]`,
              functionName: name,
            })
          }
        }
      }
      this.choices = Object.freeze(choices)
      this.branches = (
        ownBranches === undefined ? undefined : Object.freeze(Object.fromEntries(ownBranches))
      ) as Branches
      this.routes = routes

      // Exactly one decide step. A subclass overriding `run` (the original Python tiny-llm's style) is using it as the decide step: it
      // moves there, and `run` stays the one that checks and routes.
      const ownRun = this.run
      const overridesRun = ownRun !== Decision.prototype.run
      const overridesDecide = this.decide !== Decision.prototype.decide
      // Read once: a getter cannot answer the check a function and the decide step something else.
      const decide: unknown = options.decide
      if (decide !== undefined && typeof decide !== 'function') throw optionError('decide', 'a function', decide, name)
      const given = Number(overridesRun) + Number(overridesDecide) + Number(decide !== undefined)
      if (given !== 1) {
        throw new ConfigurationError({
          option: 'decide',
          message:
            given === 0
              ? 'decide is missing: give the `decide` option, or a subclass overriding `decide` (or `run`)'
              : 'decide is given more than once: give one of the `decide` option, an override of `decide`, or an override of `run`',
          functionName: name,
        })
      }
      this.decider = overridesRun ? (ownRun as unknown as DecideFunction<Input>) : (decide as DecideFunction<Input>)
      if (overridesRun) this.run = Decision.prototype.run
    } catch (error) {
      throw unreadableOption(error, 'options', name)
    }
  }

  /** Produces the choice for `input`. Override it, or pass the `decide` option. */
  decide(input: Input, context: RunContext): DecisionAnswer | Promise<DecisionAnswer> {
    return (this.decider as DecideFunction<Input>).call(this, input, context)
  }

  /**
   * Decides, checks the choice, records it and runs the chosen branch. (A subclass may override it in the original Python tiny-llm's
   * spelling, returning `{ decision }`: the override becomes the decide step.)
   */
  override run(
    input: Input,
    context: RunContext,
  ): Promise<DecisionOutput<Choice, Branches> | DecisionAnswer> | DecisionOutput<Choice, Branches> | DecisionAnswer {
    return this.route(input, context)
  }

  private async route(input: Input, context: RunContext): Promise<DecisionOutput<Choice, Branches>> {
    // The choice on the run is the attempt that stands: a retry withdraws the one of the attempt that failed, which a
    // retry answering no choice would otherwise leave beside its error.
    if (context.attempt > 1) context.annotate('choice', undefined)
    // An attempt that ended while its decide step ignored its signal records no choice and starts no branch: the run
    // refuses both to code of an ended attempt.
    const answer = await this.decide(input, context)
    // An object without `decision` (a misspelt key, a list) is reported whole: its `decision` would read undefined.
    let choice: unknown
    try {
      choice = typeof answer === 'object' && answer !== null && 'decision' in answer ? answer.decision : answer
    } catch {
      // An answer whose `decision` cannot be read (a getter or a Proxy that throws) is not a choice either.
      choice = answer
    }
    if (typeof choice !== 'string' || !this.routes.has(choice)) {
      throw new DecisionError({ functionName: this.name, choices: this.choices, received: choice })
    }
    context.annotate('choice', choice)
    const branch = this.routes.get(choice) as Function<unknown, unknown> | undefined
    // The branch's key is the choice: a re-run that chooses the same replays it; one that chooses another does not.
    if (branch !== undefined) {
      return context.invoke(branch, input, { key: choice }) as Promise<DecisionOutput<Choice, Branches>>
    }
    // The checked choice, read once: not the decide step's own object, whose other keys (or a getter answering
    // differently on a second read) were never checked.
    return { decision: choice } as DecisionOutput<Choice, Branches>
  }

  override describe(): FunctionNode {
    const routes = this.routes
    return {
      kind: this.kind,
      name: this.name,
      layout: 'choice',
      branches: this.choices.map((choice) => ({ choice, node: routes.get(choice)?.describe() })),
    }
  }
}

/**
 * The choices, read once by index and each checked as it is read: a choice is its branch's step key, so a non-empty
 * string of well-formed Unicode, listed once. A hole or a repeat is refused where it is, so a list as long as 2³²−1
 * (sparse, or a Proxy answering one choice at every index) fails at once instead of being copied whole.
 */
function readChoices(list: ReadonlyArray<unknown>, name: string): string[] {
  const choices = new Set<string>()
  // The length read once, as a list of children's is: one that grows as it is read cannot keep the loop going.
  const length = list.length
  for (let index = 0; index < length; index++) {
    const choice = list[index]
    if (typeof choice !== 'string' || choice === '')
      throw optionError(`choices[${index}]`, 'a non-empty string', choice, name)
    // A choice is its branch's step key, at most 1,000 characters: refused here, not at every invocation.
    if (choice.length > 1_000)
      throw optionError(`choices[${index}]`, 'a string of at most 1,000 characters', choice, name)
    if (!choice.isWellFormed())
      throw optionError(`choices[${index}]`, 'well-formed Unicode, without a lone surrogate', choice, name)
    if (choices.has(choice))
      throw new ConfigurationError({
        option: 'choices',
        message: `choices lists "${choice}" twice`,
        functionName: name,
      })
    choices.add(choice)
  }
  return [...choices]
}
