import {
  checkKnownOptions,
  checkOneOf,
  type FunctionNode,
  functionLifecycle,
  optionError,
  type RunRecord,
  unreadableOption,
} from '@tinyllm/core'
import { escapeControls, redactString } from '@tinyllm/logger'
import {
  type Describable,
  describeGraph,
  type FlowGraph,
  type GraphEdge,
  type GraphNode,
  maxGraphDepth,
  tooDeep,
} from './graph.js'

/** Options of {@link toMermaid}. */
export interface MermaidOptions {
  /** Layout direction. Default `TD` (top down); anything else is a ConfigurationError. */
  readonly direction?: 'TD' | 'TB' | 'BT' | 'LR' | 'RL'
}

const directions: ReadonlyArray<NonNullable<MermaidOptions['direction']>> = ['TD', 'TB', 'BT', 'LR', 'RL']
const mermaidOptionNames: ReadonlySet<string> = new Set(['direction'])

/**
 * Draws a composition as a Mermaid `flowchart`, by each node's `layout` (see {@link describeGraph}): a Function
 * without children is a box labelled with its name, a `choice` is a diamond with an edge per choice, a `sequence` or
 * a `group` is a group labelled with its name and kind. Node ids are unique even when names repeat, and labels are
 * escaped, so any name is safe to render. A graph nested more than 1,000 levels deep, described or given, is a
 * ConfigurationError.
 *
 * @example
 * console.log(toMermaid(pipeline))
 * // flowchart TD
 * //   subgraph n0["Credit analysis (chain)"]
 * //   …
 */
export function toMermaid(source: Describable | FunctionNode | FlowGraph, options: MermaidOptions = {}): string {
  // The direction is written into the diagram as it is: anything but a direction is refused, not drawn.
  let direction: MermaidOptions['direction']
  try {
    checkKnownOptions(options, mermaidOptionNames, 'toMermaid')
    direction = checkOneOf(options.direction, 'direction', directions, 'toMermaid') ?? 'TD'
  } catch (error) {
    // Options that are not an object, or whose reading throws (a getter, a Proxy), are bad options too.
    throw unreadableOption(error, 'options', 'toMermaid')
  }
  const graph = isGraph(source) ? checkGraph(source) : describeGraph(source as Describable | FunctionNode)
  const lines = [`flowchart ${direction}`]
  const childrenOf = new Map<string | undefined, GraphNode[]>()
  for (const node of graph.nodes) {
    const siblings = childrenOf.get(node.parent)
    if (siblings === undefined) childrenOf.set(node.parent, [node])
    else siblings.push(node)
  }
  const routed = new Set<string>()
  for (const edge of graph.edges) if (edge.label !== undefined) routed.add(edge.from)
  const draw = (node: GraphNode, indent: string, depth: number): void => {
    const text = escapeMermaid(label(node, routed.has(node.id)))
    if (!node.group) {
      lines.push(node.layout === 'choice' ? `${indent}${node.id}{"${text}"}` : `${indent}${node.id}["${text}"]`)
      return
    }
    // A given graph's groups may nest as deep as its parents chain: refused as describeGraph refuses one, not drawn
    // until the stack runs out.
    if (depth >= maxGraphDepth) throw tooDeep('toMermaid')
    lines.push(`${indent}subgraph ${node.id}["${text}"]`)
    for (const child of childrenOf.get(node.id) ?? []) draw(child, `${indent}  `, depth + 1)
    lines.push(`${indent}end`)
  }
  for (const node of childrenOf.get(undefined) ?? []) draw(node, '  ', 1)
  for (const edge of graph.edges) {
    lines.push(
      edge.label === undefined
        ? `  ${edge.from} --> ${edge.to}`
        : `  ${edge.from} -->|"${escapeMermaid(edge.label)}"| ${edge.to}`,
    )
  }
  return lines.join('\n')
}

function isGraph(source: Describable | FunctionNode | FlowGraph): source is FlowGraph {
  const graph = source as (Partial<FlowGraph> & Partial<Describable>) | null | undefined
  try {
    // Something that describes itself is a Function, drawn by its describe(), even with `nodes` and `edges` of its own.
    return typeof graph?.describe !== 'function' && Array.isArray(graph?.nodes) && Array.isArray(graph.edges)
  } catch (error) {
    // A source whose reading throws (a getter, a Proxy) is bad input, not a crash.
    throw unreadableOption(error, 'source', 'toMermaid')
  }
}

const idPattern = /^[A-Za-z_][\w-]*$/

/** Words Mermaid's flowchart reads as keywords wherever they stand: a node with one as its id breaks the diagram. */
const mermaidKeywords: ReadonlySet<string> = new Set([
  'end',
  'subgraph',
  'graph',
  'flowchart',
  'flowchart-elk',
  'direction',
  'style',
  'linkStyle',
  'classDef',
  'class',
  'click',
  'call',
  'href',
  'default',
  'interpolate',
  'accTitle',
  'accDescr',
])

