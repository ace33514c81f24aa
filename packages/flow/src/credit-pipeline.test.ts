import { defineFunction, Function, formatRunTree, type RunContext } from '@tinyllm/core'
import { LLMCall, PromptTemplate, SystemMessageTemplate, UserMessageTemplate } from '@tinyllm/llm'
import { ScriptedChatModel } from '@tinyllm/llm/testing'
import { describe, expect, it } from 'vitest'
import { withoutDurations } from './__fixtures__/helpers.js'
import { Chain, Decision, Parallel, toMermaid } from './index.js'

describe('the original Python tiny-llm’s credit pipeline', () => {
  it('is written in under 40 lines, routes by the model’s answer, and prints its run tree and graph', async () => {
    // ---- the pipeline: Chain → Decision (asks the model) → good: Approval | bad: Parallel of two Functions ---------
    const model = new ScriptedChatModel({ responses: ['bad', ' Good\n'] })
    const chat = new LLMCall({ name: 'openai_chat', model, settings: { temperature: 0 } })
    const template = new PromptTemplate({
      name: 'Loan Classifier Template',
      sections: [
        new SystemMessageTemplate({ name: 'Role', content: 'Classify the loan application: answer good or bad.' }),
        new UserMessageTemplate({ name: 'Application', field: 'loan_application' }),
      ],
    })
    const classifier = new Decision({
      name: 'CreditClassification',
      decide: async (input: { loan_application: string }, context) => {
        const answer = await context.invoke(chat, await context.invoke(template, input))
        return answer.trim().toLowerCase()
      },
      branches: {
        good: defineFunction({ name: 'Approval', run: () => ({ approved: true }) }),
        bad: new Parallel({
          name: 'Bad credit analysis',
          children: [
            defineFunction({ name: 'EmailNotification', run: () => ({ success: true }) }),
            defineFunction({ name: 'FurtherAnalysis', run: () => ({ further_analysis: 'Completed' }) }),
          ],
        }),
      },
    })
    const report = defineFunction({
      name: 'Report',
      run: (outcome: object) => ('approved' in outcome ? 'approved' : 'sent to further analysis'),
    })
    const pipeline = new Chain({ name: 'Credit analysis', children: [classifier, report] })
    // ---------------------------------------------------------------------------------------------------------------

    const bad = await pipeline.trace({ loan_application: 'Missed payments, high utilisation.' })
    const good = await pipeline.trace({ loan_application: 'Excellent history, stable income.' })
    const graph = toMermaid(pipeline)
    console.log(`${formatRunTree(bad)}\n\n${formatRunTree(good)}\n\n${graph}`)

    expect(bad.output).toBe('sent to further analysis')
    expect(good.output).toBe('approved')
    expect(model.calls.map((call) => call.messages.map((message) => message.content))).toEqual([
      ['Classify the loan application: answer good or bad.', 'Missed payments, high utilisation.'],
      ['Classify the loan application: answer good or bad.', 'Excellent history, stable income.'],
    ])
    // The model call's own line (tokens, request id) is core's to format; the shape around it is flow's.
    const shape = (tree: string) => withoutDurations(tree).replace(/\(llm-call\).*$/m, '(llm-call) …')
    expect(formatRunTree(bad)).toMatch(/openai_chat \(llm-call\).* tokens=23/)
    expect(shape(formatRunTree(bad))).toMatchInlineSnapshot(`
      "✔ Credit analysis (chain) tokens=23 cost=unknown
      ├─ ✔ CreditClassification (decision) choice=bad tokens=23 cost=unknown
      │  ├─ ✔ Loan Classifier Template (prompt-template)
      │  │  ├─ ✔ Role (system-message)
      │  │  └─ ✔ Application (user-message)
      │  ├─ ✔ openai_chat (llm-call) …
      │  └─ ✔ Bad credit analysis (parallel)
      │     ├─ ✔ EmailNotification (function)
      │     └─ ✔ FurtherAnalysis (function)
      └─ ✔ Report (function)"
    `)
    expect(shape(formatRunTree(good))).toMatchInlineSnapshot(`
      "✔ Credit analysis (chain) tokens=23 cost=unknown
      ├─ ✔ CreditClassification (decision) choice=good tokens=23 cost=unknown
      │  ├─ ✔ Loan Classifier Template (prompt-template)
      │  │  ├─ ✔ Role (system-message)
      │  │  └─ ✔ Application (user-message)
      │  ├─ ✔ openai_chat (llm-call) …
      │  └─ ✔ Approval (function)
      └─ ✔ Report (function)"
    `)
    expect(graph).toMatchInlineSnapshot(`
      "flowchart TD
        subgraph n0["Credit analysis (chain)"]
          n1{"CreditClassification"}
          n2["Approval"]
          subgraph n3["Bad credit analysis (parallel)"]
            n4["EmailNotification"]
            n5["FurtherAnalysis"]
          end
          n6["Report"]
        end
        n1 -->|"good"| n2
        n1 -->|"bad"| n3
        n2 --> n6
        n3 --> n6"
    `)
  })

  it('keeps the original Python tiny-llm’s own shape: a classifier subclass returning { decision }, then a Parallel', async () => {
    const model = new ScriptedChatModel({ responses: ['bad'] })
    class CreditClassifier extends Decision<{ loan_application: string }, 'good' | 'bad'> {
      override async run(input: { loan_application: string }, context: RunContext) {
        const messages = [{ role: 'user' as const, content: input.loan_application }]
        const result = await model.doGenerate({ messages }, { signal: context.signal })
        return { decision: result.choices[0]?.message.content ?? '' }
      }
    }
    class EmailNotification extends Function<{ decision: string }, { success: boolean }> {
      async run() {
        return { success: true }
      }
    }
    class FurtherAnalysis extends Function<{ decision: string }, { further_analysis: string }> {
      async run() {
        return { further_analysis: 'Completed' }
      }
    }
    const creditAnalysisChain = new Chain({
      name: 'Credit analysis',
      children: [
        new CreditClassifier({ name: 'CreditClassification', choices: ['good', 'bad'] }),
        new Parallel({
          name: 'Bad credit analysis',
          children: [
            new EmailNotification({ name: 'EmailNotification' }),
            new FurtherAnalysis({ name: 'FurtherAnalysis' }),
          ],
        }),
      ],
    })
    const record = await creditAnalysisChain.trace({ loan_application: 'Missed payments.' })
    expect(record.output).toEqual({
      EmailNotification: { success: true },
      FurtherAnalysis: { further_analysis: 'Completed' },
    })
    expect(withoutDurations(formatRunTree(record))).toBe(
      [
        '✔ Credit analysis (chain)',
        '├─ ✔ CreditClassification (decision) choice=bad',
        '└─ ✔ Bad credit analysis (parallel)',
        '   ├─ ✔ EmailNotification (function)',
        '   └─ ✔ FurtherAnalysis (function)',
      ].join('\n'),
    )
    expect(toMermaid(creditAnalysisChain)).toBe(
      [
        'flowchart TD',
        '  subgraph n0["Credit analysis (chain)"]',
        '    n1{"CreditClassification (good / bad)"}',
        '    subgraph n2["Bad credit analysis (parallel)"]',
        '      n3["EmailNotification"]',
        '      n4["FurtherAnalysis"]',
        '    end',
        '  end',
        '  n1 --> n2',
      ].join('\n'),
    )
  })
})
