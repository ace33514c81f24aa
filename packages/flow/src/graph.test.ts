import { ConfigurationError, defineFunction, type FunctionNode } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { growingList, Pipeline } from './__fixtures__/helpers.js'
import { Chain } from './chain.js'
import { Decision } from './decision.js'
import { describeGraph } from './graph.js'
import { lifecycleToMermaid, toMermaid } from './mermaid.js'
import { Parallel } from './parallel.js'

const step = (name: string) => defineFunction({ name, run: (input: unknown) => input })

describe('describeGraph', () => {
  it('connects a chain’s children in order and a decision to each branch with its choice', () => {
    const decision = new Decision({
      name: 'route',
      decide: () => 'a',
      branches: { a: step('A'), b: new Chain({ name: 'B', children: [step('B1'), step('B2')] }) },
    })
    const graph = describeGraph(new Chain({ name: 'root', children: [step('start'), decision, step('end')] }))
    expect(graph.root).toBe('n0')
    expect(graph.nodes.map(({ id, name, kind, parent, group }) => [id, name, kind, parent, group])).toEqual([
      ['n0', 'root', 'chain', undefined, true],
      ['n1', 'start', 'function', 'n0', false],
      ['n2', 'route', 'decision', 'n0', false],
      ['n3', 'A', 'function', 'n0', false],
      ['n4', 'B', 'chain', 'n0', true],
      ['n5', 'B1', 'function', 'n4', false],
      ['n6', 'B2', 'function', 'n4', false],
      ['n7', 'end', 'function', 'n0', false],
    ])
    expect(graph.nodes[2]?.choices).toEqual(['a', 'b'])
    expect(graph.edges).toEqual([
      { from: 'n2', to: 'n3', label: 'a' },
      { from: 'n5', to: 'n6' },
      { from: 'n2', to: 'n5', label: 'b' },
      { from: 'n1', to: 'n2' },
      { from: 'n3', to: 'n7' },
      { from: 'n6', to: 'n7' },
    ])
  })

  it('draws a parallel as a group its neighbours connect to as a whole', () => {
    const parallel = new Parallel({ name: 'fan', children: [step('x'), step('y')] })
    const graph = describeGraph(new Chain({ name: 'root', children: [step('in'), parallel, step('out')] }))
    expect(graph.nodes.map((node) => [node.id, node.name, node.parent])).toEqual([
      ['n0', 'root', undefined],
      ['n1', 'in', 'n0'],
      ['n2', 'fan', 'n0'],
      ['n3', 'x', 'n2'],
      ['n4', 'y', 'n2'],
      ['n5', 'out', 'n0'],
    ])
    expect(graph.edges).toEqual([
      { from: 'n1', to: 'n2' },
      { from: 'n2', to: 'n5' },
    ])
  })

  it('gives repeated names and reused Functions distinct ids', () => {
    const same = step('same')
    const graph = describeGraph(new Chain({ name: 'same', children: [same, same, step('same')] }))
    expect(graph.nodes.map((node) => node.id)).toEqual(['n0', 'n1', 'n2', 'n3'])
    expect(graph.edges).toEqual([
      { from: 'n1', to: 'n2' },
      { from: 'n2', to: 'n3' },
    ])
  })

  it('accepts a node description, and marks the map form', () => {
    const graph = describeGraph(new Parallel({ name: 'each', map: step('item') }).describe())
    expect(graph.nodes[0]).toMatchObject({ name: 'each', kind: 'parallel', group: true, map: true })
    expect(describeGraph(step('alone'))).toEqual({
      root: 'n0',
      nodes: [{ id: 'n0', name: 'alone', kind: 'function', parent: undefined, group: false }],
      edges: [],
    })
  })

  it('draws a combinator of your own that describes itself as a sequence exactly like a Chain', async () => {
    const steps = [step('a'), step('b'), step('c')]
    const pipeline = new Pipeline('mine', steps)
    expect(await pipeline.invoke(1)).toBe(1)
    const around = (middle: Pipeline | Chain) =>
      new Chain({ name: 'root', children: [step('in'), middle, step('out')] })
    const custom = describeGraph(around(pipeline))
    const chain = describeGraph(around(new Chain({ name: 'mine', children: steps })))
    expect(custom.edges).toEqual(chain.edges)
    expect(custom.edges).toEqual([
      { from: 'n3', to: 'n4' },
      { from: 'n4', to: 'n5' },
      { from: 'n1', to: 'n3' },
      { from: 'n5', to: 'n6' },
    ])
    expect(custom.nodes[2]).toEqual({
      id: 'n2',
      name: 'mine',
      kind: 'pipeline',
      parent: 'n0',
      layout: 'sequence',
      group: true,
    })
    expect(custom.nodes).toEqual(chain.nodes.map((node) => (node.id === 'n2' ? { ...node, kind: 'pipeline' } : node)))
  })

  it('decides how to draw from the layout alone, never from the kind', () => {
    const leaf = (name: string) => ({ kind: 'function', name })
    const notLinked = describeGraph({ kind: 'chain', name: 'bag', layout: 'group', children: [leaf('x'), leaf('y')] })
    expect(notLinked.edges).toEqual([])
    expect(notLinked.nodes.map((node) => [node.name, node.parent, node.group])).toEqual([
      ['bag', undefined, true],
      ['x', 'n0', false],
      ['y', 'n0', false],
    ])
    expect(describeGraph({ kind: 'decision', name: 'plain' }).nodes).toEqual([
      { id: 'n0', name: 'plain', kind: 'decision', parent: undefined, group: false },
    ])
    const routed = describeGraph({
      kind: 'router',
      name: 'route',
      layout: 'choice',
      branches: [
        { choice: 'left', node: leaf('L') },
        { choice: 'stay', node: undefined },
      ],
    })
    expect(routed.nodes[0]).toMatchObject({ name: 'route', layout: 'choice', group: false, choices: ['left', 'stay'] })
    expect(routed.edges).toEqual([{ from: 'n0', to: 'n1', label: 'left' }])
  })

  it('draws a node with children but no layout as a group, and one without children as a box', () => {
    const untold = describeGraph({ kind: 'prompt', name: 'p', children: [{ kind: 'function', name: 'part' }] })
    expect(untold.nodes[0]).toMatchObject({ layout: 'group', group: true })
    expect(untold.nodes[1]).toMatchObject({ parent: 'n0' })
    const empty = describeGraph({ kind: 'pipeline', name: 'empty', layout: 'sequence', children: [] })
    expect(empty.nodes).toEqual([
      { id: 'n0', name: 'empty', kind: 'pipeline', parent: undefined, layout: 'sequence', group: false },
    ])
  })
})

