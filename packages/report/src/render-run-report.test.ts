import {
  ConfigurationError,
  defineFunction,
  MemoryJournal,
  type RunContext,
  type RunRecord,
  type StandardSchemaV1,
  TinyLLMError,
} from '@tinyllm/core'
import { Chain, Parallel } from '@tinyllm/flow'
import { LLMCall } from '@tinyllm/llm'
import { ScriptedChatModel } from '@tinyllm/llm/testing'
import { registerSecret } from '@tinyllm/logger'
import { describe, expect, it } from 'vitest'
import { maxGraphDepth, maxGraphNodes } from './graph-svg.js'
import { renderRunReport } from './render-run-report.js'
import { foldRuns, outcomeOf } from './run-shape.js'

const runData = (html: string): Array<Record<string, unknown>> =>
  JSON.parse(/<script type="application\/json" id="run-data">(.*?)<\/script>/s.exec(html)![1]!)

describe('renderRunReport', () => {
  it('writes one page that loads nothing: style, script and data inline, and a policy that forbids requests', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    const html = renderRunReport(record)
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).toContain(
      `content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"`,
    )
    expect(html).not.toMatch(/\s(src|href)=/)
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/)
  })

  it('escapes every name and value: a run cannot inject markup or close the data script', async () => {
    const record = await new Chain({
      name: '<img onerror=alert(1)> chain',
      children: [defineFunction({ name: 'Quote "step"', run: () => '</script><script>alert(2)</script>' })],
    }).trace(undefined)
    const html = renderRunReport(record)
    expect(html).not.toContain('<img onerror')
    expect(html).toContain('&lt;img onerror=alert(1)&gt; chain')
    expect(html).not.toContain('</script><script>alert(2)')
    expect(runData(html)[1]!.output).toBe('</script><script>alert(2)</script>')
  })

  it('escapes a status that is not one of its own, as in a record read back from storage', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    const stored = { ...record, status: '"><img src=x onerror=alert(1)>' } as unknown as RunRecord
    const html = renderRunReport(stored)
    expect(html).not.toContain('<img src=x')
    expect(html).toContain('data-status="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"')
  })

  it('redacts and cuts a status read back from storage as it does a name, in the summary, the row and the details', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    const key = 'sk-proj-Abc123Def456Ghi789Jkl012Mno345'
    const html = renderRunReport({ ...record, status: `failed with ${key}` } as unknown as RunRecord)
    expect(html).not.toContain(key)
    expect(html).toContain('<b>failed with [REDACTED]</b>')
    expect(runData(html)[0]!.status).toBe('failed with [REDACTED]')
    const huge = renderRunReport({ ...record, status: 's'.repeat(1_000_000) } as unknown as RunRecord)
    expect(huge.length).toBeLessThan(100_000)
    expect(runData(huge)[0]!.status).toBe(`${'s'.repeat(1_000)}…`)
  })

  it('refuses attempts that are not a number, which the row would write as they are', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    const attempts = { valueOf: () => 2, toString: () => '<img src=x onerror=alert(1)>' }
    expect(() => renderRunReport({ ...record, attempts } as unknown as RunRecord)).toThrow(
      'renderRunReport takes a run record or a list of them (what trace() resolves with), not records with attempts that are not a number',
    )
    expect(() => renderRunReport({ ...record, attempts: '2' } as unknown as RunRecord)).toThrow(ConfigurationError)
  })

  it('refuses attempts or a duration that are markup when read again, as a getter or a Proxy may answer', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    // A number while the record is checked; then an object whose text (or fixed-point text) is markup.
    const markup = {
      valueOf: () => 5,
      toString: () => '<img src=x onerror=alert(1)>',
      toFixed: () => '<img src=x onerror=alert(2)>',
    }
    const answering = (field: 'attempts' | 'durationMs', first: number): RunRecord => {
      let reads = 0
      return new Proxy(record, {
        get: (target, key, receiver) => {
          if (key !== field) return Reflect.get(target, key, receiver)
          reads++
          return reads > 2 ? markup : first
        },
      })
    }
    for (const fickle of [answering('attempts', 1), answering('durationMs', 1)]) {
      let html = ''
      try {
        html = renderRunReport(fickle)
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError)
        expect((error as Error).message).toContain('renderRunReport: records could not be read')
      }
      expect(html).not.toContain('<img')
    }
  })

  it('refuses a state whose attempt is not a number, which the details and tooltips would show as it is', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    const key = 'sk-proj-Abc123Def456Ghi789Jkl012Mno345'
    const states = record.states.map((entry, index) => (index === 1 ? { ...entry, attempt: key } : entry))
    expect(() => renderRunReport({ ...record, states } as unknown as RunRecord)).toThrow(
      'not records.states[1] with an attempt that is not a number',
    )
  })

  it('marks a status that is not one of its own with a question mark, whatever its name', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    for (const status of ['constructor', 'toString', '__proto__', 'cancelled']) {
      const html = renderRunReport({ ...record, status } as unknown as RunRecord)
      expect(html, status).toContain('<span class="mark">?</span>')
      expect(html, status).not.toMatch(/native code|\[object Object\]|class="mark">undefined/)
    }
  })

  it('cuts names of megabytes read back from storage at 1,000 characters: function, kind, run id, state, choice, title', async () => {
    const record = await new Chain({
      name: 'Chain',
      children: [defineFunction({ name: 'Step', run: () => 'done' })],
    }).trace(undefined)
    const huge = (tag: string) => `${tag}${'n'.repeat(1_000_000)}`
    const stored = JSON.parse(JSON.stringify(record)) as RunRecord & { children: Array<Record<string, unknown>> }
    const child = stored.children[0]!
    Object.assign(child, { function: huge('f'), kind: huge('k'), runId: huge('r'), annotations: { choice: huge('c') } })
    ;(child.states as Array<{ state: string }>)[0]!.state = huge('s')
    const html = renderRunReport(stored, { title: huge('t') })
    expect(html.length).toBeLessThan(100_000)
    const row = runData(html)[1]!
    for (const field of ['function', 'kind', 'runId'] as const) {
      expect(String(row[field])).toMatch(/^.n{999}…$/)
    }
  })

  it('leaves out a usage whose fields are not numbers, as in a record read back from storage: no markup, no key', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    const key = `sk-proj-${'Ab12'.repeat(6)}`
    const usage = { calls: 1, inputTokens: 1, outputTokens: 1, totalTokens: `<img src=x onerror=alert(1)> ${key}` }
    const stored = { ...record, usage: { ...usage, costUsd: 0, unpricedCalls: 1 } } as unknown as RunRecord
    for (const records of [stored, [stored, stored]]) {
      const html = renderRunReport(records)
      expect(html).not.toContain('<img src=x')
      expect(html).not.toContain(key.slice(0, 12))
      expect(html).not.toContain('tokens in')
      expect(runData(html)[0]!.usage).toBeUndefined()
    }
    const priced = { ...record, usage: { ...usage, totalTokens: 3, costUsd: '0.5', unpricedCalls: 0 } }
    expect(renderRunReport(priced as unknown as RunRecord)).not.toContain('tokens in')
  })

  it('shows a validation error read back from storage with more than 10,000 issues, the rest counted', async () => {
    const issues = Array.from({ length: 10_005 }, (_, index) => ({
      message: 'expected a name',
      path: ['items', index],
    }))
    const refusing: StandardSchemaV1<unknown> = {
      '~standard': { version: 1, vendor: 'test', validate: () => ({ issues }) },
    }
    const record = await defineFunction({ name: 'Step', input: refusing, run: () => 'done' }).trace(undefined)
    // Its JSON, as another process sends it, lists 10,000 issues and then a count of the rest.
    const stored = TinyLLMError.fromJSON(JSON.parse(JSON.stringify(record.error)))
    const row = runData(renderRunReport({ ...record, error: stored } as RunRecord))[0] as {
      error: { headline: string }
    }
    expect(row.error.headline).toMatch(/^ValidationError in input_validation: items\.0: expected a name; /)
  })

  it('redacts secrets and cuts long values', async () => {
    const record = await defineFunction({
      name: 'Leaky',
      run: () => ({ apiKey: 'sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789', text: 'x'.repeat(5000) }),
    }).trace(undefined)
    const html = renderRunReport(record, { maxValueLength: 300 })
    expect(html).not.toContain('sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789')
    const output = String(runData(html)[0]!.output)
    expect(output).toContain('[REDACTED]')
    expect(output).toMatch(/… \(\d+ more characters\)$/)
  })

  it('redacts every name and value before it is cut: graph labels, titles, the timeline and the details', async () => {
    const registered = 'hunter2-registered-secret-value'
    const key = 'sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ'
    const unregister = registerSecret(registered)
    try {
      const record = await new Chain({
        // Longer than a graph label: a cut before redaction would leave the start of the secret.
        name: `A pipeline with a long name, then ${registered}`,
        children: [
          defineFunction({
            name: 'Chooser',
            run: (_: undefined, context) => {
              context.annotate('choice', registered)
              return 1
            },
          }),
          defineFunction({
            name: `Step ${key}`,
            run: (_: number, context) => {
              context.annotate('choice', key)
              return 2
            },
          }),
        ],
      }).trace(undefined)
      const html = renderRunReport(record)
      expect(html).not.toContain(registered.slice(0, 10))
      expect(html).not.toContain(key.slice(0, 12))
      const labels = [...html.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((match) => match[1])
      expect(labels).toEqual([
        'A pipeline with a long name, then [REDA… (chain)',
        'Chooser',
        'function',
        'choice: [REDACTED]',
        'Step [REDACTED]',
        'function',
        'choice: [REDACTED]',
      ])
      expect(html).toMatch(/<title>A pipeline with a long name, then \[REDACTED\] · tinyllm run report<\/title>/)
      expect(runData(html).map((row) => row.function)).toEqual([
        'A pipeline with a long name, then [REDACTED]',
        'Chooser',
        'Step [REDACTED]',
      ])
    } finally {
      unregister()
    }
  })

  it('cuts an error at maxValueLength wherever the page repeats its headline: states, retries, tooltips', async () => {
    const huge = `socket closed: ${'x'.repeat(200_000)}`
    const record = await defineFunction({
      name: 'Flaky',
      // A typed error keeps its message whole (the engine cuts what it quotes of other thrown values).
      run: () => {
        throw new TinyLLMError({ message: huge, retryable: true })
      },
      retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
    }).trace(undefined)
    expect(record.attempts).toBe(3)
    const html = renderRunReport(record, { maxValueLength: 300 })
    // The page itself is some 20 kB; each of the headline's nine appearances would add 200 kB.
    expect(html.length).toBeLessThan(100_000)
    const row = runData(html)[0] as { error: { headline: string }; retries: Array<{ reason: string }> }
    expect(row.error.headline).toMatch(/^TinyLLMError: socket closed: x+… \(\d+ more characters\)$/)
    expect(row.error.headline.length).toBeLessThan(350)
    expect(row.retries.map((retry) => retry.reason)).toEqual([row.error.headline, row.error.headline])
  })

  it('keeps the first and last 50 states and 25 retries of a run retried a thousand times, and counts the rest', async () => {
    const record = await defineFunction({
      name: 'Stubborn',
      run: () => {
        throw new TinyLLMError({ message: `socket closed: ${'x'.repeat(200)}`, retryable: true })
      },
      retry: { attempts: 1_000, initialDelayMs: 0, maxDelayMs: 0, jitter: 0 },
    }).trace(undefined)
    expect(record.attempts).toBe(1_000)
    const html = renderRunReport(record)
    // Each state and retry repeats the headline: 1,000 of each would make a page of megabytes for one run.
    expect(html.length).toBeLessThan(100_000)
    const row = runData(html)[0] as {
      states: Array<[string, number, number, string?]>
      statesLeftOut: number
      retries: Array<{ attempt: number }>
      retriesLeftOut: number
    }
    expect(row.states).toHaveLength(100)
    expect(row.statesLeftOut).toBe(record.states.length - 100)
    expect(row.states[0]![0]).toBe(record.states[0]!.state)
    expect(row.states.at(-1)![0]).toBe('failed')
    expect(row.retries).toHaveLength(50)
    expect(row.retriesLeftOut).toBe(999 - 50)
    expect(row.retries.map((retry) => retry.attempt).slice(24, 26)).toEqual([25, 975])
    // The bar draws the waits it keeps.
    expect(html.match(/class="wait"/g)).toHaveLength(50)
  })

  it('marks usage that is an estimate standing in for what the server did not report, on that call only', async () => {
    const call = defineFunction({
      name: 'call',
      run: (_: undefined, context) => {
        context.addUsage({ inputTokens: 10, outputTokens: 5, totalTokens: 15 }, undefined)
        context.annotate('usageEstimated', true)
        return 'ok'
      },
    })
    const record = await new Chain({ name: 'pipeline', children: [call] }).trace(undefined)
    const html = renderRunReport(record)
    const [root, row] = runData(html)
    expect(row).toMatchObject({ function: 'call', usageEstimated: true, usage: { totalTokens: 15 } })
    expect(root).toMatchObject({ function: 'pipeline', usage: { totalTokens: 15 } })
    expect(root).not.toHaveProperty('usageEstimated')
    expect(html).toContain(', estimated: the server reported none')
  })

  it('redacts an error message whole before its headline takes the first line, so no line of a secret shows', async () => {
    const firstLine = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'
    const registered = `${firstLine}\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj`
    const record = await defineFunction({
      name: 'Load key',
      run: () => {
        throw new TinyLLMError({ message: `cannot parse key ${registered}`, retryable: true })
      },
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
    }).trace(undefined)
    // Registered once the run has ended, as a key read later in the process is: the record still holds it.
    const unregister = registerSecret(registered)
    try {
      const html = renderRunReport(record)
      expect(html).not.toContain(firstLine)
      const row = runData(html)[0] as { error: { headline: string }; retries: Array<{ reason: string }> }
      expect(row.error.headline).toBe('TinyLLMError: cannot parse key [REDACTED]')
      expect(row.retries.map((retry) => retry.reason)).toEqual([row.error.headline])
    } finally {
      unregister()
    }
  })

  it('redacts the title it is given, as every name on the page', async () => {
    const registered = 'hunter2-registered-title-value'
    const unregister = registerSecret(registered)
    try {
      const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
      const html = renderRunReport(record, { title: `Runs of tenant ${registered}` })
      expect(html).not.toContain(registered)
      expect(html).toContain('<title>Runs of tenant [REDACTED] · tinyllm run report</title>')
      expect(html).toContain('<h1>Runs of tenant [REDACTED]</h1>')
    } finally {
      unregister()
    }
  })

  it('omits the graph of a trace too big to lay out, says so, and still lists every step', async () => {
    const steps = 5_000
    const record = await new Chain({
      name: 'Long',
      children: Array.from({ length: steps }, (_, index) =>
        defineFunction({ name: `Step ${index}`, run: (value: number) => value + 1 }),
      ),
    }).trace(0)
    const html = renderRunReport(record)
    expect(html).not.toContain('<svg')
    expect(html).toContain(`Graph omitted: 5,001 nodes, more than ${maxGraphNodes}.`)
    const rows = runData(html)
    expect(rows.map((row) => row.function)).toEqual([
      'Long',
      ...Array.from({ length: steps }, (_, index) => `Step ${index}`),
    ])
    expect(rows.at(-1)).toMatchObject({ status: 'complete', output: '5000' })
  })

  it('omits the graph of runs nested deeper than it lays out; draws it at that depth', async () => {
    const recurse = defineFunction({
      name: 'Recurse',
      run: async (depth: number, context): Promise<number> =>
        depth === 0 ? 0 : 1 + (await context.invoke(recurse, depth - 1)),
    })
    const deep = renderRunReport(await recurse.trace(maxGraphDepth + 5))
    expect(deep).not.toContain('<svg')
    expect(deep).toContain(`Graph omitted: runs nested ${maxGraphDepth + 5} deep, more than ${maxGraphDepth}.`)
    expect(runData(deep)).toHaveLength(maxGraphDepth + 6)

    const drawn = renderRunReport(await recurse.trace(maxGraphDepth))
    expect(drawn).toContain('<svg')
    expect(drawn).not.toContain('Graph omitted')
  })

  it('lists at most maxRows runs and says how many it left out', async () => {
    const record = await new Parallel({
      name: 'Many',
      map: defineFunction({ name: 'One', run: (n: number) => n }),
    }).trace(Array.from({ length: 30 }, (_, index) => index))
    const html = renderRunReport(record, { maxRows: 10 })
    expect(runData(html)).toHaveLength(10)
    expect(html).toContain('21 more runs are not listed')
    expect(html).toContain('data-runs="30"')
  })

  it('cuts a value at 2,000 characters and lists 20,000 runs by default, as its README says', async () => {
    const record = await defineFunction({ name: 'Long', run: () => 'x'.repeat(5_000) }).trace(undefined)
    const output = String(runData(renderRunReport(record))[0]!.output)
    expect(output).toMatch(/^x{2000}… \(3000 more characters\)$/)
    const batch = Array.from({ length: 20_003 }, (_, index) => ({ ...record, runId: `run-${index}`, output: 'ok' }))
    const html = renderRunReport(batch)
    expect(runData(html)).toHaveLength(20_000)
    expect(html).toContain('3 more runs are not listed')
  }, 120_000)

  it('reads a value only as far as it can show: a 10 MB text held 60 times renders in moments, redacted before the cut', async () => {
    const key = 'sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789'
    // The key straddles the cut at 2,000 characters: it goes whole, never in part.
    const document = `${'x'.repeat(1_989)} ${key}${' lorem ipsum'.repeat(900_000)}`
    const record = await defineFunction({
      name: 'Summarise',
      run: (text: string, context: RunContext) => {
        context.annotate('source', text)
        return { pages: Array.from({ length: 60 }, () => text), summary: 'short' }
      },
    }).trace(document)
    const started = performance.now()
    const html = renderRunReport(record)
    // Reading every copy whole takes minutes; what shows is a few kilobytes of each. A bound for the slowest machine.
    expect(performance.now() - started).toBeLessThan(15_000)
    expect(html).not.toContain(key.slice(0, 12))
    const [row] = runData(html)
    expect(row!.input).toMatch(/^x{1989} \[REDACTED\]… \(\d+ more characters\)$/)
    expect(row!.output).toMatch(/^\{\n {2}"pages": \[\n {4}"x{1980}… \(\d+ more characters\)$/)
    expect(String(row!.annotations).length).toBeLessThan(2_100)
  }, 600_000)

  it('cuts a value of emoji at a code point, counting what it left out', async () => {
    const record = await defineFunction({ name: 'Emoji', run: () => `x${'\u{1F600}'.repeat(2_000)}` }).trace(undefined)
    const output = String(runData(renderRunReport(record, { maxValueLength: 100 }))[0]!.output)
    // 100 UTF-16 units would end inside the 50th emoji: it is left out whole.
    expect(output).toBe(`x${'\u{1F600}'.repeat(49)}… (3902 more characters)`)
  })

  it('never cuts an emoji of several code points in half: a flag, a family, a skin tone, a keycap', async () => {
    // Each is one emoji of 2 to 8 code points; a cut inside one leaves half a flag (🇫), a man without his family or a
    // thumb without its tone.
    for (const emoji of ['🇫🇷', '👨‍👩‍👧', '👍🏽', '1️⃣']) {
      const name = `${'x'.repeat(37)}${emoji.repeat(3)}`
      const record = await defineFunction({ name, run: () => `y${emoji.repeat(2_000)}` }).trace(undefined)
      const html = renderRunReport(record, { maxValueLength: 100 })
      const label = /class="node"[\s\S]*?<text[^>]*>([^<]*)<\/text>/.exec(html)![1]!
      const output = String(runData(html)[0]!.output)
      // What a cut keeps ends with whole emoji: with the x's (or the y) taken away, the emoji repeated.
      expect(label.replace(/^x+/, '').replace(/…$/, ''), `${emoji} label`).toMatch(new RegExp(`^(?:${emoji})*$`, 'u'))
      const kept = output.replace(/^y/, '').replace(/… \(\d+ more characters\)$/, '')
      expect(kept, `${emoji} output`).toMatch(new RegExp(`^(?:${emoji})+$`, 'u'))
    }
  })

  it('draws the box of a retried run that has children dashed, as it draws a retried run without', async () => {
    let calls = 0
    const record = await defineFunction({
      name: 'Outer',
      run: async (input: number, context: RunContext) => {
        const inner = await context.invoke(defineFunction({ name: 'Inner', run: (n: number) => n + 1 }), input)
        if (++calls === 1) throw new TinyLLMError({ message: 'try again', retryable: true })
        return inner
      },
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
    }).trace(1)
    expect(record.attempts).toBe(2)
    const html = renderRunReport(record)
    const box = (name: string): string =>
      new RegExp(`<g [^>]*data-name="${name}"[^>]*>\\n(<rect [^>]*>)`).exec(html)![1]!
    expect(box('Outer')).toContain('stroke-dasharray')
    expect(box('Inner')).not.toContain('stroke-dasharray')
  })

  it('says "1 call" in its summary for a single model call, and "2 calls" for two', async () => {
    const model = new ScriptedChatModel({
      responses: () => ({ content: 'hello', usage: { inputTokens: 5, outputTokens: 2 } }),
    })
    const chat = new LLMCall({ name: 'chat', model, settings: { model: 'gpt-4o-mini' } })
    const input = { messages: [{ role: 'user' as const, content: 'hi' }] }
    const once = renderRunReport(await chat.trace(input))
    expect(once).toContain('<b>7</b> tokens in 1 call</span>')
    const twice = renderRunReport([await chat.trace(input), await chat.trace(input)])
    expect(twice).toContain('<b>14</b> tokens in 2 calls</span>')
  })

  it("shows no stack in an error's details: neither its own nor its causes' (which hold the machine's paths)", async () => {
    const inner = new Error('disk full', { cause: new AggregateError([new Error('sector 7')], 'write failed') })
    const record = await defineFunction({
      name: 'Save',
      run: () => {
        throw inner
      },
    }).trace(undefined)
    expect(record.error?.cause).toBe(inner)
    const detail = String((runData(renderRunReport(record))[0]!.error as { detail: string }).detail)
    expect(detail).toContain('"message": "disk full"')
    expect(detail).toContain('"message": "sector 7"')
    expect(detail).not.toContain('"stack"')
    expect(detail).not.toContain('render-run-report.test.ts:')
  })

  it('counts every retried run in its summary, those past maxRows too, as it counts every run', async () => {
    const record = await defineFunction({ name: 'Classify', run: () => 'good' }).trace(undefined)
    const batch = Array.from({ length: 5 }, (_, index) => ({ ...record, runId: `run-${index}`, attempts: 2 }))
    const html = renderRunReport(batch, { maxRows: 2 })
    expect(runData(html)).toHaveLength(2)
    expect(html).toContain('<b>5</b> runs')
    expect(html).toContain('<b>5</b> retried')
  })

  it('counts only the roots that completed as complete in a batch summary, not one still running', async () => {
    const record = await defineFunction({ name: 'Classify', run: () => 'good' }).trace(undefined)
    const { output: _output, ...finished } = record
    const unfinished = {
      ...finished,
      runId: 'running',
      status: 'running' as const,
      endedAt: undefined,
      durationMs: undefined,
    }
    const failed = { ...record, runId: 'failed', status: 'failed' as const, error: new TinyLLMError({ message: 'no' }) }
    const html = renderRunReport([record, unfinished, failed])
    expect(html).toContain('<b>1 of 3 complete</b>')
  })

  it('renders a batch of 300,000 records, listing maxRows of them and counting them all', async () => {
    const record = await defineFunction({ name: 'Classify', run: () => 'good' }).trace(undefined)
    const batch = Array.from({ length: 300_000 }, (_, index) => ({ ...record, runId: `run-${index}` }))
    const html = renderRunReport(batch, { maxRows: 10 })
    expect(html).toContain('<b>300,000</b> runs')
    expect(runData(html)).toHaveLength(10)
  }, 120_000)

  it("cuts a node's kind in the graph as it cuts its name, in a box and in a group's title, never inside an emoji", async () => {
    const record = await new Chain({
      name: 'Chain',
      children: [defineFunction({ name: 'Step', run: () => 'done' })],
    }).trace(undefined)
    const stored = JSON.parse(JSON.stringify(record)) as RunRecord & { children: Array<Record<string, unknown>> }
    const longKind = (tag: string) => `${tag}${'\u{1F600}'.repeat(5_000)}`
    Object.assign(stored, { kind: longKind('g') })
    Object.assign(stored.children[0]!, { kind: longKind('k') })
    const html = renderRunReport(stored)
    const svg = html.slice(html.indexOf('<svg'), html.indexOf('</svg>'))
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((match) => match[1] ?? '')
    expect(labels).toContain(`k${'\u{1F600}'.repeat(19)}…`)
    expect(labels).toContain(`Chain (g${'\u{1F600}'.repeat(19)}…)`)
    expect(Math.max(...labels.map((label) => label.length))).toBeLessThan(100)
    expect(svg).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/)
    expect(svg.length).toBeLessThan(5_000)
  })

  it('lists five choices in a node label and counts the rest, so a choice per run keeps the graph small', async () => {
    const tag = defineFunction({
      name: 'Tag',
      run: (item: number, context) => {
        context.annotate('choice', `label-${item}`)
        return item
      },
    })
    const record = await new Parallel({ name: 'Batch', map: tag }).trace(Array.from({ length: 1_000 }, (_, i) => i))
    const html = renderRunReport(record, { maxRows: 10 })
    const labels = [...html.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((match) => match[1])
    expect(labels.filter((label) => /^(label-\d+ ×1, ){5}995 more$/.test(label ?? ''))).toHaveLength(1)
    const svg = html.slice(html.indexOf('<svg'), html.indexOf('</svg>'))
    expect(svg.length).toBeLessThan(5_000)
  })

  it('puts each run in its own graph node when runs of another tree share its run id', async () => {
    // One request id given to two pipelines: their runs, children included, have the same ids.
    const pipeline = (name: string) =>
      new Chain({ name, children: [defineFunction({ name: `${name} step`, run: () => 'done' })] })
    const records = [
      await pipeline('Pricing').trace(undefined, { runId: 'request-1' }),
      await pipeline('Scoring').trace(undefined, { runId: 'request-1' }),
    ]
    const html = renderRunReport(records)
    const shapeNamed = new Map<string, string>()
    for (const [, shape, name] of html.matchAll(/data-shape="(s\d+)" data-name="([^"]*)"/g))
      shapeNamed.set(name!, shape!)
    expect(shapeNamed.size).toBe(4)
    const rows = runData(html)
    expect(rows.map((row) => [row.runId, row.function])).toEqual([
      ['request-1', 'Pricing'],
      ['request-1/0', 'Pricing step'],
      ['request-1', 'Scoring'],
      ['request-1/0', 'Scoring step'],
    ])
    // Selecting a node of the graph lists its own runs, not those of the other tree.
    for (const row of rows) expect(row.shape, String(row.function)).toBe(shapeNamed.get(String(row.function)))
  })

  it('refuses what is not a run record, and options it does not know', async () => {
    expect(() => renderRunReport({} as RunRecord)).toThrow(/run record/)
    expect(() => renderRunReport([])).toThrow(/run record/)
    // A hole is not a record: a sparse list of 2³²−1 is refused at its first hole, not walked whole.
    const sparse = new Array<RunRecord>(2 ** 32 - 1)
    sparse[0] = { runId: 'x', children: [] } as unknown as RunRecord
    expect(() => renderRunReport(sparse)).toThrow(ConfigurationError)
    expect(() =>
      renderRunReport({ runId: 'x', children: [] } as unknown as RunRecord, { colour: true } as never),
    ).toThrow(/colour/)
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    const unreadable = {
      get title(): string {
        throw new Error('not readable')
      },
    }
    expect(() => renderRunReport(record, unreadable)).toThrow(
      'renderRunReport: options could not be read: Error: not readable',
    )
    expect(() => renderRunReport(record, { title: { name: 'x' } } as never)).toThrow(
      'renderRunReport: title must be a string, got an object',
    )
  })
  it('shows a validation error read back from storage whose issues are not a list of issues', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    const cases: Array<[unknown, string]> = [
      [5, 'ValidationError: input is not valid'],
      [{}, 'ValidationError: input is not valid'],
      [[null, 'kept as text'], 'ValidationError: null; kept as text'],
      [[{ path: 'a.b', message: 'not a path' }], '"message": "not a path"'],
      // A segment that is no key: as its JSON (String() throws on it), or a Standard Schema segment's key.
      [[{ path: [{ toString: 'x' }, { key: 'b' }, 2], message: 'bad' }], 'ValidationError: {"toString":"x"}.b.2: bad'],
    ]
    for (const [issues, shown] of cases) {
      const error = TinyLLMError.fromJSON({ name: 'ValidationError', message: 'input is not valid', issues })
      const html = renderRunReport({ ...record, status: 'failed', error } as RunRecord)
      expect((runData(html)[0]!.error as { headline: string }).headline).toContain(shown)
    }
  })

  it('refuses children that are a sparse list of length 2³²−1 at its first hole, without reading the rest', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    const sparse: RunRecord[] = []
    sparse.length = 2 ** 32 - 1
    sparse[0] = record
    const stored = { ...record, children: sparse } as RunRecord
    expect(() => renderRunReport(stored)).toThrow('records.children[1] with no run record')
  })

  it('shows a validation error whose issues are a sparse list of length 2³²−1, reading 10,000 of them', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    const issues: unknown[] = []
    issues.length = 2 ** 32 - 1
    issues[0] = { path: ['name'], message: 'expected a name' }
    const error = TinyLLMError.fromJSON({ name: 'ValidationError', message: 'input is not valid', issues })
    const html = renderRunReport({ ...record, status: 'failed', error } as RunRecord)
    expect((runData(html)[0]!.error as { headline: string }).headline).toContain('name: expected a name')
  })

  it('shows an error read back from storage whose name or state is not text, as it shows any name', async () => {
    const record = await defineFunction({
      name: 'Step',
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
      run: () => {
        throw new Error('went wrong')
      },
    })
      .trace(undefined)
      .catch((error: unknown) => error)
    // JSON holds anything: a name or state that is an object, even one whose own toString is no function.
    const stored = JSON.parse(JSON.stringify(record))
    stored.error.name = { toString: 'Broken' }
    stored.error.state = ['running']
    const retrying = stored.states.find((entry: { state: string }) => entry.state === 'retrying')
    retrying.error.name = { code: 7 }
    const html = renderRunReport(stored as RunRecord)
    const [row] = runData(html)
    expect(row!.error).toMatchObject({ headline: expect.stringContaining('"toString": "Broken"') })
    expect(String((row!.error as { headline: string }).headline)).toContain('went wrong')
    expect((row!.retries as Array<{ reason: string }>)[0]!.reason).toContain('"code": 7')
  })

  it('refuses a record read back from storage that lacks what the page reads, anywhere in the tree, saying where', async () => {
    const record = await new Chain({
      name: 'Chain',
      children: [defineFunction({ name: 'Step', run: () => 'done' })],
    }).trace(undefined)
    type Stored = Record<string, unknown> & { children: Array<Record<string, unknown>> }
    const stored = (): Stored => JSON.parse(JSON.stringify(record))
    const broken: Array<[(run: Stored) => void, string]> = [
      [(run) => delete run.children[0]!.states, 'records.children[0] with no list of states'],
      [(run) => delete run.children[0]!.children, 'records.children[0] with no list of children'],
      [(run) => (run.children[0] = null as never), 'records.children[0] with no run record'],
      [(run) => delete run.annotations, 'records with no annotations'],
      [(run) => (run.durationMs = '500' as never), 'records with a duration that is not a number'],
      [(run) => (run.children[0]!.states = [{ state: 'running' }]), 'records.children[0].states[0] with no time'],
      [(run) => (run.status = 42), 'records with a status that is not text'],
      [(run) => (run.children[0]!.function = { name: 'Step' }), 'records.children[0] with no function name'],
    ]
    for (const [breakIt, where] of broken) {
      const run = stored()
      breakIt(run)
      expect(() => renderRunReport(run as unknown as RunRecord)).toThrow(ConfigurationError)
      expect(() => renderRunReport([stored(), run] as unknown as RunRecord[])).toThrow(
        where.replace('records', 'records[1]'),
      )
    }
    const unreadable = stored()
    Object.defineProperty(unreadable.children[0]!, 'states', {
      get() {
        throw new Error('not readable')
      },
    })
    for (const records of [
      unreadable,
      new Proxy(stored(), {
        get() {
          throw new Error('not readable')
        },
      }),
    ]) {
      expect(() => renderRunReport(records as unknown as RunRecord)).toThrow(ConfigurationError)
    }
    expect(() => renderRunReport(unreadable as unknown as RunRecord)).toThrow(
      'renderRunReport: records could not be read: Error: not readable',
    )
    const cyclic = stored()
    cyclic.children[0]!.children = [cyclic]
    expect(() => renderRunReport(cyclic as unknown as RunRecord)).toThrow(
      'records.children[0].children[0], a run inside itself',
    )
    expect(renderRunReport(stored() as unknown as RunRecord)).toMatch(/^<!doctype html>/)
  })

  it('refuses a run met twice in one tree, which the page would walk once for every path to it', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    const shared = { ...record, runId: 'shared' }
    expect(() => renderRunReport({ ...record, children: [shared, shared] } as RunRecord)).toThrow(
      'not records.children[1], a run met twice in one tree',
    )
    // Forty records, each holding the next twice: 2⁴⁰ paths, refused at the first run met again.
    let tree: RunRecord = { ...record, runId: 'leaf' }
    for (let level = 0; level < 40; level++) tree = { ...record, runId: `level-${level}`, children: [tree, tree] }
    expect(() => renderRunReport(tree)).toThrow(ConfigurationError)
    // One record listed twice, or copies sharing their children, are runs of separate trees: each is drawn.
    const parent = { ...record, children: [shared] }
    const html = renderRunReport([parent, parent, { ...parent, runId: 'copy' }])
    expect(html).toContain('<b>6</b> runs')
  })

  it('refuses maxValueLength and maxRows that are not whole numbers of at least 1, naming the option', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    for (const value of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '5', null]) {
      for (const option of ['maxValueLength', 'maxRows'] as const) {
        expect(() => renderRunReport(record, { [option]: value } as never)).toThrow(ConfigurationError)
        expect(() => renderRunReport(record, { [option]: value } as never)).toThrow(
          new RegExp(`^renderRunReport: ${option} must be an integer ≥ 1`),
        )
      }
    }
    // An option inherited from a prototype is read, and checked, like an own one.
    expect(() => renderRunReport(record, Object.create({ title: 5 }))).toThrow(
      'renderRunReport: title must be a string, got 5',
    )
  })

  it('reports an aborted run: the runs the abort reached failed with its AbortError, the run before them complete', async () => {
    const controller = new AbortController()
    let started!: () => void
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    const pipeline = new Chain({
      name: 'Pipeline',
      children: [
        defineFunction({ name: 'First', run: (value: number) => value }),
        defineFunction({
          name: 'Waits',
          run: (_value: number, context: RunContext) =>
            new Promise<number>((_resolve, reject) => {
              context.signal.addEventListener('abort', () => reject(context.signal.reason))
              started()
            }),
        }),
      ],
    })
    const traced = pipeline.trace(1, { signal: controller.signal })
    await running
    controller.abort()
    const html = renderRunReport(await traced)
    const rows = runData(html)
    expect(rows.map((row) => [row.function, row.status])).toEqual([
      ['Pipeline', 'failed'],
      ['First', 'complete'],
      ['Waits', 'failed'],
    ])
    expect((rows[2]!.error as { headline: string }).headline).toMatch(/^AbortError in running: /)
    expect(html).toContain('<b>failed</b>')
  })

  it('reports a replayed run: the output it replayed, its tokens and cost counted again, annotated as replayed', async () => {
    const model = new ScriptedChatModel({
      responses: () => ({ content: 'hello', usage: { inputTokens: 5, outputTokens: 2 } }),
    })
    const pipeline = new Chain({
      name: 'Pipeline',
      children: [new LLMCall({ name: 'chat', model, settings: { model: 'gpt-4o-mini' } })],
    })
    const journal = new MemoryJournal()
    const input = { messages: [{ role: 'user' as const, content: 'hi' }] }
    await pipeline.trace(input, { runId: 'replayed', journal })
    const html = renderRunReport(await pipeline.trace(input, { runId: 'replayed', journal }))
    const chat = runData(html).find((row) => row.function === 'chat')!
    expect(chat.status).toBe('complete')
    expect(chat.output).toBe('hello')
    expect(chat.annotations).toContain('"replayed": true')
    expect(chat.usage).toMatchObject({ calls: 1, totalTokens: 7 })
    expect(html).toContain('<b>7</b> tokens')
    expect(html).toContain('<b>$0.000002</b> cost')
  })
})

