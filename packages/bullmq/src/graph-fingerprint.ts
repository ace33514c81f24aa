import { createHash } from 'node:crypto'
import { type FunctionNode, optionError, unreadableOption } from '@tinyllm/core'

/** What a fingerprint is taken of: a graph that can describe itself (every tinyllm Function can). */
export interface DescribedGraph {
  readonly name: string
  describe(): FunctionNode
}

/**
 * A short hash of a graph's structure (`describe()`: its nodes, their kinds and names, how they are arranged) and of
 * an optional version of your own. Producers and workers compare it so that a worker never runs a job meant for a
 * different graph. The structure does not see prompts, models or code inside a `run`: change `version` when those
 * change in ways old journals must not replay into.
 *
 * @example
 * graphFingerprint(pipeline, '2026-11-30') // 'c1a09e4c5b7d3f21'
 */
export function graphFingerprint(graph: DescribedGraph, version?: string): string {
  checkVersion(version, 'graphFingerprint')
  if (typeof graph !== 'object' || graph === null || typeof graph.describe !== 'function') {
    throw optionError('graph', 'a tinyllm Function, which can describe() itself', graph, 'graphFingerprint')
  }
  let structure: unknown
  try {
    structure = JSON.stringify(graph.describe())
    if (typeof structure !== 'string') throw new TypeError('it gave nothing JSON can hold')
  } catch (cause) {
    // A graph that cannot describe itself as JSON (its describe() throws, or holds a cycle) has no fingerprint.
    throw unreadableOption(cause, 'describe()', graph.name)
  }
  const hash = createHash('sha256')
  hash.update(structure)
  hash.update('\u0000')
  hash.update(version ?? '')
  return hash.digest('hex').slice(0, 16)
}

/**
 * Checks a `version` option: a string without a lone surrogate, or `undefined`. The hash reads the version as UTF-8,
 * where every lone surrogate is U+FFFD: `v\uD800` and `v\uD801` would be one version, one fingerprint.
 */
export function checkVersion(version: unknown, owner: string): string | undefined {
  if (version === undefined || (typeof version === 'string' && version.isWellFormed())) return version
  throw optionError('version', 'a string without a lone surrogate', version, owner)
}
