import { defineFunction, MemoryJournal, type RunContext } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { Chain } from './chain.js'
import { Decision } from './decision.js'
import { Parallel } from './parallel.js'

/** A durable step that records the path it ran at, and counts its real runs. */
function step(name: string, ran: string[]) {
  return defineFunction({
    name,
    durable: true,
    run: (input: unknown, context: RunContext) => {
      ran.push(context.stepPath)
      return `${name}(${JSON.stringify(input)})`
    },
  })
}

describe('combinators key their children by position', () => {
  const ran: string[] = []
  const pipeline = new Chain({
    name: 'pipeline',
    children: [
      defineFunction({
        name: 'split',
        durable: true,
        run: (text: string, context: RunContext) => {
          ran.push(context.stepPath)
          return [`${text} a`, `${text} b`]
        },
      }),
      new Parallel({ name: 'each', map: step('item', ran) }),
      new Decision({
        name: 'route',
        decide: () => 'bad',
        branches: {
          good: step('approve', ran),
          bad: new Parallel({ name: 'fan', children: { email: step('email', ran), review: step('review', ran) } }),
        },
      }),
    ],
  })
  const input = 'application'

  it('as a Chain index, a Decision choice, a Parallel key and a map index', async () => {
    ran.length = 0
    const fanned = new Parallel({ name: 'wrap', map: pipeline })
    await fanned.invoke([input], { runId: 'batch' })
    expect(ran.sort()).toEqual(['0/0', '0/1/0', '0/1/1', '0/2/bad/email', '0/2/bad/review'])
  })

  it('so a re-run with the same run id and journal replays every durable step and runs none', async () => {
    ran.length = 0
    const journal = new MemoryJournal()
    const first = await pipeline.invoke(input, { runId: 'application-1', journal })
    const runsBefore = ran.length
    const second = await pipeline.invoke(input, { runId: 'application-1', journal })
    expect(second).toEqual(first)
    expect(runsBefore).toBe(5)
    expect(ran).toHaveLength(5)
  })
})
