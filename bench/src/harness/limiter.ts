/**
 * Runs `task(0)` … `task(count - 1)` with at most `concurrency` in flight, as a pool of workers that each take the next
 * index: the cheapest correct limiter, used by the subjects whose library has none (the raw SDK, the AI SDK).
 * Rejects with the first error, like `Promise.all`.
 */
export async function mapWithConcurrency<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++
      results[index] = await task(index)
    }
  }
  const workers: Promise<void>[] = []
  for (let index = 0; index < Math.min(concurrency, count); index++) workers.push(worker())
  await Promise.all(workers)
  return results
}
