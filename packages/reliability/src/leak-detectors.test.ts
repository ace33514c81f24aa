import { getEventListeners } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import { expect, it } from 'vitest'
import { activeResources, eventually, resourceGrowth, socketsIn, timersIn } from './__fixtures__/resources.js'

// The suite's "nothing leaked" figures are only as good as its detectors: each must see a leak when there is one.
it('the leak detectors see a leaked timer, socket and abort listener, and their absence once cleaned up', async () => {
  const before = activeResources()
  const timer = setTimeout(() => {}, 60_000)
  // Read before anything is awaited: meanwhile a timer of the test runner's own may end, and hide this one's count.
  expect(timersIn(resourceGrowth(before, activeResources()))).toBe(1)
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  const socket: Socket = connect(address.port, '127.0.0.1')
  await new Promise((resolve) => socket.once('connect', resolve))
  const controller = new AbortController()
  const listener = (): void => {}
  controller.signal.addEventListener('abort', listener)

  const growth = resourceGrowth(before, activeResources())
  expect(socketsIn(growth)).toBeGreaterThanOrEqual(2)
  expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)

  clearTimeout(timer)
  socket.destroy()
  await new Promise((resolve) => server.close(resolve))
  controller.signal.removeEventListener('abort', listener)
  expect(await eventually(() => resourceGrowth(before, activeResources()).size === 0, 5_000)).toBe(true)
  expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
})
