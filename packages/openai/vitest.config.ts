import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Lets a test collect garbage on demand: secrets registered for a model are released when the model is collected.
    execArgv: ['--expose-gc'],
  },
})
