import { createInterface } from 'node:readline/promises'
import type { Readable, Writable } from 'node:stream'

/**
 * Asks a person at a terminal `Approve? [y/N]`: `true` for an answer that starts with y, `false` for any other answer
 * or none (Ctrl-D, end of input: the default, N), `undefined` for Ctrl-C, which stops the example.
 */
export async function askInTerminal(input: Readable, output: Writable): Promise<boolean | undefined> {
  const terminal = createInterface({ input, output, terminal: true })
  // With a listener, Ctrl-C is heard here instead of rejecting the question with an AbortError.
  const interrupted = new Promise<undefined>((resolve) => terminal.once('SIGINT', () => resolve(undefined)))
  try {
    // Ctrl-D rejects the question: no answer, so the default. Closing after Ctrl-C rejects it too, unheard.
    const answer = await Promise.race([terminal.question('Approve? [y/N] ').catch(() => ''), interrupted])
    return answer === undefined ? undefined : /^y/i.test(answer)
  } finally {
    terminal.close()
  }
}
