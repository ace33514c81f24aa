// A producer process of the distributed tests: submits a batch and reports progress until its parent kills it.
import { BullMQExecutor } from '@tinyllm/bullmq'
import { applications, creditGraph } from './credit-graph.ts'

const config = JSON.parse(process.argv[2] ?? '{}') as {
  readonly redisUrl: string
  readonly queue: string
  readonly baseURL: string
  readonly count: number
  readonly runIdPrefix: string
}
const executor = new BullMQExecutor({ connection: config.redisUrl, queue: config.queue, pollIntervalMs: 500 })
const graph = creditGraph({ baseURL: config.baseURL, worker: 'producer' })
const inputs = applications(config.count)
await executor.map(graph, inputs, {
  runIds: inputs.map((application) => `${config.runIdPrefix}${application.id}`),
  onProgress: ({ settled }) => process.send?.({ type: 'progress', settled }),
})
process.send?.({ type: 'done' })
