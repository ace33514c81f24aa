import type * as sqlite from 'node:sqlite'
import { ConfigurationError } from '@tinyllm/core'

/** Node's built-in SQLite module. */
export type SqliteModule = typeof sqlite

/**
 * Node's built-in `node:sqlite`, loaded when a journal is opened rather than when the package is imported, so that a
 * Node.js without it gets a ConfigurationError that says what to do instead of an import that fails. It is there
 * without a flag from Node.js 22.13 and 23.4 on; 22.5–22.12 and 23.0–23.3 have it behind `--experimental-sqlite`, and
 * `--no-experimental-sqlite` hides it.
 */
export function loadSqlite(owner: string): SqliteModule {
  const module = globalThis.process?.getBuiltinModule?.('node:sqlite') as SqliteModule | undefined
  if (module !== undefined) return module
  const runtime = globalThis.process?.versions?.node
  throw new ConfigurationError({
    option: 'node:sqlite',
    message: `node:sqlite is not available in this runtime (${runtime === undefined ? 'not Node.js' : `Node.js v${runtime}`}). ${owner} needs Node.js 22.13 or later (23.4 or later on 23.x), where it is built in without a flag; on Node.js 22.5 to 22.12 and 23.0 to 23.3, start node with --experimental-sqlite, and never with --no-experimental-sqlite.`,
    functionName: owner,
  })
}
