import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // A real browser renders a 4,000-row page here: generous limits, so a busy machine is slow, never red.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
})
