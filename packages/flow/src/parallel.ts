import type { FunctionNode, FunctionOptions, RunContext } from '@tinyllm/core'
import {
  AbortError,
  ConfigurationError,
  checkNumber,
  checkOneOf,
  Function,
  FunctionError,
  optionError,
  StepLimitError,
  TinyLLMError,
  unreadableOption,
  ValidationError,
} from '@tinyllm/core'
import type { AnyFunction, FunctionInput, FunctionOutput } from './any-function.js'
import { assertFunction, checkFunctionList, describeFunction, namedFunctionEntries } from './any-function.js'
import { checkCombinatorOptions, combinatorOptionNames } from './combinator-options.js'
import { mustWaitForTurn, nextTurn, runTreeOf } from './event-loop-turn.js'

const parallelOptionNames = combinatorOptionNames(['children', 'map', 'concurrency', 'mode'])
const parallelModes: ReadonlyArray<ParallelMode> = ['fail-fast', 'settle-all']

/** `fail-fast`: the first failure aborts the other branches and fails the Parallel. `settle-all`: every branch settles. */
export type ParallelMode = 'fail-fast' | 'settle-all'

/** One branch's outcome in `settle-all` mode. */
export type Settled<Value> =
  | { readonly status: 'fulfilled'; readonly value: Value }
  | { readonly status: 'rejected'; readonly error: TinyLLMError }

/** The children of a Parallel: a list (results keyed by each child's name) or an object (keyed by its keys). */
export type ParallelChildren = readonly AnyFunction[] | { readonly [key: string]: AnyFunction }

/** What a Parallel's branches are: its children, or — the map form — one Function run over a list of inputs. */
export type ParallelBranches = ParallelChildren | AnyFunction

type Members<Branches> = Branches extends readonly unknown[] ? Branches[number] : Branches[keyof Branches]

/** Every input of a union of Functions, intersected: the one value that all of them accept. */
type IntersectInputs<Functions> = (
  Functions extends unknown
    ? (input: FunctionInput<Functions>) => void
    : never
) extends (input: infer Input) => void
  ? Input
  : never

type Outcome<Value, Mode extends ParallelMode> = Mode extends 'settle-all' ? Settled<Value> : Value

/** What a Parallel accepts: a list of the child's inputs in the map form, else what every child accepts. */
export type ParallelInput<Branches extends ParallelBranches> = Branches extends AnyFunction
  ? ReadonlyArray<FunctionInput<Branches>>
  : IntersectInputs<Members<Branches>>

/**
 * What a Parallel resolves with: results by index in the map form, by key for an object of children, by child name
 * for a list of children; each one a {@link Settled} in `settle-all` mode.
 */
export type ParallelOutput<
  Branches extends ParallelBranches,
  Mode extends ParallelMode = 'fail-fast',
> = Branches extends AnyFunction
  ? Array<Outcome<FunctionOutput<Branches>, Mode>>
  : Branches extends readonly AnyFunction[]
    ? { [name: string]: Outcome<FunctionOutput<Branches[number]>, Mode> }
    : { -readonly [Key in keyof Branches]: Outcome<FunctionOutput<Branches[Key]>, Mode> }

/**
 * Most branches a Parallel runs at once when its `concurrency` is `Infinity` (the default): so a map over 100,000
 * items starts 1,024 runs in one go, not 100,000, and starts the next as each one settles. The bound keeps the runs
 * held at once small enough that the cost per branch does not grow with the size of the list (at 10,000 held at once,
 * a branch of a 100,000-item map cost about 1.3× one of a 10,000-item map, from garbage collection); give
 * `concurrency` a number to hold more.
 */
export const unboundedConcurrency = 1_024

interface ParallelPolicy<Mode extends ParallelMode> extends FunctionOptions {
  /**
   * Most branches running at once: an integer ≥ 1, or `Infinity` (the default), which still runs at most
   * {@link unboundedConcurrency} (1,024) at once.
   */
  readonly concurrency?: number
  /** Default `fail-fast`. */
  readonly mode?: Mode
}