describe('foldRuns', () => {
  it('refuses a record whose reading throws only once it was checked, with a ConfigurationError that names no secret', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    let reads = 0
    const flaky = {
      ...record,
      get status() {
        reads++
        if (reads > 1) throw new Error('status store down, key sk-proj-Abc123Def456Ghi789Jkl012Mno345')
        return 'complete'
      },
    }
    let thrown: unknown
    try {
      renderRunReport(flaky as RunRecord)
    } catch (error) {
      thrown = error
    }
    expect(reads).toBeGreaterThan(1)
    expect(thrown).toBeInstanceOf(ConfigurationError)
    expect((thrown as Error).message).toContain('renderRunReport: records could not be read: Error: status store down')
    expect((thrown as Error).message).not.toContain('Abc123Def456')
  })

  it('connects children that ran one after another, not children that overlapped', async () => {
    const record = await new Chain({
      name: 'Chain',
      children: [
        defineFunction({ name: 'First', run: () => 1 }),
        new Parallel({
          name: 'Both',
          children: [
            defineFunction({ name: 'Left', run: async () => new Promise((resolve) => setTimeout(resolve, 5, 'l')) }),
            defineFunction({ name: 'Right', run: async () => new Promise((resolve) => setTimeout(resolve, 5, 'r')) }),
          ],
        }),
      ],
    }).trace(undefined)
    const shape = foldRuns([record])
    expect(shape.edges.map(({ from, to }) => `${from.name} → ${to.name}`)).toEqual(['First → Both'])
    expect(shape.nodes.map((node) => [node.name, outcomeOf(node)])).toEqual([
      ['Chain', 'complete'],
      ['First', 'complete'],
      ['Both', 'complete'],
      ['Left', 'complete'],
      ['Right', 'complete'],
    ])
  })

  it('connects two batches of thousands of runs side by side in a number of steps that grows with the runs', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    const count = 3_000
    // Every first-batch run overlaps the others and ends before the second batch starts.
    const run = (name: string, startedAt: number) => ({
      ...record,
      runId: `${name}-${startedAt}`,
      function: name,
      startedAt,
      endedAt: startedAt + 10_000,
      children: [],
    })
    const children = [
      ...Array.from({ length: count }, (_, index) => run('First', index)),
      ...Array.from({ length: count }, (_, index) => run('Second', 20_000 + index)),
    ]
    // Lookups counted, not time: every second-batch run connected to every first-batch run would be 9 million.
    const has = Set.prototype.has
    let lookups = 0
    Set.prototype.has = function (this: Set<unknown>, value: unknown) {
      lookups++
      return has.call(this, value)
    }
    let shape: ReturnType<typeof foldRuns>
    try {
      shape = foldRuns([{ ...record, children } as unknown as RunRecord])
    } finally {
      Set.prototype.has = has
    }
    expect(lookups).toBeLessThan(100_000)
    expect(shape.edges.map(({ from, to }) => `${from.name} → ${to.name}`)).toEqual(['First → Second'])
  })

  it('folds the runs of one Function at one place into one node, with how they ended', async () => {
    const record = await new Parallel({
      name: 'Batch',
      mode: 'settle-all',
      map: defineFunction({
        name: 'Item',
        run: (n: number) => {
          if (n % 4 === 0) throw new Error('bad item')
          return n
        },
      }),
    }).trace([0, 1, 2, 3, 4, 5, 6, 7])
    const item = foldRuns([record]).nodes.find((node) => node.name === 'Item')!
    expect(item).toMatchObject({ complete: 6, failed: 2, running: 0 })
    expect(item.runIds).toHaveLength(8)
    expect(outcomeOf(item)).toBe('mixed')
  })
})
