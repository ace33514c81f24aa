import { brandError, safeStringify, TinyLLMError } from '@tinyllm/core'

/** The most graphs the message of a run refused for a graph the worker does not serve lists. */
const listedGraphs = 20

/**
 * The graphs a worker serves, as a refusal lists them: the first {@link listedGraphs}, each quoted and cut, then how
 * many more — a worker serving 1,000 graphs does not write them all into every refusal, its job and its logs.
 */
function listGraphs(names: readonly string[]): string {
  const shown = names.slice(0, listedGraphs).map((name) => safeStringify(name, 100))
  const more = names.length - shown.length
  if (shown.length === 0) return 'none'
  return more > 0 ? `${shown.join(', ')}, … ${more} more` : shown.join(', ')
}

/**
 * A worker refused a run it was not built to run: no graph of that name is registered on it, or its graph's
 * fingerprint differs from the one the run was submitted with (another version of the graph). Nothing was run.
 */
export class GraphMismatchError extends TinyLLMError {
  override readonly name = 'GraphMismatchError'
  declare static isInstance: (error: unknown) => error is GraphMismatchError
  /** The graph the run was submitted for. */
  readonly graph: string
  /** The fingerprint the run was submitted with. */
  readonly expectedFingerprint: string
  /** The fingerprint of the worker's graph of that name; `undefined` when it has none. */
  readonly workerFingerprint: string | undefined
  /** The run's id. */
  readonly runId: string

  constructor(options: {
    graph: string
    expectedFingerprint: string
    workerFingerprint: string | undefined
    runId: string
    registered: readonly string[]
  }) {
    // The graph's name comes from the job, which another program may have written: quoted cut, as what errors quote is.
    const graph = safeStringify(options.graph, 200)
    const why =
      options.workerFingerprint === undefined
        ? `no graph named ${graph} is registered on this worker (it serves: ${listGraphs(options.registered)})`
        : `this worker's ${graph} has fingerprint ${options.workerFingerprint}, the run was submitted for ${safeStringify(options.expectedFingerprint, 100)} (a different version of the graph)`
    super({
      message: `${options.graph.length <= 200 ? options.graph : `${options.graph.slice(0, 200)}…`}: run ${options.runId} refused: ${why}`,
      functionName: options.graph,
      state: 'init',
    })
    this.graph = options.graph
    this.expectedFingerprint = options.expectedFingerprint
    this.workerFingerprint = options.workerFingerprint
    this.runId = options.runId
  }
}
brandError(GraphMismatchError, 'GraphMismatchError')
