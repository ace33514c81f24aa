import {
  ConfigurationError,
  checkOneOf,
  type FunctionNode,
  type NodeLayout,
  optionError,
  unreadableOption,
} from '@tinyllm/core'

/** One node of a {@link FlowGraph}: a Function, drawn as a box, a decision diamond, or a group around its children. */
export interface GraphNode {
  /** Unique within the graph (`n0`, `n1`, …), even when names repeat. */
  readonly id: string
  readonly name: string
  /** The Function's kind (`function`, `chain`, `decision`, `parallel`, …): shown in labels, never used to draw. */
  readonly kind: string
  /** The group this node is drawn in, if any. */
  readonly parent: string | undefined
  /** How the node's children are arranged, which decides how it is drawn; absent for a node without children. */
  readonly layout?: NodeLayout
  /** Whether the node is drawn as a group around its children (the `sequence` and `group` layouts). */
  readonly group: boolean
  /** The choices of a `choice` node, in order. */
  readonly choices?: ReadonlyArray<string>
  /** A `group` that runs its one child over each item of a list (Parallel's map form). */
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
 * Describes a composition as nodes and edges, before it runs. A node nested more than 1,000 levels deep is a
 * ConfigurationError. How a node is drawn depends only on its `layout`: a
 * `sequence` connects its children in order, a `choice` connects to each branch with the choice as the label, a
 * `group` is drawn around its children and its neighbours connect to it as a whole. A node with children but no
 * layout is drawn as a group. So a combinator of your own draws like a Chain when its `describe()` returns
 * `{ layout: 'sequence', children }`.
 *
 * @example
 * const graph = describeGraph(pipeline)
 * graph.edges // [{ from: 'n1', to: 'n2', label: 'good' }, …]
 */
export function describeGraph(source: Describable | FunctionNode): FlowGraph {
  const builder = new GraphBuilder()
  try {
    const root = builder.add(isDescribable(source) ? source.describe() : source, undefined, 'source')
    return { root: root.id, nodes: builder.nodes, edges: builder.edges }
  } catch (error) {
    // A composition nested so deep that describing it ran out of stack (each describe() calls its children's) is
    // refused as too deep, as a node past maxGraphDepth is.
    if (error instanceof RangeError && /call stack/i.test(error.message)) throw tooDeep()
    // A describe() or a node whose reading throws (a getter, a Proxy), at any depth, is bad input, not a crash.
    throw unreadableOption(error, 'source', 'describeGraph')
  }
}

/** @internal The error of a graph nested past {@link maxGraphDepth}: described (`describeGraph`) or drawn (`toMermaid`). */
export function tooDeep(functionName = 'describeGraph'): ConfigurationError {
  return new ConfigurationError({
    option: 'source',
    message: `source is nested more than ${maxGraphDepth} levels deep, deeper than a graph is drawn`,
    functionName,
  })
}

function isDescribable(source: Describable | FunctionNode): source is Describable {
  return typeof (source as Partial<Describable> | null | undefined)?.describe === 'function'
}

/** Throws a ConfigurationError naming `path` unless `node` is a node as `describe()` returns one. */
function checkNode(node: unknown, path: string): asserts node is FunctionNode {
  const candidate = node as Partial<FunctionNode> | null | undefined
  if (typeof candidate?.name !== 'string' || typeof candidate.kind !== 'string') {
    throw optionError(path, 'a graph node { kind, name, … }, as describe() returns', node, 'describeGraph')
  }
}

/** The layouts a node may have; any other is refused rather than drawn as one of these. */
const nodeLayouts: ReadonlyArray<NodeLayout> = ['sequence', 'choice', 'group']

/** Where edges enter and leave a drawn node. */
interface Ends {
  readonly id: string
  readonly entries: ReadonlyArray<string>
  readonly exits: ReadonlyArray<string>
}

type MutableGraphNode = { -readonly [Key in keyof GraphNode]: GraphNode[Key] }

/**
 * The deepest nesting drawn. No composition a diagram can show is nested this deep; past it, a graph built by hand (or
 * by a loop) is refused with a ConfigurationError, before the stack runs out.
 */
export const maxGraphDepth = 1_000

class GraphBuilder {
  readonly nodes: GraphNode[] = []
  readonly edges: GraphEdge[] = []
  /** The nodes being drawn, from the root down to the current one: a node among its own descendants is a cycle. */
  private readonly drawing = new Set<FunctionNode>()

