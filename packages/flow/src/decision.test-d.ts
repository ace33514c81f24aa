import { defineFunction, type RunContext } from '@tinyllm/core'
import { describe, expectTypeOf, it } from 'vitest'
import { Decision, type DecisionResult } from './decision.js'

interface Loan {
  text: string
  amount: number
}
const approve = defineFunction({
  name: 'approve',
  run: (loan: Loan) => ({ approved: true as const, amount: loan.amount }),
})
const analyse = defineFunction({ name: 'analyse', run: (loan: { text: string }) => ({ report: loan.text }) })
const needsOther = defineFunction({ name: 'other', run: (value: { other: number }) => value.other })

describe('Decision types', () => {
  it('resolves with the union of its branches’ outputs', () => {
    const decision = new Decision({
      name: 'd',
      decide: async (loan: Loan) => (loan.amount > 1 ? 'bad' : 'good'),
      branches: { good: approve, bad: analyse },
    })
    expectTypeOf(decision.invoke).parameter(0).toEqualTypeOf<Loan>()
    expectTypeOf(decision.invoke).returns.resolves.toEqualTypeOf<
      { approved: true; amount: number } | { report: string }
    >()
    expectTypeOf(decision.choices).toEqualTypeOf<ReadonlyArray<'good' | 'bad'>>()
  })

  it('infers its input from the branches when decide does not annotate it', () => {
    const decision = new Decision({
      name: 'd',
      decide: (loan, context) => {
        expectTypeOf(loan).toEqualTypeOf<Loan>()
        expectTypeOf(context).toEqualTypeOf<RunContext>()
        return 'good'
      },
      branches: { good: approve, bad: analyse },
    })
    expectTypeOf(decision.invoke).parameter(0).toEqualTypeOf<Loan>()
  })

  it('requires a branch per choice, each accepting the input', () => {
    const decision = new Decision({
      name: 'd',
      choices: ['good', 'bad'],
      decide: (loan: Loan) => loan.text,
      branches: { good: approve, bad: analyse },
    })
    expectTypeOf(decision.invoke).returns.resolves.toEqualTypeOf<
      { approved: true; amount: number } | { report: string }
    >()
    new Decision({
      name: 'd',
      choices: ['good', 'bad', 'maybe'],
      decide: (loan: Loan) => loan.text,
      // @ts-expect-error the choice 'maybe' has no branch
      branches: { good: approve, bad: analyse },
    })
    new Decision({
      name: 'd',
      decide: (loan: Loan) => loan.text,
      // @ts-expect-error needsOther does not accept a Loan
      branches: { good: approve, bad: needsOther },
    })
  })

  it('resolves with { decision } when it has no branches', () => {
    const decision = new Decision({ name: 'd', choices: ['good', 'bad'], decide: (text: string) => text })
    expectTypeOf(decision.invoke).returns.resolves.toEqualTypeOf<DecisionResult<'good' | 'bad'>>()
    expectTypeOf(decision.invoke).parameter(0).toEqualTypeOf<string>()
  })

  it('types the original Python tiny-llm’s style: a subclass whose run returns { decision } with any string', () => {
    class CreditClassifier extends Decision<{ loan_application: string }, 'good' | 'bad'> {
      override async run(input: { loan_application: string }, _context: RunContext) {
        return { decision: input.loan_application.slice(0, 4) }
      }
    }
    const classifier = new CreditClassifier({ name: 'CreditClassification', choices: ['good', 'bad'] })
    expectTypeOf(classifier.invoke).returns.resolves.toEqualTypeOf<DecisionResult<'good' | 'bad'>>()
    // @ts-expect-error 'maybe' is not a choice of this Decision
    new CreditClassifier({ name: 'CreditClassification', choices: ['good', 'maybe'] })
  })
})
