// The tinyllm APIs the scenarios need that are still landing in the packages. Each is looked up at run time, so a
// missing one makes its subject report "not available" instead of failing the whole run or faking a number.
import { requireExport } from '../harness/scenario.ts'

/** Anything invocable the way every tinyllm Function is. */
export interface InvocableLike<Input, Output> {
  invoke(input: Input): Promise<Output>
}

/** `Chain` of `@tinyllm/flow`. */
export type ChainConstructor = new (options: {
  readonly name: string
  readonly steps: readonly unknown[]
}) => InvocableLike<unknown, unknown>

export function loadChain(): Promise<ChainConstructor> {
  return requireExport<ChainConstructor>('@tinyllm/flow', 'Chain')
}

/** `Parallel` of `@tinyllm/flow`, one branch over a list of inputs. */
export type ParallelConstructor = new (options: {
  readonly name: string
  readonly branch: unknown
  readonly concurrency: number | undefined
}) => InvocableLike<readonly unknown[], unknown>

export function loadParallel(): Promise<ParallelConstructor> {
  return requireExport<ParallelConstructor>('@tinyllm/flow', 'Parallel')
}

/** `OpenAIChat` of `@tinyllm/openai`. */
export type OpenAIChatConstructor = new (options: {
  readonly name: string
  readonly model: string
  readonly baseURL: string
  readonly apiKey: string
}) => InvocableLike<unknown, unknown>

export function loadOpenAIChat(): Promise<OpenAIChatConstructor> {
  return requireExport<OpenAIChatConstructor>('@tinyllm/openai', 'OpenAIChat')
}
