export type { Accepts, AnyFunction, FunctionInput, FunctionOutput } from './any-function.js'
export {
  Chain,
  type ChainInput,
  type ChainLinkMismatch,
  type ChainOptions,
  type ChainOutput,
  type EmptyChain,
  type LinkedChildren,
} from './chain.js'
export {
  type DecideFunction,
  Decision,
  type DecisionAnswer,
  type DecisionBranches,
  DecisionError,
  type DecisionOptions,
  type DecisionOutput,
  type DecisionResult,
} from './decision.js'
export {
  type Describable,
  describeGraph,
  type FlowGraph,
  type GraphEdge,
  type GraphNode,
} from './graph.js'
export { escapeMermaid, lifecycleToMermaid, type MermaidOptions, toMermaid } from './mermaid.js'
export {
  Parallel,
  type ParallelBranches,
  type ParallelChildren,
  type ParallelInput,
  type ParallelMode,
  type ParallelNode,
  type ParallelOptions,
  type ParallelOutput,
  type Settled,
  unboundedConcurrency,
} from './parallel.js'