describe('describeGraph and toMermaid on lists whose length grows as it is read', () => {
  it('read each length once, so such a list cannot keep them drawing', () => {
    const leaf = { kind: 'function', name: 'leaf' }
    const group = { kind: 'parallel', name: 'g', layout: 'group', children: growingList(() => leaf) } as FunctionNode
    expect(describeGraph(group).nodes.map((node) => node.name)).toEqual(['g', 'leaf', 'leaf'])
    const sequence = { kind: 'chain', name: 's', layout: 'sequence', children: growingList(() => leaf) } as FunctionNode
    expect(describeGraph(sequence).edges).toEqual([{ from: 'n1', to: 'n2' }])
    const branches = growingList((index) => ({ choice: `c${index}`, node: leaf }))
    const choice = { kind: 'decision', name: 'd', layout: 'choice', branches } as FunctionNode
    expect(describeGraph(choice).edges.map((edge) => edge.label)).toEqual(['c0', 'c1'])

    const graph = {
      root: 'n0',
      nodes: growingList((index) => ({ id: `n${index}`, name: `node ${index}`, kind: 'function', group: false })),
      edges: growingList(() => ({ from: 'n0', to: 'n1' })),
    }
    expect(toMermaid(graph as never).split('\n')).toEqual([
      'flowchart TD',
      '  n0["node 0"]',
      '  n1["node 1"]',
      '  n0 --> n1',
      '  n0 --> n1',
    ])
    const states = growingList(() => ({ state: 'running', at: 0, attempt: 1 }))
    expect(lifecycleToMermaid({ status: 'succeeded', states } as never)).toContain('class running visited')
  })
})