/** Options of a {@link Parallel}: `children` to run on the same input, or `map` to run one Function over a list. */
export type ParallelOptions<Branches extends ParallelBranches, Mode extends ParallelMode> = ParallelPolicy<Mode> &
  (
    | {
        /** Run on the same input; results keyed by child name (a list) or by key (an object), in declared order. */
        readonly children: Branches
        readonly map?: undefined
      }
    | {
        /** Run over each item of the input list; results by index. */
        readonly map: Branches
        readonly children?: undefined
      }
  )

/** A Parallel's graph node: a group of its children, and whether it is the map form. */
export interface ParallelNode extends FunctionNode {
  readonly kind: 'parallel'
  readonly layout: 'group'
  readonly children: ReadonlyArray<FunctionNode>
  readonly map: boolean
}

/**
 * Runs branches concurrently: its `children` on the same input, or — the map form — one Function over each item of a
 * list. At most `concurrency` branches run at once — with the default, `Infinity`, at most
 * {@link unboundedConcurrency} (1,024), so a huge map does not start every run in one synchronous burst; the rest
 * wait their turn at O(1) cost per branch, and each branch that settles starts the next. In `fail-fast` mode the first
 * failure aborts the running siblings through one shared signal (they end `failed` with an AbortError), starts no
 * more, and fails the Parallel with that first error; in `settle-all` mode every branch settles and the result holds a
 * {@link Settled} per branch. Aborting the Parallel aborts every branch. Every branch is a child run.
 *
 * @example
 * const analyse = new Parallel({ name: 'Bad credit analysis', children: { email: notify, analysis: deepDive } })
 * const { email, analysis } = await analyse.invoke(application)
 *
 * const scoreAll = new Parallel({ name: 'Score all', map: score, concurrency: 8, mode: 'settle-all' })
 * const outcomes = await scoreAll.invoke(applications) // [{ status: 'fulfilled', value }, …] by index
 */
export class Parallel<
  const Branches extends ParallelBranches = ParallelBranches,
  Mode extends ParallelMode = 'fail-fast',
> extends Function<ParallelInput<Branches>, ParallelOutput<Branches, Mode>> {
  override readonly kind: 'parallel' = 'parallel'
  /** Most branches running at once, as given (`Infinity` when unlimited). */
  readonly concurrency: number
  readonly mode: Mode
  /** The children, in declared order (one, for the map form). */
  readonly children: ReadonlyArray<AnyFunction>
  /** Result keys, in declared order; empty for the map form. */
  readonly keys: ReadonlyArray<string>
  /** Whether this is the map form. */
  readonly isMap: boolean
  /** Most branches started at once: `concurrency`, or {@link unboundedConcurrency} when that is `Infinity`. */
  private readonly limit: number

  constructor(options: ParallelOptions<Branches, Mode>) {
    super(options)
    const name = options.name
    // Options whose reading throws (a getter, a Proxy) are bad options too.
    try {
      checkCombinatorOptions(options, parallelOptionNames, new.target === Parallel)
      const concurrency =
        checkNumber(options.concurrency, 'concurrency', { integer: true, min: 1, orInfinity: true }, name) ??
        Number.POSITIVE_INFINITY
      this.concurrency = concurrency
      this.limit = concurrency === Number.POSITIVE_INFINITY ? unboundedConcurrency : concurrency
      this.mode = (checkOneOf(options.mode, 'mode', parallelModes, name) ?? 'fail-fast') as Mode
      const { children, map } = options as { children?: unknown; map?: unknown }
      if ((children === undefined) === (map === undefined)) {
        throw new ConfigurationError({
          option: 'children',
          message:
            children === undefined
              ? 'children or map is missing: give `children` (run on the same input) or `map` (run over a list)'
              : 'children and map are both given: give `children` (run on the same input) or `map` (run over a list)',
          functionName: name,
        })
      }
      if (map !== undefined) {
        assertFunction(map, 'map', name)
        this.isMap = true
        this.children = Object.freeze([map as AnyFunction])
        this.keys = Object.freeze([])
        return
      }
      this.isMap = false
      if (typeof children !== 'object' || children === null) {
        throw optionError('children', 'a list or an object of Functions', children, name)
      }
      const entries = branchEntries(children, name)
      if (entries.length === 0) {
        throw optionError('children', 'a non-empty list or object of Functions', children, name)
      }
      this.children = Object.freeze(entries.map((entry) => entry[1]))
      this.keys = Object.freeze(entries.map((entry) => entry[0]))
    } catch (error) {
      throw unreadableOption(error, 'options', name)
    }
  }

  async run(input: ParallelInput<Branches>, context: RunContext): Promise<ParallelOutput<Branches, Mode>> {
    let inputs: ReadonlyArray<unknown> | undefined
    let count = this.children.length
    if (this.isMap) {
      inputs = input as ReadonlyArray<unknown>
      count = listLength(input, this.name)
      if (count === 0) return [] as unknown as ParallelOutput<Branches, Mode>
    }
    const branches = new BranchRun(
      this.children,
      this.keys,
      this.mode === 'settle-all',
      this.limit,
      context,
      input,
      inputs,
      count,
    )
    await branches.run()
    if (branches.failure !== undefined) throw branches.failure
    if (this.isMap) return branches.results as ParallelOutput<Branches, Mode>
    return keyed(this.keys, branches.results) as ParallelOutput<Branches, Mode>
  }

  override describe(): ParallelNode {
    return {
      kind: this.kind,
      name: this.name,
      layout: 'group',
      children: this.children.map(describeFunction),
      map: this.isMap,
    }
  }
}

