import type { RunRecord } from '@tinyllm/core'
import { nameText } from './run-text.js'

/** How the runs of one shape node ended, taken together. */
export type ShapeOutcome = 'complete' | 'failed' | 'mixed' | 'running'

/**
 * One node of the graph a report draws: every run of one Function at one place in the run tree. A single run has
 * one run per node; a batch (a Parallel over a list, repeated calls) folds its many runs into one node with counts.
 */
export interface ShapeNode {
  readonly id: string
  /** The Function's name, redacted. */
  readonly name: string
  /** The run's kind, redacted. */
  readonly kind: string
  readonly parent: ShapeNode | undefined
  /** How many nodes it is nested in: 0 for a root. */
  readonly depth: number
  readonly children: ShapeNode[]
  /** Ids of the runs folded into this node, in the order they were met. */
  readonly runIds: string[]
  complete: number
  failed: number
  running: number
  /** Runs that needed more than one attempt. */
  retried: number
  /** How often each choice was taken, for the runs that recorded one (a Decision's `choice`, redacted). */
  readonly choices: Map<string, number>
}

/** The folded graph: nodes nested as the run tree nests, and edges between siblings that ran one after another. */
export interface RunShape {
  readonly roots: ShapeNode[]
  /** Every node, each after its parent. */
  readonly nodes: ShapeNode[]
  readonly edges: ReadonlyArray<{ readonly from: ShapeNode; readonly to: ShapeNode }>
  /**
   * Every run, depth first and its children in the order they started, with the node it is folded into: the runs of
   * two trees may share their ids (one request id given to two pipelines), so a run's node is kept with the run itself.
   */
  readonly runs: ReadonlyArray<{ readonly record: RunRecord; readonly node: ShapeNode }>
}

/**
 * Folds run records into a shape: runs of the same Function under the same shape node become one node. Edges come
 * from timing, not from kinds: among the children of one run, a child that started after the ones before it had all
 * ended follows them (a sequence); children that overlapped ran side by side and get no edge between them.
 */
export function foldRuns(records: ReadonlyArray<RunRecord>): RunShape {
  const nodes: ShapeNode[] = []
  const roots: ShapeNode[] = []
  const byKey = new Map<string, ShapeNode>()
  const edgeKeys = new Set<string>()
  const edges: Array<{ from: ShapeNode; to: ShapeNode }> = []
  const runs: Array<{ record: RunRecord; node: ShapeNode }> = []

  const shapeOf = (record: RunRecord, parent: ShapeNode | undefined): ShapeNode => {
    const key = `${parent?.id ?? ''}\u0000${record.function}\u0000${record.kind}`
    let node = byKey.get(key)
    if (node === undefined) {
      node = {
        id: `s${nodes.length}`,
        name: nameText(record.function),
        kind: nameText(record.kind),
        parent,
        depth: parent === undefined ? 0 : parent.depth + 1,
        children: [],
        runIds: [],
        complete: 0,
        failed: 0,
        running: 0,
        retried: 0,
        choices: new Map(),
      }
      byKey.set(key, node)
      nodes.push(node)
      if (parent === undefined) roots.push(node)
      else parent.children.push(node)
    }
    return node
  }
  const connect = (from: ShapeNode, to: ShapeNode): void => {
    if (from === to) return
    const key = `${from.id}>${to.id}`
    if (edgeKeys.has(key)) return
    edgeKeys.add(key)
    edges.push({ from, to })
  }

  // Iterative, so a deep tree cannot overflow the stack.
  const stack: Array<{ record: RunRecord; parent: ShapeNode | undefined }> = records
    .map((record) => ({ record, parent: undefined }))
    .reverse()
  while (stack.length > 0) {
    const { record, parent } = stack.pop()!
    const node = shapeOf(record, parent)
    node.runIds.push(record.runId)
    runs.push({ record, node })
    if (record.status === 'complete') node.complete++
    else if (record.status === 'failed') node.failed++
    else node.running++
    if (record.attempts > 1) node.retried++
    const choice = record.annotations.choice
    if (typeof choice === 'string') {
      const shown = nameText(choice)
      node.choices.set(shown, (node.choices.get(shown) ?? 0) + 1)
    }

    const children = [...record.children].sort((left, right) => left.startedAt - right.startedAt)
    // The shape nodes of a wave, each once: a batch of runs of one Function side by side is one node, so the next
    // wave's runs connect to it once each, not once for every run of the batch (n² for two batches of n).
    let wave = new Set<ShapeNode>()
    let waveEnd = Number.NEGATIVE_INFINITY
    let previousWave = new Set<ShapeNode>()
    for (const child of children) {
      const shape = shapeOf(child, node)
      if (wave.size > 0 && child.startedAt >= waveEnd) {
        previousWave = wave
        wave = new Set()
        waveEnd = Number.NEGATIVE_INFINITY
      }
      for (const from of previousWave) connect(from, shape)
      wave.add(shape)
      waveEnd = Math.max(waveEnd, child.endedAt ?? Number.POSITIVE_INFINITY)
    }
    for (let index = children.length - 1; index >= 0; index--) {
      stack.push({ record: children[index]!, parent: node })
    }
  }
  return { roots, nodes, edges, runs }
}

/** How a shape node's runs ended, taken together. */
export function outcomeOf(node: ShapeNode): ShapeOutcome {
  if (node.running > 0) return 'running'
  if (node.failed === 0) return 'complete'
  return node.complete === 0 ? 'failed' : 'mixed'
}
