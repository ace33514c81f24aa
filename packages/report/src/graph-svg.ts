import dagre from '@dagrejs/dagre'
import { redactAndCut } from '@tinyllm/logger'
import { escapeHtml } from './html.js'
import { outcomeColors } from './outcome-colors.js'
import { outcomeOf, type RunShape, type ShapeNode } from './run-shape.js'

const fontSize = 12
/** An estimate of a character's width at {@link fontSize} in the page's sans-serif font; labels are measured with it. */
const characterWidth = 7
const lineHeight = 16
const nodePadding = 10
const headerHeight = 18
const maxLabelCharacters = 40
/** Most choices a node's label lists. */
const maxLabelChoices = 5

/**
 * Most nodes the graph draws. dagre's layout of nested groups grows faster than the number of nodes (a Chain of 2,000
 * distinct steps overflowed its recursion), and a graph of more boxes than this is no longer read at a glance.
 */
export const maxGraphNodes = 200
/**
 * Deepest nesting the graph draws: the layout's cost grows faster than the square of the depth (a Function that calls
 * itself 100 deep took seconds to lay out, 300 deep minutes).
 */
export const maxGraphDepth = 10

/**
 * Draws a folded run shape as an SVG: a box per node (a group around nodes with children), coloured by how its runs
 * ended, with an edge from each node to the ones that ran after it. The layout is dagre's (layered, with nested groups);
 * the drawing is a few primitives, so the file stays small and renders without script. A shape of more than
 * {@link maxGraphNodes} nodes, or nested deeper than {@link maxGraphDepth}, is not drawn: a note says why.
 */
export function drawRunGraph(shape: RunShape): string {
  const omitted = whyOmitted(shape)
  if (omitted !== undefined) {
    return `<p class="note graph-omitted">Graph omitted: ${omitted}. The timeline lists the runs; select one for its details.</p>`
  }
  const graph = new dagre.graphlib.Graph({ compound: true })
  graph.setGraph({ rankdir: 'TB', nodesep: 20, ranksep: 32, marginx: 16, marginy: 16 })
  graph.setDefaultEdgeLabel(() => ({}))

  const incoming = new Set<ShapeNode>()
  const outgoing = new Set<ShapeNode>()
  for (const edge of shape.edges) {
    outgoing.add(edge.from)
    incoming.add(edge.to)
  }
  const headerId = (node: ShapeNode): string => `${node.id}-header`
  for (const node of shape.nodes) {
    if (node.children.length > 0) {
      graph.setNode(node.id, {})
      // A group's title is a node of its own at the top, so the layout leaves room for it.
      graph.setNode(headerId(node), { width: textWidth(groupTitle(node)) + 16, height: headerHeight })
      graph.setParent(headerId(node), node.id)
    } else {
      const lines = nodeLines(node)
      graph.setNode(node.id, {
        width: Math.max(...lines.map(textWidth)) + 2 * nodePadding,
        height: lines.length * lineHeight + 2 * nodePadding - 4,
      })
    }
    if (node.parent !== undefined) graph.setParent(node.id, node.parent.id)
  }
  // Edges leave a group from its last children and enter it at its title.
  const entry = (node: ShapeNode): string => (node.children.length > 0 ? headerId(node) : node.id)
  const exits = (node: ShapeNode): string[] =>
    node.children.length === 0 ? [node.id] : node.children.filter((child) => !outgoing.has(child)).flatMap(exits)
  for (const node of shape.nodes) {
    if (node.children.length === 0) continue
    for (const child of node.children)
      if (!incoming.has(child)) graph.setEdge(headerId(node), entry(child), { minlen: 1 })
  }
  const drawnEdges: Array<[string, string]> = []
  for (const edge of shape.edges) {
    for (const from of exits(edge.from)) {
      graph.setEdge(from, entry(edge.to), { minlen: 1 })
      drawnEdges.push([from, entry(edge.to)])
    }
  }
  dagre.layout(graph)

  const { width = 0, height = 0 } = graph.graph()
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="run-graph" role="img" aria-label="Run graph" viewBox="0 0 ${round(width)} ${round(height)}" width="${round(width)}" height="${round(height)}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="${fontSize}">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#64748b"/></marker></defs>',
  ]
  const groups = shape.nodes.filter((node) => node.children.length > 0).sort((left, right) => left.depth - right.depth)
  for (const node of groups) {
    const box = graph.node(node.id)
    const header = graph.node(headerId(node))
    const colors = outcomeColors[outcomeOf(node)]
    const left = box.x - box.width / 2
    const top = box.y - box.height / 2
    parts.push(
      `<g class="group" ${dataAttributes(node)}>`,
      `<rect x="${round(left)}" y="${round(top)}" width="${round(box.width)}" height="${round(box.height)}" rx="6" fill="${colors.groupFill}" stroke="${colors.stroke}" stroke-width="1.5"${dashedIfRetried(node)}/>`,
      `<rect class="swatch" x="${round(left)}" y="${round(top)}" width="${round(box.width)}" height="${round(header.y + header.height / 2 - top + 2)}" rx="6" fill="${colors.fill}"/>`,
      `<text x="${round(header.x)}" y="${round(header.y + 4)}" text-anchor="middle" font-weight="600" fill="#0f172a">${escapeHtml(groupTitle(node))}</text>`,
      '</g>',
    )
  }
  for (const [from, to] of drawnEdges) {
    const points = graph.edge(from, to)?.points ?? []
    if (points.length < 2) continue
    const path = points
      .map(
        (point: { x: number; y: number }, index: number) =>
          `${index === 0 ? 'M' : 'L'}${round(point.x)} ${round(point.y)}`,
      )
      .join('')
    parts.push(
      `<path class="edge" d="${path}" fill="none" stroke="#64748b" stroke-width="1.3" marker-end="url(#arrow)"/>`,
    )
  }
  for (const node of shape.nodes) {
    if (node.children.length > 0) continue
    const box = graph.node(node.id)
    const colors = outcomeColors[outcomeOf(node)]
    const left = box.x - box.width / 2
    const top = box.y - box.height / 2
    const lines = nodeLines(node)
    parts.push(
      `<g class="node" ${dataAttributes(node)}>`,
      `<rect class="swatch" x="${round(left)}" y="${round(top)}" width="${round(box.width)}" height="${round(box.height)}" rx="6" fill="${colors.fill}" stroke="${colors.stroke}" stroke-width="1.5"${dashedIfRetried(node)}/>`,
      ...lines.map(
        (line, index) =>
          `<text x="${round(box.x)}" y="${round(top + nodePadding + 10 + index * lineHeight)}" text-anchor="middle"${index === 0 ? ' font-weight="600" fill="#0f172a"' : ' fill="#334155"'}>${escapeHtml(line)}</text>`,
      ),
      '</g>',
    )
  }
  parts.push('</svg>')
  return parts.join('\n')
}