/**
 * The state of one run of a Parallel, for every form and mode: one loop starts branches by advancing a cursor (O(1) per
 * branch, no queue to shift) while fewer than `limit` run, and each branch that settles starts the next one, until
 * none is left, the run failed fast, or it was aborted.
 */
class BranchRun {
  readonly results: unknown[]
  failure: TinyLLMError | undefined = undefined
  private next = 0
  private running = 0
  private starting = false
  /** Whether the loop is waiting for the next turn of the event loop to start more. */
  private waitingForTurn = false
  private finish: (() => void) | undefined = undefined
  private readonly children: ReadonlyArray<Function<unknown, unknown>>
  private readonly settleAll: boolean
  private readonly limit: number
  private readonly context: RunContext
  /** The run tree, whose combinators share one budget of starts per turn of the event loop. */
  private readonly tree: string
  private readonly signal: AbortSignal
  private readonly input: unknown
  private readonly inputs: ReadonlyArray<unknown> | undefined
  private readonly count: number
  private readonly controller: AbortController
  /** Each child's result key, which is also its step key; empty in the map form (an item's key is its index). */
  private readonly keys: ReadonlyArray<string>

  constructor(
    children: ReadonlyArray<AnyFunction>,
    keys: ReadonlyArray<string>,
    settleAll: boolean,
    limit: number,
    context: RunContext,
    input: unknown,
    inputs: ReadonlyArray<unknown> | undefined,
    count: number,
  ) {
    this.children = children as unknown as ReadonlyArray<Function<unknown, unknown>>
    this.settleAll = settleAll
    this.limit = limit
    this.context = context
    this.tree = runTreeOf(context)
    // The signal of this attempt: a later attempt has a signal of its own, and this one's branches stop with it.
    this.signal = context.signal
    this.input = input
    this.inputs = inputs
    this.count = count
    this.results = new Array(this.count)
    // Branches are aborted through one signal of their own when the Parallel fails (fail-fast: a branch failed; either
    // mode: the map form's list has a hole), so a failure is not held up by branches whose results it throws away. The
    // parent's signal reaches every branch already: each child run links to it.
    this.controller = new AbortController()
    this.keys = keys
  }

  /**
   * Runs every branch; resolves once none is running and no more will start — or, once the Parallel failed, at once:
   * what the aborted branches still running answer is thrown away.
   */
  run(): Promise<void> {
    return new Promise((resolve) => {
      this.finish = resolve
      this.startMore()
    })
  }

  /**
   * The child run of branch `index`: a child on the shared input, or the map form's one child on item `index`. Its key
   * is the branch's result key (a child's name or object key, an item's index), so a re-run replays the same branch.
   */
  start(index: number): Promise<unknown> {
    const mapped = this.inputs !== undefined
    const key = mapped ? String(index) : this.keys[index]!
    const options = { key, signal: this.controller.signal }
    if (!mapped) return this.context.invoke(this.children[index]!, this.input, options)
    const item = readItem(this.inputs as ReadonlyArray<unknown>, index, this.context.functionName)
    if (item === hole) {
      // A hole is no item: the list is refused where it is, in either mode, and no branch starts after it, so a
      // sparse list as long as 2³²−1 fails at once instead of running billions of branches.
      const message = 'the list has a hole here; the map form runs over a list without holes'
      // An input fault, named so: another attempt would be handed the same list (`retryInvalidOutput` retries none).
      const error = new ValidationError({
        functionName: this.context.functionName,
        state: 'input_validation',
        issues: [{ path: [index], message }],
      })
      this.fail(error)
      throw error
    }
    return this.context.invoke(this.children[0]!, item, options)
  }

