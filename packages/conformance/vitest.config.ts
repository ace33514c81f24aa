import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // TINYLLM_CONFORMANCE_FIXTURE runs one fixture (the suite against a provider that breaks the specification) instead
    // of the package's tests: broken-providers.test.ts checks that the suite fails it.
    include: process.env.TINYLLM_CONFORMANCE_FIXTURE ? [process.env.TINYLLM_CONFORMANCE_FIXTURE] : ['src/**/*.test.ts'],
  },
})