/** Whether `value` can be written into the diagram as a node id: a plain word that is not a Mermaid keyword. */
function isNodeId(value: unknown): value is string {
  return typeof value === 'string' && idPattern.test(value) && !mermaidKeywords.has(value)
}

/**
 * A graph given as it is (read back from JSON, say), checked where it is written into the diagram unescaped: ids must be
 * unique plain words that are no Mermaid keyword (`end` closes a subgraph), and names, choices and labels strings (they
 * are escaped), every parent a group of the graph under a root and every edge's end a node of it (else a node would be
 * left out, or Mermaid would draw one the graph does not hold). Anything else is a ConfigurationError naming where.
 * What is drawn is a copy of what was checked, each field read once: a getter cannot answer a checked value, then
 * another.
 */
function checkGraph(graph: FlowGraph): FlowGraph {
  const refuse = (path: string, expected: string, value: unknown): never => {
    throw optionError(path, expected, value, 'toMermaid')
  }
  try {
    // Ids are unique: a group holding a node of its own id would be drawn inside itself without end.
    const ids = new Set<string>()
    const checkedNodes: GraphNode[] = []
    const checkedEdges: GraphEdge[] = []
    // Index loops, each entry checked as it is read: a hole is refused where it is, so a sparse list as long as 2³²−1
    // fails at once instead of being walked whole (`forEach` and `every` visit every index to skip the holes). Each
    // length is read once: a list (a Proxy) whose length grows each time it is read would keep a loop going without end.
    const { root, nodes, edges } = graph
    const nodeCount = nodes.length
    for (let index = 0; index < nodeCount; index++) {
      const node = nodes[index] as GraphNode | undefined
      const id: unknown = node?.id
      if (!isNodeId(id))
        refuse(`source.nodes[${index}].id`, 'a plain word (letters, digits, _ and -) that is no Mermaid keyword', id)
      if (ids.has(id as string)) refuse(`source.nodes[${index}].id`, 'an id no other node has', id)
      ids.add(id as string)
      const { name, kind, parent, layout, group, map } = node as GraphNode
      if (typeof name !== 'string' || typeof kind !== 'string')
        refuse(`source.nodes[${index}]`, 'a graph node with a string name and kind', node)
      const choices: unknown = (node as GraphNode).choices
      let checkedChoices: string[] | undefined
      if (choices !== undefined) {
        if (!Array.isArray(choices)) refuse(`source.nodes[${index}].choices`, 'a list of strings', choices)
        checkedChoices = []
        const choiceCount = (choices as unknown[]).length
        for (let at = 0; at < choiceCount; at++) {
          const choice: unknown = (choices as unknown[])[at]
          if (typeof choice !== 'string') refuse(`source.nodes[${index}].choices`, 'a list of strings', choices)
          checkedChoices.push(choice as string)
        }
      }
      if (parent !== undefined && !isNodeId(parent)) refuse(`source.nodes[${index}].parent`, 'a node id', parent)
      checkedNodes.push({
        id: id as string,
        name,
        kind,
        parent,
        group: Boolean(group),
        ...(layout === undefined ? {} : { layout }),
        ...(checkedChoices === undefined ? {} : { choices: checkedChoices }),
        ...(map === true ? { map } : {}),
      })
    }
    checkParents(checkedNodes, refuse)
    const edgeCount = edges.length
    for (let index = 0; index < edgeCount; index++) {
      const edge = edges[index] as GraphEdge | undefined
      const from: unknown = edge?.from
      const to: unknown = edge?.to
      if (!isNodeId(from)) refuse(`source.edges[${index}].from`, 'a node id', from)
      if (!isNodeId(to)) refuse(`source.edges[${index}].to`, 'a node id', to)
      // Mermaid draws an edge's unknown end as a node of its own: one the graph does not hold.
      if (!ids.has(from as string)) refuse(`source.edges[${index}].from`, 'the id of a node of the graph', from)
      if (!ids.has(to as string)) refuse(`source.edges[${index}].to`, 'the id of a node of the graph', to)
      const edgeLabel: unknown = (edge as GraphEdge).label
      if (edgeLabel !== undefined && typeof edgeLabel !== 'string')
        refuse(`source.edges[${index}].label`, 'a string', edgeLabel)
      checkedEdges.push({
        from: from as string,
        to: to as string,
        ...(edgeLabel === undefined ? {} : { label: edgeLabel as string }),
      })
    }
    return { root, nodes: checkedNodes, edges: checkedEdges }
  } catch (error) {
    throw unreadableOption(error, 'source', 'toMermaid')
  }
}

/**
 * Refuses a node the diagram would leave out: every node is drawn inside its parent, from the nodes without one down,
 * so a parent that is no node of the graph, a node that is not a group (only groups are drawn around others), or groups
 * inside each other in a ring would each drop nodes from the diagram without a word. Each node's chain of parents is
 * walked once in all (a node known to be under a root ends the walk), so a chain 50,000 deep costs 50,000 steps.
 */
