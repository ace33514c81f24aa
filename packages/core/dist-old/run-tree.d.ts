import type { RunRecord } from './run-record.js'
/** How {@link formatRunTree} renders. */
export interface FormatRunTreeOptions {
  /** ANSI colours. Default: false. */
  readonly colors?: boolean
  /** `full` lists every state visited; `compact` (default) folds the happy path and shows retries and failures. */
  readonly states?: 'full' | 'compact'
}
/**
 * Renders a finished run and its children as a readable tree: status, Function and kind, duration, the state path,
 * attempts, annotations (such as a Decision's choice; a provider's response id, and finish reasons that are all
 * `stop`, are left out as noise), tokens, cost and the error. Secrets in annotations and schema issues are replaced,
 * as in a log line. An option it does not know, or of the wrong kind, is a ConfigurationError.
 *
 * @example
 * const record = await pipeline.trace(input)
 * console.log(formatRunTree(record))
 * // ✔ Credit analysis (chain) 12.4 ms
 * // ├─ ✔ CreditClassification (decision) 10.1 ms choice=bad tokens=57 cost=$0.000031
 * // …
 */
export declare function formatRunTree(record: RunRecord, options?: FormatRunTreeOptions): string
//# sourceMappingURL=run-tree.d.ts.map
