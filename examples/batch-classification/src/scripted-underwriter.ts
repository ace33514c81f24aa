import type { ScriptedReply } from '@tinyllm/openai/testing'

/** What the scripted model can answer: one of the three classes, in the loose spelling models use. */
export const classes = ['good', 'review', 'bad'] as const

/** One of {@link classes}. */
export type CreditClass = (typeof classes)[number]

/**
 * The offline stand-in for the model: it reads the application in the request and answers by a fixed rule, so the
 * classes vary with the applications and every run of one seed gives the same answers. Like a real model it is not
 * always tidy (`Good.`, ` review`), it answers off-script when the credit score is missing, and it refuses an
 * application with a 400-page scan attached as too long for its context window.
 */
export function underwrite(request: { readonly messages: ReadonlyArray<{ role: string; content?: unknown }> }) {
  const text = String(request.messages.findLast((message) => message.role === 'user')?.content ?? '')
  const number = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN)
  const pages = number(/(\d+) scanned pages? attached/)
  if (pages >= 100) {
    return {
      error: {
        status: 400,
        message: `This model's maximum context length is 128000 tokens. However, your messages resulted in ${pages * 400} tokens. Please reduce the length of the messages.`,
        type: 'invalid_request_error',
        code: 'context_length_exceeded',
        param: 'messages',
      },
    } satisfies ScriptedReply
  }
  const score = number(/Credit score (\d+)/)
  if (Number.isNaN(score)) return 'I cannot classify this application without a credit score.'
  const debtToIncome = number(/debt-to-income (\d+)%/)
  const missed = number(/(\d+) missed payments?/)
  const verdict: CreditClass =
    score >= 700 && debtToIncome <= 36 && missed <= 1
      ? 'good'
      : score < 600 || debtToIncome > 50 || missed >= 4
        ? 'bad'
        : 'review'
  // Vary the spelling as models do; the pipeline's Decision normalises it before checking.
  const spelling = score % 7
  return spelling === 0
    ? `${verdict[0]!.toUpperCase()}${verdict.slice(1)}.`
    : spelling === 1
      ? ` ${verdict}\n`
      : verdict
}
