import { defineFunction, formatRunTree, resultText, ScriptedChatModel } from '@tinyllm/core'
import { describe, expect, it } from 'vitest'
import { withoutDurations } from './__fixtures__/helpers.js'
import { Chain, Decision, Parallel, toMermaid } from './index.js'

describe('the seed’s credit pipeline', () => {
  it('is written in under 40 lines, routes by the model’s answer, and prints its run tree and graph', async () => {
    // ---- the pipeline: Chain → Decision → (good: Approval | bad: Parallel of two Functions) ----------------------
    const model = new ScriptedChatModel({ responses: ['bad', ' Good\n'] })
    const classifier = new Decision({
      name: 'CreditClassification',
      decide: async ({ loan_application }: { loan_application: string }, { signal }) => {
        const messages = [
          { role: 'system', content: 'Classify the loan application as good or bad. Answer with one word.' },
          { role: 'user', content: loan_application },
        ] as const
        return resultText(await model.doGenerate({ messages, temperature: 0 }, { signal }))
          .trim()
          .toLowerCase()
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
    const tree = formatRunTree(bad)
    const graph = toMermaid(pipeline)
    console.log(`${tree}\n\n${formatRunTree(good)}\n\n${graph}`)

    expect(bad.output).toBe('sent to further analysis')
    expect(good.output).toBe('approved')
    expect(model.calls.map((call) => call.messages[1]?.content)).toEqual([
      'Missed payments, high utilisation.',
      'Excellent history, stable income.',
    ])
    expect(withoutDurations(tree)).toMatchInlineSnapshot(`
      "✔ Credit analysis (chain)
      ├─ ✔ CreditClassification (decision) choice=bad
      │  └─ ✔ Bad credit analysis (parallel)
      │     ├─ ✔ EmailNotification (function)
      │     └─ ✔ FurtherAnalysis (function)
      └─ ✔ Report (function)"
    `)
    expect(withoutDurations(formatRunTree(good))).toMatchInlineSnapshot(`
      "✔ Credit analysis (chain)
      ├─ ✔ CreditClassification (decision) choice=good
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
})
