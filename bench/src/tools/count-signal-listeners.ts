// How many abort listeners an AbortSignal already holds each time one more is added during a fail-fast fan-out of
// OpenAIChat calls (Node's EventTarget walks that list on every add and remove, so it is the cost of each add).
//
//   node --expose-gc src/tools/count-signal-listeners.ts [calls=10000] [concurrency=256,1024]
import { getEventListeners } from 'node:events'
import { startServerProcess } from '../harness/loopback-server.ts'

const calls = Number(process.argv[2] ?? '10000')
const concurrencies = (process.argv[3] ?? '256,1024').split(',').map(Number)

let adds = 0
let listenersSeen = 0
let most = 0
const original = EventTarget.prototype.addEventListener
EventTarget.prototype.addEventListener = function (
  this: EventTarget,
  ...[type, listener, options]: Parameters<EventTarget['addEventListener']>
): void {
  if (type === 'abort' && this instanceof AbortSignal) {
    const already = getEventListeners(this, 'abort').length
    adds += 1
    listenersSeen += already
    if (already > most) most = already
  }
  original.call(this, type, listener, options)
}

const { OpenAIChat } = await import('@tinyllm/openai')
const { Parallel } = await import('@tinyllm/flow')
const server = await startServerProcess({ latencyMs: 20 })
try {
  for (const concurrency of concurrencies) {
    const chat = new OpenAIChat({ name: 'chat', model: 'gpt-4o-mini', baseURL: server.baseURL, apiKey: 'bench-key' })
    const parallel = new Parallel({ name: 'fan-out', map: chat, concurrency })
    const inputs = Array.from({ length: calls }, (_, index) => ({
      messages: [{ role: 'user' as const, content: `ping ${index}` }],
    }))
    await parallel.invoke(inputs.slice(0, 100))
    adds = 0
    listenersSeen = 0
    most = 0
    await parallel.invoke(inputs)
    console.log(
      `concurrency ${concurrency}: ${adds} abort listeners added for ${calls} calls (${(adds / calls).toFixed(2)} per call); ` +
        `listeners already on the signal at each add: mean ${(listenersSeen / Math.max(adds, 1)).toFixed(1)}, max ${most}`,
    )
  }
} finally {
  await server.close()
}