/** Why the shape is too big to lay out, or `undefined` when it is drawn. */
function whyOmitted(shape: RunShape): string | undefined {
  const count = (value: number): string => value.toLocaleString('en-US')
  if (shape.nodes.length > maxGraphNodes) {
    return `${count(shape.nodes.length)} nodes, more than ${count(maxGraphNodes)}`
  }
  const depth = shape.nodes.reduce((deepest, node) => Math.max(deepest, node.depth), 0)
  if (depth > maxGraphDepth) return `runs nested ${count(depth)} deep, more than ${count(maxGraphDepth)}`
  return undefined
}

/** The dash of the box of a node whose runs were retried, group or not, as the legend says. */
function dashedIfRetried(node: ShapeNode): string {
  return node.retried > 0 ? ' stroke-dasharray="5 3"' : ''
}

function dataAttributes(node: ShapeNode): string {
  return `data-shape="${node.id}" data-name="${escapeHtml(node.name)}" data-kind="${escapeHtml(node.kind)}" data-outcome="${outcomeOf(node)}" data-runs="${node.runIds.length}" tabindex="0"`
}

function groupTitle(node: ShapeNode): string {
  const choices = choiceSummary(node)
  return `${clip(node.name)} (${clip(node.kind)})${countsSuffix(node)}${choices === undefined ? '' : ` · ${choices}`}`
}

/**
 * `choice: bad` for one run, `good ×600, bad ×400` for many; past {@link maxLabelChoices} choices the rest are counted
 * (`…, 995 more`), so a step that records a new choice on every run still draws a node of a few words.
 */
function choiceSummary(node: ShapeNode): string | undefined {
  if (node.choices.size === 0) return undefined
  const shown: string[] = []
  for (const [choice, count] of node.choices) {
    if (shown.length === maxLabelChoices) break
    shown.push(node.runIds.length > 1 ? `${clip(choice)} ×${count}` : `choice: ${clip(choice)}`)
  }
  const more = node.choices.size - shown.length
  return more > 0 ? `${shown.join(', ')}, ${more.toLocaleString('en-US')} more` : shown.join(', ')
}

function nodeLines(node: ShapeNode): string[] {
  const lines = [clip(node.name), `${clip(node.kind)}${countsSuffix(node)}`]
  const choices = choiceSummary(node)
  if (choices !== undefined) lines.push(choices)
  return lines
}

/** ` · 998 ✔ 2 ✖ · 14 retried` for a node of many runs, ` · retried` for a single retried run. */
function countsSuffix(node: ShapeNode): string {
  const parts: string[] = []
  if (node.runIds.length > 1) {
    parts.push(`${node.runIds.length} runs`)
    if (node.failed > 0) parts.push(`${node.failed} failed`)
    if (node.running > 0) parts.push(`${node.running} unfinished`)
    if (node.retried > 0) parts.push(`${node.retried} retried`)
  } else if (node.retried > 0) parts.push('retried')
  return parts.length === 0 ? '' : ` · ${parts.join(', ')}`
}

/**
 * A name, kind or choice as a label shows it: whole up to {@link maxLabelCharacters}, else cut to fit with an ellipsis,
 * as `redactAndCut` cuts (never inside an emoji). Each is redacted already; redacting again changes nothing.
 */
function clip(text: string): string {
  return text.length <= maxLabelCharacters ? text : redactAndCut(text, maxLabelCharacters - 1)
}

function textWidth(text: string): number {
  return text.length * characterWidth
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}