  add(node: FunctionNode, parent: string | undefined, path: string): Ends {
    checkNode(node, path)
    // A node object built by hand may hold itself; drawing it would never end.
    if (this.drawing.has(node))
      throw optionError(path, 'a graph node that does not contain itself', node, 'describeGraph')
    if (this.drawing.size >= maxGraphDepth) throw tooDeep()
    this.drawing.add(node)
    try {
      return this.addNode(node, parent, path)
    } finally {
      this.drawing.delete(node)
    }
  }

  private addNode(node: FunctionNode, parent: string | undefined, path: string): Ends {
    const id = `n${this.nodes.length}`
    const children = Array.isArray(node.children) ? node.children : []
    // Each list's length read once: one (a Proxy) that grows each time it is read would keep a loop going without end.
    const count = children.length
    // Read once and checked: a layout of another name (a typo of `group`, say) would be drawn as a sequence.
    const layout =
      checkOneOf(node.layout, `${path}.layout`, nodeLayouts, 'describeGraph') ?? (count > 0 ? 'group' : undefined)
    const group = layout !== undefined && layout !== 'choice' && count > 0
    const drawn: MutableGraphNode = { id, name: node.name, kind: node.kind, parent, group }
    if (layout !== undefined) drawn.layout = layout
    this.nodes.push(drawn)

    if (layout === 'choice') {
      const branches = checkBranches(Array.isArray(node.branches) ? node.branches : [], path)
      drawn.choices = branches.map((branch) => branch.choice)
      return this.addChoice(id, branches, parent, path)
    }
    if (!group) return { id, entries: [id], exits: [id] }
    if (layout === 'group') {
      if (node.map === true) drawn.map = true
      for (let index = 0; index < count; index++) this.add(children[index]!, id, `${path}.children[${index}]`)
      return { id, entries: [id], exits: [id] }
    }
    return this.addSequence(children, count, id, path)
  }

  /** A diamond with an edge to each branch, labelled with its choice; the branches are drawn beside it. */
  private addChoice(id: string, branches: ReadonlyArray<Branch>, parent: string | undefined, path: string): Ends {
    const exits: string[] = []
    for (let index = 0; index < branches.length; index++) {
      const { choice, node } = branches[index]!
      if (node === undefined) continue
      const ends = this.add(node, parent, `${path}.branches[${index}].node`)
      for (const entry of ends.entries) this.edges.push({ from: id, to: entry, label: choice })
      // One by one: a branch that is a Decision of 200,000 choices has as many exits, too many to spread into push.
      for (const exit of ends.exits) exits.push(exit)
    }
    return { id, entries: [id], exits: exits.length === 0 ? [id] : exits }
  }

  /** The children inside the group `id`, each one's exits connected to the next one's entries. */
  private addSequence(children: ReadonlyArray<FunctionNode>, count: number, id: string, path: string): Ends {
    let first: Ends | undefined
    let previous: Ends | undefined
    for (let index = 0; index < count; index++) {
      const ends = this.add(children[index]!, id, `${path}.children[${index}]`)
      if (previous === undefined) first = ends
      else for (const from of previous.exits) for (const to of ends.entries) this.edges.push({ from, to })
      previous = ends
    }
    return { id, entries: first!.entries, exits: previous!.exits }
  }
}

/** A choice node's branch, as read once. */
interface Branch {
  readonly choice: string
  readonly node: FunctionNode | undefined
}

/**
 * A choice node's branches, each read once and checked as it is read: an index loop over a length read once, so a hole
 * of a sparse list as long as 2³²−1 is refused at once (where `map` would visit every index), and a list whose length
 * grows as it is read cannot keep it going.
 */
function checkBranches(branches: NonNullable<FunctionNode['branches']>, path: string): Branch[] {
  const checked: Branch[] = []
  const length = branches.length
  for (let index = 0; index < length; index++) {
    const branch = branches[index]
    const choice: unknown = branch?.choice
    if (typeof choice !== 'string')
      throw optionError(`${path}.branches[${index}]`, 'a branch { choice, node? }', branch, 'describeGraph')
    checked.push({ choice, node: branch!.node })
  }
  return checked
}
