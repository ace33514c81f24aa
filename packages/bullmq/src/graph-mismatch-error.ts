import { brandError, TinyLLMError } from '@tinyllm/core'

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
    const why =
      options.workerFingerprint === undefined
        ? `no graph named "${options.graph}" is registered on this worker (it serves: ${options.registered.map((name) => `"${name}"`).join(', ') || 'none'})`
        : `this worker's "${options.graph}" has fingerprint ${options.workerFingerprint}, the run was submitted for ${options.expectedFingerprint} (a different version of the graph)`
    super({
      message: `${options.graph}: run ${options.runId} refused: ${why}`,
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
