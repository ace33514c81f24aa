import type { RepetitionPlan } from './scenario.ts'
import { waitForTurn } from './turns.ts'

const collectGarbage: (() => void) | undefined = (globalThis as { gc?: () => void }).gc

/**
 * Runs a full GC when the process was started with `--expose-gc` (every measuring child is), so one repetition's
 * garbage is not collected on the next one's clock.
 */
export function settleGarbage(): void {
  if (collectGarbage === undefined) return
  collectGarbage()
  collectGarbage()
}

/** Whether `gc()` is exposed; memory measurements refuse to run without it. */
export function canCollectGarbage(): boolean {
  return collectGarbage !== undefined
}

/** Options of {@link timeIterations}. */
export interface TimeIterationsOptions {
  readonly plan: RepetitionPlan
  /** One repetition runs `iteration` often enough to last at least this long (calibrated once, then fixed). */
  readonly minRepetitionMs: number
  /** The work being timed: one invocation of the thing under test. */
  readonly iteration: () => Promise<unknown>
}

/**
 * Per measured repetition, the mean ms of one iteration — wall time, and CPU time (user + system) of this process,
 * which other load on the machine disturbs far less — and the fixed iteration count used for every repetition.
 */
export interface TimedIterations {
  readonly msPerIteration: number[]
  readonly cpuMsPerIteration: number[]
  readonly iterationsPerRepetition: number
}

/**
 * Times a short operation: calibrates how many iterations make one repetition last `minRepetitionMs`, runs the
 * warm-up repetitions, then the measured ones, each in its turn, collecting garbage between repetitions.
 */
export async function timeIterations(options: TimeIterationsOptions): Promise<TimedIterations> {
  const { plan, minRepetitionMs, iteration } = options
  let iterations = 1
  for (;;) {
    const elapsed = await timeRepetition(iteration, iterations)
    if (elapsed >= minRepetitionMs / 4 || iterations >= 1 << 24) {
      iterations = Math.max(1, Math.ceil((iterations * minRepetitionMs) / Math.max(elapsed, 1e-3)))
      break
    }
    iterations *= 4
  }
  for (let warm = 0; warm < plan.warmup; warm++) {
    settleGarbage()
    await timeRepetition(iteration, iterations)
  }
  const msPerIteration: number[] = []
  const cpuMsPerIteration: number[] = []
  for (let repetition = 0; repetition < plan.repetitions; repetition++) {
    await waitForTurn()
    settleGarbage()
    const cpu = process.cpuUsage()
    msPerIteration.push((await timeRepetition(iteration, iterations)) / iterations)
    const used = process.cpuUsage(cpu)
    cpuMsPerIteration.push((used.user + used.system) / 1000 / iterations)
  }
  return { msPerIteration, cpuMsPerIteration, iterationsPerRepetition: iterations }
}

async function timeRepetition(iteration: () => Promise<unknown>, iterations: number): Promise<number> {
  const start = performance.now()
  for (let index = 0; index < iterations; index++) await iteration()
  return performance.now() - start
}

/**
 * Runs `repetition` for the warm-up and then the measured repetitions, each measured one in its turn (subjects of a case
 * take turns: A B A B …) (each is long enough on its own, e.g. 10,000
 * HTTP calls), collecting garbage in between; returns what each measured repetition returned.
 */
export async function repeat<T>(plan: RepetitionPlan, repetition: (index: number) => Promise<T>): Promise<T[]> {
  for (let warm = 0; warm < plan.warmup; warm++) {
    settleGarbage()
    await repetition(-1 - warm)
  }
  const results: T[] = []
  for (let index = 0; index < plan.repetitions; index++) {
    await waitForTurn()
    settleGarbage()
    results.push(await repetition(index))
  }
  return results
}

/** Throws when a subject's result is not what the work should have produced: a benchmark that computes nothing lies. */
export function assertEqual(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`)
}
