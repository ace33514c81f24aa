import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Packing, installing from the registry and running other runtimes take a while; each call has its own limit.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
})
