import { expect, it } from 'vitest'

// Run by unhandled-rejection.test.ts in a vitest of its own, with the suite's configuration.
it('leaves a promise rejection unhandled (or, as the control, handles it)', async () => {
  expect(process.execArgv).toContain('--unhandled-rejections=strict')
  const rejection = Promise.reject(new Error('nobody handles this rejection'))
  if (process.env.TINYLLM_RELIABILITY_HANDLE_IT === '1') rejection.catch(() => {})
  await new Promise((resolve) => setTimeout(resolve, 100))
})
