import type { Function } from './function.js'
import type { InvokeOptions } from './run-context.js'

type AnyFunction = Function<any, any, any, any>
/**
 * Starts a run of `fn` and settles with its output — or, `recording`, with its record whatever happened. Never throws:
 * bad options are a rejected ConfigurationError.
 */
export declare function startRun(
  fn: AnyFunction,
  input: unknown,
  options: InvokeOptions | undefined,
  recording: boolean,
): Promise<unknown>
//# sourceMappingURL=run.d.ts.map