function checkParents(
  nodes: ReadonlyArray<GraphNode>,
  refuse: (path: string, expected: string, value: unknown) => never,
): void {
  const byId = new Map<string, GraphNode>()
  for (const node of nodes) byId.set(node.id, node)
  for (let index = 0; index < nodes.length; index++) {
    const parent = nodes[index]!.parent
    if (parent === undefined) continue
    const holder = byId.get(parent)
    if (holder === undefined) refuse(`source.nodes[${index}].parent`, 'the id of a node of the graph', parent)
    if (!holder.group) refuse(`source.nodes[${index}].parent`, 'the id of a group (a node with group: true)', parent)
  }
  const underRoot = new Set<string>()
  for (let index = 0; index < nodes.length; index++) {
    const walked = new Set<string>()
    let node: GraphNode | undefined = nodes[index]
    while (node !== undefined && !underRoot.has(node.id)) {
      if (walked.has(node.id))
        refuse(
          `source.nodes[${index}].parent`,
          'a group under a node without a parent, not in a ring of groups',
          nodes[index]!.parent,
        )
      walked.add(node.id)
      node = node.parent === undefined ? undefined : byId.get(node.parent)
    }
    for (const id of walked) underRoot.add(id)
  }
}

function label(node: GraphNode, routed: boolean): string {
  if (node.layout === 'choice') {
    // A decision without branches passes `{ decision }` on: its choices are worth seeing in the diagram.
    const choices = node.choices ?? []
    return routed || choices.length === 0 ? node.name : `${node.name} (${choices.join(' / ')})`
  }
  if (!node.group) return node.name
  return `${node.name} (${node.map === true ? `${node.kind} map` : node.kind})`
}

const replacements: Readonly<Record<string, string>> = {
  '"': '#quot;',
  '#': '#35;',
  '%': '#37;',
  '&': '#38;',
  '<': '#60;',
  '>': '#62;',
  '|': '#124;',
  '`': '#96;',
  ';': '#59;',
}

/**
 * Makes any text safe inside a quoted Mermaid label: quotes, `#`, `%` (which starts a `%%` comment or a `%%{init}%%`
 * directive anywhere in a diagram), `&`, `<`, `>`, `|`, backticks and `;` become Mermaid entity codes, line breaks
 * become spaces and other control characters escapes (`\u001b`), so a diagram printed to a terminal writes none. Secrets (a key in a Function's name) are replaced first, as in a log line or a run tree. Text that is
 * not a string is a ConfigurationError.
 */
export function escapeMermaid(text: string): string {
  if (typeof text !== 'string') throw optionError('text', 'a string', text, 'escapeMermaid')
  // Control characters other than line breaks are written as escapes (`\u001b`), as a run tree writes them: a diagram
  // printed to a terminal writes no escape sequence of a name's.
  return escapeControls(redactString(text).replace(/[\r\n]+/g, ' '), false).replace(
    /["#%&<>|`;]/g,
    (character) => replacements[character]!,
  )
}

/**
 * The Function lifecycle — the state machine every run walks — as a Mermaid `stateDiagram-v2`. Given a run record,
 * the states that run visited are highlighted — only the lifecycle's own, whatever text a record read back from JSON
 * holds; something that is not a run record is a ConfigurationError.
 *
 * @example
 * console.log(lifecycleToMermaid())
 * console.log(lifecycleToMermaid(await fn.trace(input))) // the path of that run, highlighted
 */
export function lifecycleToMermaid(record?: RunRecord): string {
  const diagram = functionLifecycle.toMermaid()
  if (record === undefined) return diagram
  let visited: string[]
  let failed: boolean
  try {
    const states: unknown = (record as Partial<RunRecord> | null)?.states
    if (!Array.isArray(states)) throw optionError('record', 'a run record', record, 'lifecycleToMermaid')
    // Only the lifecycle's own states are drawn: a record read back from JSON may hold any text as a state. Read by
    // index, an entry that is not one (a hole of a sparse list as long as 2³²−1) refused where it is; the length read
    // once, so a list whose length grows as it is read cannot keep the loop going.
    const seen = new Set<unknown>()
    const count = states.length
    for (let index = 0; index < count; index++) {
      const entry: unknown = states[index]
      if (typeof entry !== 'object' || entry === null)
        throw optionError(
          `record.states[${index}]`,
          'a state entry { state, at, attempt }',
          entry,
          'lifecycleToMermaid',
        )
      seen.add((entry as { state?: unknown }).state)
    }
    visited = functionLifecycle.states.filter((state) => seen.has(state))
    failed = record.status === 'failed'
  } catch (error) {
    throw unreadableOption(error, 'record', 'lifecycleToMermaid')
  }
  const style = failed ? 'fill:#fde2e2,stroke:#c62828' : 'fill:#e3f5e1,stroke:#2e7d32'
  return visited.length === 0
    ? diagram
    : `${diagram}\n  classDef visited ${style}\n  class ${visited.join(',')} visited`
}