  /**
   * The name of the child branch `index` ran: its own in a list or object, the one child's in the map form. A child
   * that only looks like a Function may have a name that is no string or throws when read (a getter, a Proxy): its
   * error is then named after the Parallel, since a throw here would leave the branch counted as running and the
   * Parallel unsettled.
   */
  private branchName(index: number): string {
    const child = this.inputs === undefined ? this.children[index] : this.children[0]
    let name: unknown
    try {
      name = child?.name
    } catch {
      name = undefined
    }
    return typeof name === 'string' ? name : this.context.functionName
  }

  fulfilled(index: number, value: unknown): void {
    this.results[index] = this.settleAll ? { status: 'fulfilled', value } : value
    this.running -= 1
    this.startMore()
  }

  rejected(index: number, thrown: unknown): void {
    // A tinyllm Function always rejects with a typed error; something else that only looks like one may not.
    const error = TinyLLMError.isInstance(thrown)
      ? thrown
      : new FunctionError({ functionName: this.branchName(index), state: 'running', cause: thrown })
    // A limit of the run tree (nesting depth, runs in progress) is the whole graph's, not this branch's outcome: settled,
    // each level above would complete, and a Parallel whose branches re-invoke it would fan out without end.
    if (this.settleAll && !(StepLimitError.isInstance(error) && error.ofRunTree === true))
      this.results[index] = { status: 'rejected', error }
    else this.fail(error)
    this.running -= 1
    this.startMore()
  }

  /**
   * Fails the Parallel with `error`, unless it failed already: no more branches start, and the ones running are aborted
   * with an AbortError whose reason is `error` — a branch's AbortError or TimeoutError too, which the siblings did not
   * meet themselves.
   */
  private fail(error: TinyLLMError): void {
    if (this.failure !== undefined) return
    this.failure = error
    this.controller.abort(new AbortError({ reason: error }))
  }

  private startMore(): void {
    // A branch that settles while this loop is starting others (a child whose `invoke` throws at once) leaves the
    // starting to the loop already running, so the stack does not grow with the number of branches.
    if (this.starting || this.waitingForTurn) return
    this.starting = true
    while (this.running < this.limit && this.next < this.count && this.failure === undefined && !this.signal.aborted) {
      // Counted with the starts of every other combinator of the run tree: the inner maps of a map of maps each start
      // fewer than a turn allows, and together all of them.
      if (mustWaitForTurn(this.tree)) {
        this.waitForTurn()
        break
      }
      this.running += 1
      void runBranch(this, this.next++)
    }
    this.starting = false
    // A failed Parallel fails now: the branches still running were aborted and their results are thrown away, so one
    // that ignores its signal (a child that only looks like a Function) cannot hold the failure up.
    if ((this.running === 0 || this.failure !== undefined) && !this.waitingForTurn) this.finish!()
  }

  /** Lets timers and I/O run (an abort among them), then starts more branches. */
  private waitForTurn(): void {
    this.waitingForTurn = true
    nextTurn(() => {
      this.waitingForTurn = false
      this.startMore()
    })
  }
}

/**
 * The length of the map form's input list, read once: anything that is not a list — a value of another kind, a `Proxy`
 * whose reading throws or whose length no list can have — is a ValidationError, not retried (reading it again fails
 * again).
 */
function listLength(input: unknown, functionName: string): number {
  let problem: string
  let cause: unknown
  try {
    if (Array.isArray(input)) {
      const length: unknown = input.length
      if (Number.isInteger(length) && (length as number) >= 0 && (length as number) <= maxListLength)
        return length as number
      problem = `the map form of Parallel runs over a list; got one whose length is ${String(length)}`
    } else {
      problem = `the map form of Parallel runs over a list; got ${input === null ? 'null' : typeof input}`
    }
  } catch (error) {
    problem = 'the map form of Parallel runs over a list; got one that throws when read (a Proxy?)'
    cause = error
  }
  // An input fault, named so: another attempt would be handed the same value (`retryInvalidOutput` retries none).
  throw new ValidationError({
    functionName,
    state: 'input_validation',
    issues: [{ path: [], message: problem }],
    cause,
  })
}

