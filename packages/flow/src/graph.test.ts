import { defineFunction } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { Chain } from './chain.js'
import { Decision } from './decision.js'
import { describeGraph } from './graph.js'
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
})
