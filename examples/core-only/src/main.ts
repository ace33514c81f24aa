// A validated, observable Function with nothing but @tinyllm/core: run it with `pnpm --filter @tinyllm/example-core-only start`.
import { defineFunction, Function, formatRunTree, type RunContext, ValidationError } from '@tinyllm/core'
import { z } from 'zod'

// The shorthand: schemas in, typed Function out.
const debtRatio = defineFunction({
  name: 'DebtRatio',
  input: z.object({ income: z.number().positive(), debt: z.number().nonnegative() }),
  output: z.object({ ratio: z.number().min(0) }),
  run: ({ income, debt }) => ({ ratio: debt / income }),
})

// The class form, with retries: the first attempt fails, the second succeeds, and the run tree shows both.
class RiskBand extends Function<{ ratio: number }, 'low' | 'medium' | 'high'> {
  async run(input: { ratio: number }, context: RunContext) {
    if (context.attempt === 1) throw new Error('scoring service warming up')
    context.logger.debug('scoring', { ratio: input.ratio })
    return input.ratio < 0.2 ? 'low' : input.ratio < 0.4 ? 'medium' : 'high'
  }
}
const riskBand = new RiskBand({ name: 'RiskBand', retry: { attempts: 2, initialDelayMs: 10 } })

const assess = defineFunction({
  name: 'Assess',
  run: async (application: { income: number; debt: number }, context) => {
    const { ratio } = await context.invoke(debtRatio, application)
    return context.invoke(riskBand, { ratio })
  },
})

const record = await assess.trace({ income: 5_000, debt: 1_500 })
console.log(`risk band: ${String(record.output)}`)
console.log(formatRunTree(record))

const invalid = await debtRatio.invoke({ income: -1, debt: 0 }).catch((error: unknown) => error)
if (ValidationError.isInstance(invalid)) console.log(`rejected: ${invalid.message}`)
