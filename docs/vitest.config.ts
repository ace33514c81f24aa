import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Snippets run as child processes, a few at a time.
    maxConcurrency: 4,
  },
})