describe('describeGraph and toMermaid on what is not a graph node', () => {
  it('refuse it with a ConfigurationError naming where it is, instead of a TypeError', () => {
    const throwing = {
      describe: (): FunctionNode => {
        throw new Error('no node')
      },
    }
    for (const [source, message] of [
      [null, 'describeGraph: source must be a graph node { kind, name, … }, as describe() returns, got null'],
      [{ describe: () => undefined }, 'describeGraph: source must be a graph node'],
      [
        { kind: 'chain', name: 'c', layout: 'sequence', children: [{ kind: 'function', name: 'a' }, null] },
        'describeGraph: source.children[1] must be a graph node',
      ],
      [
        { kind: 'decision', name: 'd', layout: 'choice', branches: [{ choice: 7 }] },
        'describeGraph: source.branches[0] must be a branch { choice, node? }, got',
      ],
      [throwing, 'describeGraph: source could not be read: Error: no node'],
    ] as const) {
      for (const draw of [describeGraph, toMermaid]) {
        let thrown: unknown
        try {
          draw(source as never)
        } catch (error) {
          thrown = error
        }
        expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
        expect((thrown as Error).message).toContain(message)
      }
    }
  })

  it('refuse a node whose layout is none of sequence, choice and group, rather than draw its children in order', () => {
    const children = [
      { kind: 'function', name: 'a' },
      { kind: 'function', name: 'b' },
    ]
    for (const [layout, got] of [
      ['groups', '"groups"'],
      ['Sequence', '"Sequence"'],
      [42, '42'],
      [null, 'null'],
    ] as const) {
      const fan = {
        kind: 'chain',
        name: 'outer',
        layout: 'sequence',
        children: [{ kind: 'fan', name: 'fan', layout, children }],
      }
      for (const draw of [describeGraph, toMermaid]) {
        let thrown: unknown
        try {
          draw(fan as never)
        } catch (error) {
          thrown = error
        }
        expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
        expect((thrown as Error).message).toBe(
          `describeGraph: source.children[0].layout must be one of 'sequence', 'choice', 'group', got ${got}`,
        )
      }
    }
  })

  it('refuse a node whose parts throw when read, at any depth, and a node that contains itself', () => {
    const unreadable = {
      kind: 'chain',
      name: 'c',
      layout: 'sequence',
      children: [
        {
          kind: 'function',
          get name(): string {
            throw new Error('no name')
          },
        },
      ],
    }
    const cyclic: { kind: string; name: string; layout: 'sequence'; children: unknown[] } = {
      kind: 'chain',
      name: 'c',
      layout: 'sequence',
      children: [],
    }
    cyclic.children.push({ kind: 'chain', name: 'inner', layout: 'sequence', children: [cyclic] })
    for (const [source, message] of [
      [unreadable, 'describeGraph: source could not be read: Error: no name'],
      [cyclic, 'describeGraph: source.children[0].children[0] must be a graph node that does not contain itself'],
    ] as const) {
      for (const draw of [describeGraph, toMermaid]) {
        let thrown: unknown
        try {
          draw(source as never)
        } catch (error) {
          thrown = error
        }
        expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
        expect((thrown as Error).message).toContain(message)
      }
    }
    // The same node twice side by side is not a cycle: it is drawn twice.
    const leaf = { kind: 'function', name: 'leaf' }
    expect(describeGraph({ kind: 'chain', name: 'c', layout: 'sequence', children: [leaf, leaf] }).nodes).toHaveLength(
      3,
    )
  })

  it('describe a Decision whose branch is a Decision of 200,000 choices: wide, not nested too deep', () => {
    const leaf = step('leaf')
    const choices = Array.from({ length: 200_000 }, (_, index) => `c${index}`)
    const inner = new Decision({
      name: 'inner',
      decide: () => 'c0',
      branches: Object.fromEntries(choices.map((choice) => [choice, leaf])),
    })
    const outer = new Decision({ name: 'outer', decide: () => 'a', branches: { a: inner, b: leaf } })
    const graph = describeGraph(outer)
    // outer, inner, inner's 200,000 leaves and outer's leaf b.
    expect(graph.nodes).toHaveLength(200_003)
    expect(graph.edges).toHaveLength(200_002)
  })

  it('refuse a node nested deeper than 1,000 levels with a ConfigurationError saying so, not a stack overflow', () => {
    const nested = (depth: number): FunctionNode => {
      let node: FunctionNode = { kind: 'function', name: 'leaf' }
      for (let level = 0; level < depth; level++)
        node = { kind: 'chain', name: 'c', layout: 'sequence', children: [node] }
      return node
    }
    for (const draw of [describeGraph, toMermaid]) {
      let thrown: unknown
      try {
        draw(nested(20_000))
      } catch (error) {
        thrown = error
      }
      expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
      expect((thrown as Error).message).toBe(
        'describeGraph: source is nested more than 1000 levels deep, deeper than a graph is drawn',
      )
      expect((thrown as Error).cause).toBeUndefined()
    }
    // Composed of Functions, each describe() describing its children: the stack runs out before a node is drawn.
    let chain: Chain<never> = new Chain({ name: 'c', children: [step('leaf')] }) as never
    for (let level = 0; level < 20_000; level++) chain = new Chain({ name: 'c', children: [chain] }) as never
    let thrown: unknown
    try {
      describeGraph(chain)
    } catch (error) {
      thrown = error
    }
    expect(ConfigurationError.isInstance(thrown), String(thrown)).toBe(true)
    expect((thrown as Error).message).toBe(
      'describeGraph: source is nested more than 1000 levels deep, deeper than a graph is drawn',
    )
    expect(describeGraph(nested(999)).nodes).toHaveLength(1_000)
    expect(toMermaid(nested(999))).toContain('leaf')
  })
})