/**
 * Item `index` of the map form's list, read as its branch starts, or {@link hole} where it has none. One whose reading
 * throws (a getter, a Proxy) is a ValidationError of the Parallel naming the index, like a list that cannot be read,
 * not a failure of the child, which never ran.
 */
function readItem(inputs: ReadonlyArray<unknown>, index: number, functionName: string): unknown {
  try {
    return index in inputs ? inputs[index] : hole
  } catch (error) {
    const message = 'the item could not be read (a getter or a Proxy that throws)'
    // An input fault too: another attempt would read the same item.
    throw new ValidationError({
      functionName,
      state: 'input_validation',
      issues: [{ path: [index], message }],
      cause: error,
    })
  }
}

/** What {@link readItem} returns for an index the list has no item at. */
const hole: unique symbol = Symbol('hole')

/** The longest a JavaScript array can be. */
const maxListLength = 2 ** 32 - 1

/** Runs branch `index` of `run` and reports how it settled; a plain function, so no closure is made per branch. */
async function runBranch(run: BranchRun, index: number): Promise<void> {
  let value: unknown
  try {
    value = await run.start(index)
  } catch (error) {
    run.rejected(index, error)
    return
  }
  run.fulfilled(index, value)
}

/**
 * The children of a Parallel with their result keys: a list's by each child's name, an object's by its keys. Children
 * that are not Functions, and children whose reading throws (a getter, a Proxy), are ConfigurationErrors.
 */
function branchEntries(children: object, name: string): Array<[string, AnyFunction]> {
  try {
    if (Array.isArray(children)) return namedEntries(children, name)
    return namedFunctionEntries(children, 'children', name).map(([key, child]) => {
      const problem = stepKeyProblem(key)
      if (problem !== undefined)
        throw optionError('children', `an object whose keys ${problem}`, key === '' ? children : key, name)
      assertFunction(child, `children.${key}`, name)
      return [key, child as AnyFunction]
    })
  } catch (error) {
    throw unreadableOption(error, 'children', name)
  }
}

/**
 * A list of children with their names, each read once and checked as it is read: a name is its branch's result key, so
 * listed once. A repeat is refused where it is, so a list as long as 2³²−1 (a Proxy answering one child at every index)
 * fails at once instead of being copied whole.
 */
function namedEntries(children: ReadonlyArray<unknown>, name: string): Array<[string, AnyFunction]> {
  const entries: Array<[string, AnyFunction]> = []
  const seen = new Set<string>()
  checkFunctionList(children, 'children', name, (child) => {
    // Read once: a getter cannot answer the check one name and the results another.
    const given: unknown = child.name
    const problem = stepKeyProblem(given)
    if (problem !== undefined) throw optionError('children', `a list of Functions whose names ${problem}`, given, name)
    const key = given as string
    if (seen.has(key)) {
      throw new ConfigurationError({
        option: 'children',
        message: `children has two Functions named "${key}"; results are keyed by name, so names must be unique (or pass an object of children)`,
        functionName: name,
      })
    }
    seen.add(key)
    entries.push([key, child])
  })
  return entries
}

/**
 * What keeps `key` from being its branch's result and step key (`undefined` when nothing does): it must be a non-empty
 * string of at most 1,000 characters of well-formed Unicode. Refused when the Parallel is built, not at every
 * invocation; a child that only looks like a Function may have any name, and two names that are one key (`5` and
 * `'5'`) would keep one result of the two.
 */
function stepKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'are strings'
  if (key === '') return 'are not empty'
  if (key.length > 1_000) return 'are at most 1,000 characters'
  if (!key.isWellFormed()) return 'are well-formed Unicode, without a lone surrogate'
  return undefined
}

function keyed(keys: ReadonlyArray<string>, values: ReadonlyArray<unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {}
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!
    if (key === '__proto__')
      Object.defineProperty(result, key, { value: values[index], enumerable: true, writable: true, configurable: true })
    else result[key] = values[index]
  }
  return result
}
