import type { FunctionNode } from '@tinyllm/core'

/** One node of a {@link FlowGraph}: a Function, drawn as a box, a decision diamond, or a group around its children. */
export interface GraphNode {
  /** Unique within the graph (`n0`, `n1`, …), even when names repeat. */
  readonly id: string
  readonly name: string
  /** The Function's kind: `function`, `chain`, `decision`, `parallel`, … */
  readonly kind: string
  /** The group this node is drawn in, if any. */
  readonly parent: string | undefined
  /** Whether the node is drawn as a group around its children (chains, parallels, other combinators). */
  readonly group: boolean
  /** A Decision's choices, in order. */
  readonly choices?: ReadonlyArray<string>
  /** A Parallel in the map form: one Function over a list. */
  readonly map?: boolean
}

/** One edge: data flows `from` → `to`; a Decision's edges carry the choice as `label`. */
export interface GraphEdge {
  readonly from: string
  readonly to: string
  readonly label?: string
}

/** A composition as nodes and edges, ready to draw. */
export interface FlowGraph {
  /** Id of the outermost node. */
  readonly root: string
  readonly nodes: ReadonlyArray<GraphNode>
  readonly edges: ReadonlyArray<GraphEdge>
}

/** Anything that describes itself as a graph node: every Function. */
export interface Describable {
  describe(): FunctionNode
}

/**
 * Describes a composition as nodes and edges, before it runs. A chain connects its children in order; a decision
 * connects to each branch with the choice as the label; a parallel (or any other Function with children) is a group
 * that its neighbours connect to as a whole.
 *
 * @example
 * const graph = describeGraph(pipeline)
 * graph.edges // [{ from: 'n1', to: 'n2', label: 'good' }, …]
 */
export function describeGraph(source: Describable | FunctionNode): FlowGraph {
  const builder = new GraphBuilder()
  const root = builder.add(isDescribable(source) ? source.describe() : source, undefined)
  return { root: root.id, nodes: builder.nodes, edges: builder.edges }
}

function isDescribable(source: Describable | FunctionNode): source is Describable {
  return typeof (source as Partial<Describable>).describe === 'function'
}

/** Where edges enter and leave a drawn node. */
interface Ends {
  readonly id: string
  readonly entries: ReadonlyArray<string>
  readonly exits: ReadonlyArray<string>
}

class GraphBuilder {
  readonly nodes: GraphNode[] = []
  readonly edges: GraphEdge[] = []

  add(node: FunctionNode, parent: string | undefined): Ends {
    const id = `n${this.nodes.length}`
    const children = node.children ?? []
    const branches = node.branches
    const group = children.length > 0 && branches === undefined
    const drawn: { -readonly [Key in keyof GraphNode]: GraphNode[Key] } = {
      id,
      name: node.name,
      kind: node.kind,
      parent,
      group,
    }
    if (branches !== undefined) drawn.choices = branches.map((branch) => branch.choice)
    if ((node as { map?: unknown }).map === true) drawn.map = true
    this.nodes.push(drawn)

    if (branches !== undefined) {
      const exits: string[] = []
      for (const { choice, node: branch } of branches) {
        if (branch === undefined) continue
        const ends = this.add(branch, parent)
        for (const entry of ends.entries) this.edges.push({ from: id, to: entry, label: choice })
        exits.push(...ends.exits)
      }
      return { id, entries: [id], exits: exits.length === 0 ? [id] : exits }
    }
    if (!group) return { id, entries: [id], exits: [id] }
    if (node.kind !== 'chain') {
      for (const child of children) this.add(child, id)
      return { id, entries: [id], exits: [id] }
    }
    let first: Ends | undefined
    let previous: Ends | undefined
    for (const child of children) {
      const ends = this.add(child, id)
      if (previous === undefined) first = ends
      else for (const from of previous.exits) for (const to of ends.entries) this.edges.push({ from, to })
      previous = ends
    }
    return { id, entries: first!.entries, exits: previous!.exits }
  }
}
