import { describe, expect, it } from 'vitest'
import { pickLatencyMs } from './latency.js'
import { createSeededRandom } from './seeded-random.js'

describe('pickLatencyMs', () => {
  it('returns a fixed latency as is and none as zero', () => {
    const random = createSeededRandom(1)
    expect(pickLatencyMs(25, random)).toBe(25)
    expect(pickLatencyMs(undefined, random)).toBe(0)
  })

  it('draws a range uniformly and reproducibly from the seed', () => {
    const draw = (seed: number) => {
      const random = createSeededRandom(seed)
      return Array.from({ length: 200 }, () => pickLatencyMs({ minMs: 10, maxMs: 20 }, random))
    }
    const values = draw(7)
    expect(draw(7)).toEqual(values)
    expect(draw(8)).not.toEqual(values)
    expect(Math.min(...values)).toBeGreaterThanOrEqual(10)
    expect(Math.max(...values)).toBeLessThan(20)
    expect(values.some((value) => value < 12)).toBe(true)
    expect(values.some((value) => value > 18)).toBe(true)
  })
})
