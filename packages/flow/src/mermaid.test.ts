import { ConfigurationError, defineFunction, functionLifecycle } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { Pipeline } from './__fixtures__/helpers.js'
import { Chain } from './chain.js'
import { Decision } from './decision.js'
import { describeGraph } from './graph.js'
import { escapeMermaid, lifecycleToMermaid, toMermaid } from './mermaid.js'
import { Parallel } from './parallel.js'

const step = (name: string) => defineFunction({ name, run: (input: unknown) => input })
const listOf = (name: string) => defineFunction({ name, run: (input: unknown) => [input] })

describe('toMermaid', () => {
  it('draws boxes, diamonds with labelled edges, and groups', () => {
    const graph = toMermaid(
      new Chain({
        name: 'root',
        children: [
          new Decision({ name: 'route', decide: () => 'a', branches: { a: listOf('A'), b: listOf('B') } }),
          new Parallel({ name: 'each', map: step('item') }),
        ],
      }),
      { direction: 'LR' },
    )
    expect(graph).toBe(
      [
        'flowchart LR',
        '  subgraph n0["root (chain)"]',
        '    n1{"route"}',
        '    n2["A"]',
        '    n3["B"]',
        '    subgraph n4["each (parallel map)"]',
        '      n5["item"]',
        '    end',
        '  end',
        '  n1 -->|"a"| n2',
        '  n1 -->|"b"| n3',
        '  n2 --> n4',
        '  n3 --> n4',
      ].join('\n'),
    )
  })

  it('shows the choices of a decision that does not route', () => {
    const graph = toMermaid(new Decision({ name: 'classify', choices: ['good', 'bad'], decide: () => 'good' }))
    expect(graph).toBe('flowchart TD\n  n0{"classify (good / bad)"}')
  })

  it('escapes every label, so no name can break the diagram', () => {
    const hostile = 'say "hi" <b>#1</b> | a;b & `c`\nnext'
    const graph = toMermaid(
      new Decision({ name: hostile, decide: () => 'x', branches: { [hostile]: step(hostile), plain: step('end') } }),
    )
    expect(escapeMermaid(hostile)).toBe('say #quot;hi#quot; #60;b#62;#35;1#60;/b#62; #124; a#59;b #38; #96;c#96; next')
    const escaped = escapeMermaid(hostile)
    expect(graph).toBe(
      [
        'flowchart TD',
        `  n0{"${escaped}"}`,
        `  n1["${escaped}"]`,
        '  n2["end"]',
        `  n0 -->|"${escaped}"| n1`,
        '  n0 -->|"plain"| n2',
      ].join('\n'),
    )
    for (const line of graph.split('\n').slice(1)) expect(line.match(/"/g)?.length ?? 0).toBe(2)
  })

  it('escapes % in names and labels, so no name can start a Mermaid directive or comment', () => {
    const directive = '%%{init: {"theme": "dark", "securityLevel": "loose"}}%%'
    const graph = toMermaid(
      new Decision({ name: `a%%b ${directive}`, decide: () => 'x', branches: { [`%%${directive}`]: step('%% c') } }),
    )
    expect(escapeMermaid('50% off')).toBe('50#37; off')
    expect(graph).not.toContain('%')
    expect(graph).toContain('n0{"a#37;#37;b #37;#37;{init: {#quot;theme#quot;: #quot;dark#quot;')
    expect(graph).toContain('n1["#37;#37; c"]')
  })

  it('writes the control characters a name holds as escapes, so a diagram printed to a terminal writes no escape', () => {
    const graph = toMermaid(
      new Chain({ name: 'c\u0000', children: [step('a\u001b[31mred\u0007'), step('b\u009b2J\u000b')] }),
    )
    // C0 and C1 controls (ESC, BEL, NUL, CSI, VT) are written as \uXXXX, as a run tree writes them.
    const controls = [...graph].filter((character) => {
      const code = character.charCodeAt(0)
      return (code < 0x20 && character !== '\n') || (code >= 0x7f && code <= 0x9f)
    })
    expect(controls).toEqual([])
    expect(graph).toContain('n1["a\\u001b[31mred\\u0007"]')
    expect(graph).toContain('"c\\u0000 (chain)"')
    expect(escapeMermaid('tab\there')).toBe('tab\\there')
  })

  it('never writes a secret a name or label holds, as a run tree does not', () => {
    const key = `sk-proj-${'a1B2c3D4'.repeat(6)}`
    const graph = toMermaid(
      new Decision({ name: `route ${key}`, decide: () => 'x', branches: { [`use ${key}`]: step(`call ${key}`) } }),
    )
    expect(graph).not.toContain(key)
    expect(graph).not.toContain('a1B2c3D4')
    expect(graph).toContain('n0{"route [REDACTED]"}')
    expect(graph).toContain('n1["call [REDACTED]"]')
    expect(graph).toContain('n0 -->|"use [REDACTED]"| n1')
    expect(escapeMermaid(`token=${key}`)).not.toContain('a1B2c3D4')
  })

  it('escapeMermaid refuses text that is not a string with a ConfigurationError, not a TypeError', () => {
    for (const text of [null, undefined, 5, { toString: () => 'x' }]) {
      expect(() => escapeMermaid(text as never)).toThrow(ConfigurationError)
      expect(() => escapeMermaid(text as never)).toThrow('escapeMermaid: text must be a string, got ')
    }
  })

  it('refuses a direction it does not know, and an unknown option, rather than write them into the diagram', () => {
    const one = step('step')
    expect(toMermaid(one, { direction: 'LR' }).split('\n')[0]).toBe('flowchart LR')
    const injected = () => toMermaid(one, { direction: 'LR\nclick n0 href "javascript:alert(1)"' as never })
    expect(injected).toThrow(ConfigurationError)
    expect(injected).toThrow(/^toMermaid: direction must be one of 'TD', 'TB', 'BT', 'LR', 'RL', got "LR\\nclick/)
    expect(() => toMermaid(one, { directon: 'LR' } as never)).toThrow(
      'toMermaid: directon is not an option; did you mean direction? (known: direction)',
    )
    // Options whose reading throws are bad options too, not the thrown error.
    const unreadable = {
      get direction(): never {
        throw new Error('direction getter')
      },
    }
    expect(() => toMermaid(one, unreadable)).toThrow(ConfigurationError)
    expect(() => toMermaid(one, unreadable)).toThrow('toMermaid: options could not be read: Error: direction getter')
    expect(() => toMermaid(one, null as never)).toThrow(ConfigurationError)
  })

  it('draws a combinator of your own with the sequence layout like a Chain', () => {
    const steps = [step('a'), step('b')]
    const custom = toMermaid(new Pipeline('mine', steps))
    expect(custom).toBe(toMermaid(new Chain({ name: 'mine', children: steps })).replace('(chain)', '(pipeline)'))
    expect(custom).toBe(
      ['flowchart TD', '  subgraph n0["mine (pipeline)"]', '    n1["a"]', '    n2["b"]', '  end', '  n1 --> n2'].join(
        '\n',
      ),
    )
  })

  it('draws a Function by its describe(), even one with nodes and edges fields of its own', () => {
    /** A combinator of your own that keeps its steps as `nodes` and its links as `edges`: a Function, not a graph. */
    class Graph extends Pipeline {
      readonly nodes = this.steps
      readonly edges: ReadonlyArray<readonly [number, number]> = [[0, 1]]
    }
    const steps = [step('a'), step('b')]
    expect(toMermaid(new Graph('mine', steps))).toBe(toMermaid(new Pipeline('mine', steps)))
  })

  it('draws diamonds and boxes by layout, whatever the kind', () => {
    const graph = toMermaid({
      kind: 'router',
      name: 'route',
      layout: 'choice',
      branches: [{ choice: 'go', node: { kind: 'decision', name: 'not a diamond' } }],
    })
    expect(graph).toBe(['flowchart TD', '  n0{"route"}', '  n1["not a diamond"]', '  n0 -->|"go"| n1'].join('\n'))
    expect(toMermaid({ kind: 'llm-call', name: 'chat' })).toBe('flowchart TD\n  n0["chat"]')
  })

  it('accepts a described graph as well as a Function', () => {
    const chain = new Chain({ name: 'c', children: [step('a'), step('b')] })
    expect(toMermaid(chain.describe())).toBe(toMermaid(chain))
    expect(toMermaid(describeGraph(chain))).toBe(toMermaid(chain))
  })

  it('refuses a graph whose ids would be written into the diagram as code, naming where', () => {
    const graph = JSON.parse(JSON.stringify(describeGraph(new Chain({ name: 'c', children: [step('a'), step('b')] }))))
    const injected = 'n1"]\nclick n1 href "javascript:alert(1)"'
    for (const [change, path] of [
      [(copy: typeof graph) => (copy.nodes[1].id = injected), 'source.nodes[1].id'],
      [(copy: typeof graph) => (copy.edges[0].to = injected), 'source.edges[0].to'],
      [(copy: typeof graph) => (copy.nodes[2].name = 7), 'source.nodes[2]'],
      // A group holding a node of its own id would be drawn inside itself without end.
      [(copy: typeof graph) => (copy.nodes[1].id = 'n0'), 'source.nodes[1].id'],
      [(copy: typeof graph) => (copy.nodes[1].choices = [{ toString: () => 'x' }]), 'source.nodes[1].choices'],
      // Mermaid keywords: `end` closes the subgraph, `style` and `click` start statements.
      [(copy: typeof graph) => (copy.nodes[1].id = 'end'), 'source.nodes[1].id'],
      [(copy: typeof graph) => (copy.nodes[2].parent = 'subgraph'), 'source.nodes[2].parent'],
      [(copy: typeof graph) => (copy.edges[0].from = 'style'), 'source.edges[0].from'],
      [(copy: typeof graph) => (copy.edges[0].to = 'click'), 'source.edges[0].to'],
    ] as const) {
      const copy = structuredClone(graph)
      change(copy)
      let thrown: unknown
      try {
        toMermaid(copy)
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
      expect((thrown as Error).message).toContain(`toMermaid: ${path} must be`)
    }
  })

  it('refuses a given graph that would lose a node or draw one it does not hold, naming where', () => {
    const graph = JSON.parse(JSON.stringify(describeGraph(new Chain({ name: 'c', children: [step('a'), step('b')] }))))
    // As described, every node is drawn once and every edge joins two of them.
    expect(toMermaid(graph)).toBe(toMermaid(new Chain({ name: 'c', children: [step('a'), step('b')] })))
    for (const [change, message] of [
      // A parent that is no node of the graph: the node would be left out of the diagram.
      [(copy: typeof graph) => (copy.nodes[2].parent = 'n9'), 'source.nodes[2].parent must be the id of a node'],
      // A parent that is not a group: only groups are drawn around what they hold.
      [(copy: typeof graph) => (copy.nodes[2].parent = 'n1'), 'source.nodes[2].parent must be the id of a group'],
      // Groups inside each other in a ring: neither is under a root, so neither would be drawn.
      [
        (copy: typeof graph) => {
          copy.nodes.push({ id: 'x', name: 'x', kind: 'chain', parent: 'y', group: true })
          copy.nodes.push({ id: 'y', name: 'y', kind: 'chain', parent: 'x', group: true })
        },
        'source.nodes[3].parent must be a group under a node without a parent, not in a ring of groups',
      ],
      // An edge to an id no node has: Mermaid would draw a node the graph does not hold.
      [(copy: typeof graph) => (copy.edges[0].to = 'n9'), 'source.edges[0].to must be the id of a node'],
      [(copy: typeof graph) => (copy.edges[0].from = 'ghost'), 'source.edges[0].from must be the id of a node'],
    ] as const) {
      const copy = structuredClone(graph)
      change(copy)
      let thrown: unknown
      try {
        toMermaid(copy)
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
      expect((thrown as Error).message).toContain(`toMermaid: ${message}`)
    }
  })

  it('refuses a given graph whose groups nest deeper than 1,000 levels with a ConfigurationError, not a stack overflow', () => {
    const nested = (depth: number) => ({
      root: 'n0',
      nodes: Array.from({ length: depth }, (_, index) => ({
        id: `n${index}`,
        name: 'c',
        kind: 'chain',
        group: index < depth - 1,
        parent: index === 0 ? undefined : `n${index - 1}`,
      })),
      edges: [],
    })
    let thrown: unknown
    try {
      toMermaid(nested(50_000))
    } catch (error) {
      thrown = error
    }
    expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
    expect((thrown as Error).message).toBe(
      'toMermaid: source is nested more than 1000 levels deep, deeper than a graph is drawn',
    )
    // As deep as describeGraph describes: 999 groups around a leaf.
    expect(toMermaid(nested(1_000)).split('\n')).toHaveLength(1 + 999 + 1 + 999)
  })

  it('draws what it checked: a getter cannot answer a plain id to the check and code to the diagram', () => {
    let reads = 0
    const node = {
      get id(): string {
        reads += 1
        return reads === 1 ? 'a' : 'a["x"]\n  click a href "javascript:alert(1)"'
      },
      name: 'A',
      kind: 'function',
      parent: undefined,
      group: false,
    }
    const diagram = toMermaid({ root: 'a', nodes: [node], edges: [] })
    expect(diagram).toBe('flowchart TD\n  a["A"]')
    expect(reads).toBe(1)
  })
})

/**
 * A sparse list as long as a list can be, holding `items` first. Walking it whole (`forEach`, `every` and `map` ask of
 * every index whether it is there) throws past the thousandth question: a stand-in for the minutes a real one takes.
 */
function endless(items: unknown[]): unknown[] {
  let asked = 0
  return new Proxy(Object.assign([...items], { length: 2 ** 32 - 1 }), {
    has: (target, key) => {
      if (++asked > 1_000) throw new Error('walked the holes')
      return Reflect.has(target, key)
    },
  })
}

describe('toMermaid and lifecycleToMermaid on a sparse list as long as a list can be', () => {
  const refusal = (draw: () => unknown): string => {
    try {
      draw()
    } catch (error) {
      expect(ConfigurationError.isInstance(error)).toBe(true)
      return (error as Error).message
    }
    return 'drawn'
  }

  it('refuse it at its first hole, naming where', () => {
    const node = { id: 'n0', name: 'x', kind: 'function' }
    expect(refusal(() => toMermaid({ nodes: endless([node]), edges: [] } as never))).toBe(
      'toMermaid: source.nodes[1].id must be a plain word (letters, digits, _ and -) that is no Mermaid keyword, got undefined',
    )
    const choice = { ...node, layout: 'choice', choices: endless(['yes']) }
    expect(refusal(() => toMermaid({ nodes: [choice], edges: [] } as never))).toMatch(
      /^toMermaid: source\.nodes\[0\]\.choices must be a list of strings, got/,
    )
    const edge = { from: 'n0', to: 'n0' }
    expect(refusal(() => toMermaid({ nodes: [node], edges: endless([edge]) } as never))).toBe(
      'toMermaid: source.edges[1].from must be a node id, got undefined',
    )
    const states = endless([{ state: 'init', at: 0, attempt: 0 }])
    expect(refusal(() => lifecycleToMermaid({ status: 'complete', states } as never))).toBe(
      'lifecycleToMermaid: record.states[1] must be a state entry { state, at, attempt }, got undefined',
    )
    const branches = endless([{ choice: 'yes' }])
    expect(refusal(() => toMermaid({ kind: 'decision', name: 'd', layout: 'choice', branches } as never))).toBe(
      'describeGraph: source.branches[1] must be a branch { choice, node? }, got undefined',
    )
  })
})

describe('lifecycleToMermaid', () => {
  it('is the Function lifecycle as a Mermaid state diagram', () => {
    const diagram = lifecycleToMermaid()
    expect(diagram).toBe(functionLifecycle.toMermaid())
    expect(diagram.split('\n').slice(0, 4)).toEqual([
      'stateDiagram-v2',
      '  [*] --> init',
      '  init --> input_validation',
      '  init --> failed',
    ])
    expect(diagram).toContain('  running --> retrying')
    expect(diagram).toContain('  complete --> [*]')
  })

  it('highlights the states a run visited', async () => {
    const record = await step('s').trace(1)
    const diagram = lifecycleToMermaid(record)
    expect(diagram.startsWith(functionLifecycle.toMermaid())).toBe(true)
    expect(diagram).toContain(
      '  class init,input_validation,running,output_validation,processing_output,complete visited',
    )
    expect(diagram).toContain('  classDef visited fill:#e3f5e1,stroke:#2e7d32')
  })

  it('draws only lifecycle states from a record read back from JSON, and refuses what is not a record', async () => {
    const record = JSON.parse(JSON.stringify(await step('s').trace(1)))
    record.states.push({ state: 'running\nclick init href "javascript:alert(1)"', at: 0 })
    const diagram = lifecycleToMermaid(record)
    expect(diagram).not.toContain('click')
    expect(
      diagram.endsWith('  class init,input_validation,running,output_validation,processing_output,complete visited'),
    ).toBe(true)
    for (const bad of [{}, null, { states: 'running' }]) {
      let thrown: unknown
      try {
        lifecycleToMermaid(bad as never)
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
      expect((thrown as Error).message).toContain('lifecycleToMermaid: record')
    }
  })
})
