import {
  ConfigurationError,
  defineFunction,
  Function,
  formatRunTree,
  MemoryJournal,
  type RunContext,
  TinyLLMError,
} from '@tinyllm/core'
import { describe, expect, it, vi } from 'vitest'
import {
  configurationErrorOf,
  deferred,
  growingList,
  statesOf,
  tick,
  withoutDurations,
} from './__fixtures__/helpers.js'
import { Decision, type DecisionAnswer, DecisionError, type DecisionOptions } from './decision.js'

interface Application {
  readonly applicant: string
  readonly score: number
}

const received: Array<[string, unknown]> = []
const approve = defineFunction({
  name: 'Approve',
  run: (application: Application) => {
    received.push(['Approve', application])
    return { approved: true, applicant: application.applicant }
  },
})
const review = defineFunction({
  name: 'Review',
  run: (application: Application) => {
    received.push(['Review', application])
    return { queued: application.applicant }
  },
})

const byScore = (application: Application): string => (application.score >= 700 ? 'good' : 'bad')

describe('Decision with branches', () => {
  it('runs the chosen branch on its own input and resolves with the branch’s output — every branch', async () => {
    const decision = new Decision({ name: 'Classify', decide: byScore, branches: { good: approve, bad: review } })
    received.length = 0
    expect(await decision.invoke({ applicant: 'Ada', score: 810 })).toEqual({ approved: true, applicant: 'Ada' })
    expect(await decision.invoke({ applicant: 'Bob', score: 420 })).toEqual({ queued: 'Bob' })
    expect(received).toEqual([
      ['Approve', { applicant: 'Ada', score: 810 }],
      ['Review', { applicant: 'Bob', score: 420 }],
    ])
    expect(decision.choices).toEqual(['good', 'bad'])
  })

  it('records the choice on its run and the branch as its child', async () => {
    const decision = new Decision({ name: 'Classify', decide: byScore, branches: { good: approve, bad: review } })
    const record = await decision.trace({ applicant: 'Bob', score: 420 })
    expect(record.kind).toBe('decision')
    expect(record.annotations).toEqual({ choice: 'bad' })
    expect(record.children.map((child) => [child.function, child.status])).toEqual([['Review', 'complete']])
    expect(withoutDurations(formatRunTree(record))).toBe(
      ['✔ Classify (decision) choice=bad', '└─ ✔ Review (function)'].join('\n'),
    )
  })

  it('rejects a choice that is not one of its choices with a DecisionError listing them, and runs no branch', async () => {
    let branchRuns = 0
    const counted = defineFunction({ name: 'counted', run: () => ++branchRuns })
    const decision = new Decision({
      name: 'Classify',
      choices: ['good', 'bad'],
      decide: () => 'maybe',
      branches: { good: counted, bad: counted },
    })
    const error = await decision.invoke(undefined).catch((caught: unknown) => caught)
    expect(DecisionError.isInstance(error)).toBe(true)
    const decisionError = error as DecisionError
    expect(decisionError.choices).toEqual(['good', 'bad'])
    expect(decisionError.received).toBe('maybe')
    expect(decisionError.functionName).toBe('Classify')
    expect(decisionError.state).toBe('running')
    expect(decisionError.message).toBe('Classify: decision "maybe" is not one of the choices [good, bad]')
    expect(branchRuns).toBe(0)
    const record = await decision.trace(undefined)
    expect(statesOf(record)).toEqual(['init', 'input_validation', 'running', 'failed'])
    expect(record.children).toEqual([])
    expect(record.annotations).toEqual({})
  })

  it('holds and lists at most 20 choices, each cut to 60 characters, however many and long they are', async () => {
    const branches: Record<string, typeof approve> = {}
    for (let index = 0; index < 100_000; index++) branches[`choice_${index}_${'x'.repeat(200)}`] = approve
    const decision = new Decision({ name: 'Many', decide: () => 'none', branches })
    const error = await decision.invoke({ applicant: 'a', score: 1 }).catch((caught: unknown) => caught)
    expect(DecisionError.isInstance(error)).toBe(true)
    const message = (error as DecisionError).message
    expect(message).toMatch(/^Many: decision "none" is not one of the choices \[choice_0_x+…, choice_1_x+…, /)
    expect(message).toMatch(/, … 99980 more\]$/)
    expect(message.length).toBeLessThan(2_000)
    expect((error as DecisionError).choices).toHaveLength(20)
    expect((error as DecisionError).choices[0]).toBe(`choice_0_${'x'.repeat(51)}…`)
    expect((error as DecisionError).choicesLeftOut).toBe(99_980)
    expect(JSON.stringify(error).length).toBeLessThan(4_000)
  })

  it('cuts a listed choice on a code point, never inside an emoji', async () => {
    const long = `${'x'.repeat(59)}${'😀'.repeat(10)}`
    const decision = new Decision({ name: 'Emoji', decide: () => 'none', branches: { [long]: approve } })
    const error = (await decision
      .invoke({ applicant: 'a', score: 1 })
      .catch((caught: unknown) => caught)) as DecisionError
    expect(error.choices).toEqual([`${'x'.repeat(59)}…`])
    expect(error.message.isWellFormed()).toBe(true)
  })

  it('gives a DecisionError that serialises whatever was received (BigInt, cycles) and rehydrates from JSON', () => {
    const circular: Record<string, unknown> = { choice: 'maybe' }
    circular.self = circular
    for (const [received, json] of [
      [10n, '10'],
      [circular, { choice: 'maybe', self: '[Circular]' }],
    ] as const) {
      const error = new DecisionError({ functionName: 'Classify', choices: ['good', 'bad'], received })
      const sent = JSON.parse(JSON.stringify(error))
      expect(sent).toMatchObject({ name: 'DecisionError', received: json, choices: ['good', 'bad'] })
      const rehydrated = TinyLLMError.fromJSON(sent)
      expect(DecisionError.isInstance(rehydrated)).toBe(true)
      expect((rehydrated as DecisionError).choices).toEqual(['good', 'bad'])
    }
  })

  it('reports a decide step that returns something other than a string', async () => {
    const decision = new Decision({
      name: 'Classify',
      choices: ['good'],
      decide: () => ({ decision: 42 }) as unknown as DecisionAnswer,
    })
    const error = (await decision.invoke(undefined).catch((caught: unknown) => caught)) as DecisionError
    expect(DecisionError.isInstance(error)).toBe(true)
    expect(error.received).toBe(42)
  })

  it('reports the whole answer when the decide step returns an object without a decision', async () => {
    for (const [answer, shown] of [
      [{ choice: 'good' }, '{"choice":"good"}'],
      [['good'], '["good"]'],
    ] as const) {
      const decision = new Decision({
        name: 'Classify',
        choices: ['good'],
        decide: () => answer as unknown as DecisionAnswer,
      })
      const error = (await decision.invoke(undefined).catch((caught: unknown) => caught)) as DecisionError
      expect(DecisionError.isInstance(error)).toBe(true)
      expect(error.received).toEqual(answer)
      expect(error.message).toBe(`Classify: decision ${shown} is not one of the choices [good]`)
    }
  })

  it('fails with a DecisionError, once, when the answer’s decision cannot be read (a getter or a Proxy that throws)', async () => {
    const trap = () => {
      throw new Error('unreadable')
    }
    for (const answer of [
      {
        get decision(): string {
          return trap()
        },
      },
      new Proxy({ decision: 'good' }, { has: trap }),
      new Proxy(
        { decision: 'good' },
        { has: () => true, get: (_target, key) => (key === 'then' ? undefined : trap()) },
      ),
    ]) {
      const decision = new Decision({
        name: 'Classify',
        choices: ['good'],
        retry: { attempts: 3, initialDelayMs: 1 },
        decide: () => answer as DecisionAnswer,
      })
      const record = await decision.trace(undefined)
      expect(record.status).toBe('failed')
      expect(record.attempts).toBe(1)
      const error = record.error as DecisionError
      expect(DecisionError.isInstance(error)).toBe(true)
      expect(error.message).toMatch(/^Classify: decision .* is not one of the choices \[good\]$/)
      expect(JSON.stringify(error.toJSON())).toContain('DecisionError')
    }
  })

  it('fails with the branch’s own error when the branch fails', async () => {
    const broken = defineFunction({
      name: 'Broken',
      run: () => {
        throw new Error('no capacity')
      },
    })
    const decision = new Decision({ name: 'Classify', decide: () => 'bad', branches: { good: approve, bad: broken } })
    const record = await decision.trace({ applicant: 'Bob', score: 1 })
    expect(record.status).toBe('failed')
    expect(record.error?.functionName).toBe('Broken')
    expect(record.annotations).toEqual({ choice: 'bad' })
    expect(record.children[0]?.status).toBe('failed')
  })

  it('asks again under a retry policy that retries decision errors', async () => {
    const answers = ['Good.', 'good']
    const decision = new Decision({
      name: 'Classify',
      retry: { attempts: 2, initialDelayMs: 1, retryable: (error) => DecisionError.isInstance(error) },
      decide: () => answers.shift()!,
      branches: { good: approve, bad: review },
    })
    const record = await decision.trace({ applicant: 'Ada', score: 900 })
    expect(record.status).toBe('complete')
    expect(record.attempts).toBe(2)
    expect(record.annotations).toEqual({ choice: 'good' })
  })

  it('records the choice of the attempt that routed: an attempt that timed out and answers late neither records its choice nor starts its branch', async () => {
    const late = deferred<string>()
    const badStarted = deferred()
    const releaseBad = deferred()
    const good = defineFunction({ name: 'Good', run: () => 'good branch' })
    const bad = defineFunction({
      name: 'Bad',
      run: async () => {
        badStarted.resolve()
        await releaseBad.promise
        return 'bad branch'
      },
    })
    const decision = new Decision({
      name: 'Classify',
      attemptTimeoutMs: 1_000,
      retry: { attempts: 2, initialDelayMs: 0, retryable: () => true },
      // The first attempt's decide step ignores its signal and answers only once the second attempt is routing.
      decide: (_: unknown, context: RunContext) => (context.attempt === 1 ? late.promise : 'bad'),
      branches: { good, bad },
    })
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    try {
      const tracing = decision.trace(undefined)
      // The first attempt times out; the second one (after a retry delay of 0) decides and starts its branch.
      await vi.advanceTimersByTimeAsync(1_000)
      await vi.advanceTimersByTimeAsync(10)
      await badStarted.promise
      late.resolve('good')
      for (let turn = 0; turn < 5; turn++) await tick()
      releaseBad.resolve()
      const record = await tracing
      expect(record.status).toBe('complete')
      expect(record.attempts).toBe(2)
      expect(record.output).toBe('bad branch')
      expect(record.annotations).toEqual({ choice: 'bad' })
      expect(record.children.map((child) => child.function)).toEqual(['Bad'])
    } finally {
      vi.useRealTimers()
    }
  })

  it('records no choice when the attempt that stands made none: a retry after its branch failed, whose answer is no choice', async () => {
    let branchRuns = 0
    const flaky = defineFunction({
      name: 'Flaky',
      run: () => {
        branchRuns += 1
        throw new TinyLLMError({ message: 'no capacity', retryable: true })
      },
    })
    const answers = ['good', 'Good.']
    const decision = new Decision({
      name: 'Classify',
      retry: { attempts: 2, initialDelayMs: 0, jitter: 0 },
      decide: () => answers.shift()!,
      branches: { good: flaky, bad: review },
    })
    const record = await decision.trace({ applicant: 'Ada', score: 900 })
    expect([record.status, record.attempts, branchRuns]).toEqual(['failed', 2, 1])
    expect(DecisionError.isInstance(record.error)).toBe(true)
    expect(Object.keys(record.annotations)).toEqual([])
    expect(JSON.parse(JSON.stringify(record)).annotations).toEqual({})
    expect(withoutDurations(formatRunTree(record)).split('\n')[0]).not.toContain('choice')
  })

  it('serves concurrent runs with different choices from one instance', async () => {
    const decision = new Decision({ name: 'Classify', decide: byScore, branches: { good: approve, bad: review } })
    const scores = [800, 100, 750, 300, 900]
    const records = await Promise.all(scores.map((score) => decision.trace({ applicant: `a${score}`, score })))
    expect(records.map((record) => record.annotations.choice)).toEqual(['good', 'bad', 'good', 'bad', 'good'])
    expect(records.map((record) => record.children[0]?.function)).toEqual([
      'Approve',
      'Review',
      'Approve',
      'Review',
      'Approve',
    ])
  })

  it('describes its choices and branches', () => {
    const decision = new Decision({ name: 'Classify', decide: byScore, branches: { good: approve, bad: review } })
    expect(decision.describe()).toEqual({
      kind: 'decision',
      name: 'Classify',
      layout: 'choice',
      branches: [
        { choice: 'good', node: { kind: 'function', name: 'Approve' } },
        { choice: 'bad', node: { kind: 'function', name: 'Review' } },
      ],
    })
  })
})

describe('Decision in the original Python tiny-llm’s style', () => {
  class CreditClassifier extends Decision<{ loan_application: string }, 'good' | 'bad'> {
    override async run(input: { loan_application: string }, _context: RunContext) {
      return { decision: input.loan_application.includes('excellent') ? 'good' : 'bad' }
    }
  }

  it('is a subclass whose run returns { decision }: the choice is checked and passed on', async () => {
    const classifier = new CreditClassifier({ name: 'CreditClassification', choices: ['good', 'bad'] })
    expect(await classifier.invoke({ loan_application: 'an excellent history' })).toEqual({ decision: 'good' })
    const record = await classifier.trace({ loan_application: 'missed payments' })
    expect(record.output).toEqual({ decision: 'bad' })
    expect(record.annotations).toEqual({ choice: 'bad' })
    expect(classifier.describe()).toEqual({
      kind: 'decision',
      name: 'CreditClassification',
      layout: 'choice',
      branches: [
        { choice: 'good', node: undefined },
        { choice: 'bad', node: undefined },
      ],
    })
  })

  it('resolves with the checked choice alone, read once: not the object the decide step returned', async () => {
    let reads = 0
    class Tricky extends Decision<unknown, 'good' | 'bad'> {
      override async run() {
        return {
          extra: 'unchecked',
          get decision() {
            reads += 1
            return reads === 1 ? 'good' : 'EVIL'
          },
        }
      }
    }
    const output = await new Tricky({ name: 'tricky', choices: ['good', 'bad'] }).invoke(undefined)
    expect(output).toEqual({ decision: 'good' })
    expect(reads).toBe(1)
  })

  it('rejects a value outside its choices', async () => {
    const classifier = new CreditClassifier({ name: 'CreditClassification', choices: ['good', 'great'] as never })
    const error = await classifier.invoke({ loan_application: 'missed payments' }).catch((caught: unknown) => caught)
    expect(DecisionError.isInstance(error)).toBe(true)
    expect((error as DecisionError).message).toContain('decision "bad" is not one of the choices [good, great]')
  })

  it('routes too, when the subclass is given branches', async () => {
    class Router extends Decision<Application, 'good' | 'bad', { good: typeof approve; bad: typeof review }> {
      override run(application: Application) {
        return { decision: byScore(application) }
      }
    }
    const router = new Router({ name: 'Router', branches: { good: approve, bad: review } })
    expect(await router.invoke({ applicant: 'Ada', score: 900 })).toEqual({ approved: true, applicant: 'Ada' })
    expect(await router.invoke({ applicant: 'Bob', score: 9 })).toEqual({ queued: 'Bob' })
  })

  it('accepts an override of decide, and a plain string from it', async () => {
    class Classifier extends Decision<Application, 'good' | 'bad'> {
      override decide(application: Application) {
        return byScore(application)
      }
    }
    const classifier = new Classifier({ name: 'Classifier', choices: ['good', 'bad'] })
    expect(await classifier.invoke({ applicant: 'Ada', score: 900 })).toEqual({ decision: 'good' })
  })
})

describe('Decision configuration', () => {
  it('reads decide once, so the decide step is the function that was checked', async () => {
    let reads = 0
    const options = {
      name: 'D',
      choices: ['good', 'bad'],
      get decide() {
        reads += 1
        return reads === 1 ? () => 'good' : 'not a function'
      },
    }
    const decision = new Decision(options as never)
    expect(reads).toBe(1)
    expect(await decision.invoke({})).toEqual({ decision: 'good' })
  })

  const decide = (): string => 'good'
  const cases: Array<[string, () => unknown, string, string]> = [
    [
      'no choices',
      () => new Decision({ name: 'd', decide }),
      'choices',
      'd: choices must be a non-empty list of strings (or give branches), got []',
    ],
    [
      'choices that are not a list',
      () => new Decision({ name: 'd', choices: 'good' as never, decide }),
      'choices',
      'd: choices must be a list of strings, got "good"',
    ],
    [
      'a choice that is not a string',
      () => new Decision({ name: 'd', choices: [3] as never, decide }),
      'choices[0]',
      'd: choices[0] must be a non-empty string, got 3',
    ],
    [
      'an empty choice (a branch step key cannot be empty)',
      () => new Decision({ name: 'd', decide, branches: { '': approve } }),
      'choices[0]',
      'd: choices[0] must be a non-empty string, got ""',
    ],
    [
      'a choice with a lone surrogate (a branch step key cannot hold one)',
      () => new Decision({ name: 'd', decide, branches: { 'ok\uDC00': approve } }),
      'choices[0]',
      'd: choices[0] must be well-formed Unicode, without a lone surrogate, got "ok\\udc00"',
    ],
    [
      // Refused at its first hole, not copied whole first: the copy would run the process out of memory.
      'a sparse list of choices as long as a list can be',
      () => new Decision({ name: 'd', choices: Object.assign(['good'], { length: 2 ** 32 - 1 }), decide }),
      'choices[1]',
      'd: choices[1] must be a non-empty string, got undefined',
    ],
    [
      'a choice longer than a step key can be',
      () => new Decision({ name: 'd', choices: ['c'.repeat(1_001)], decide }),
      'choices[0]',
      `d: choices[0] must be a string of at most 1,000 characters, got "${'c'.repeat(59)}…`,
    ],
    [
      'a repeated choice',
      () => new Decision({ name: 'd', choices: ['a', 'a'], decide }),
      'choices',
      'd: choices lists "a" twice',
    ],
    [
      // Refused at its first repeat: a Proxy answering one choice at every index of 2³²−1 is never copied whole (it
      // throws past its hundredth read, so a copy shows as a wrong message, not as a run out of memory).
      'a list as long as a list can be that repeats one choice',
      () => {
        let reads = 0
        const choices = new Proxy(['a'], {
          get: (target, key, receiver) => {
            if (key === 'length') return 2 ** 32 - 1
            if (typeof key !== 'string' || !/^\d+$/.test(key)) return Reflect.get(target, key, receiver)
            if (++reads > 100) throw new Error('read past the first repeat')
            return 'a'
          },
        })
        return new Decision({ name: 'd', choices, decide })
      },
      'choices',
      'd: choices lists "a" twice',
    ],
    [
      'branches that are not an object',
      () => new Decision({ name: 'd', decide, branches: 3 as never }),
      'branches',
      'd: branches must be an object with a Function per choice, got 3',
    ],
    [
      'a choice without a branch',
      () => new Decision({ name: 'd', choices: ['good', 'bad'], decide, branches: { good: approve } as never }),
      'branches.bad',
      'd: branches.bad is missing: every choice needs a branch',
    ],
    [
      'a branch that is not a choice',
      () => new Decision({ name: 'd', choices: ['good'], decide, branches: { good: approve, bad: review } as never }),
      'branches.bad',
      'd: branches.bad is not one of the choices [good]',
    ],
    [
      'a branch keyed by a Symbol, which no choice can be',
      () => new Decision({ name: 'd', decide, branches: { good: approve, [Symbol('bad')]: review } as never }),
      'branches',
      'd: branches must be an object whose keys are strings, got Symbol(bad)',
    ],
    [
      'a branch that is not a Function',
      () => new Decision({ name: 'd', decide, branches: { good: (() => 1) as never } }),
      'branches.good',
      'd: branches.good must be a Function, got () => 1',
    ],
    [
      'a decide step that is not a function',
      () => new Decision({ name: 'd', choices: ['good'], decide: 5 as never }),
      'decide',
      'd: decide must be a function, got 5',
    ],
    [
      'no decide step',
      () => new Decision({ name: 'd', choices: ['good'] }),
      'decide',
      'd: decide is missing: give the `decide` option, or a subclass overriding `decide` (or `run`)',
    ],
    [
      'two decide steps',
      () => {
        class Both extends Decision {
          override decide() {
            return 'good'
          }
        }
        return new Both({ name: 'd', choices: ['good'], decide })
      },
      'decide',
      'd: decide is given more than once: give one of the `decide` option, an override of `decide`, or an override of `run`',
    ],
    [
      'an option it does not know, suggesting the one meant',
      () => new Decision({ name: 'd', decide, branchs: { good: approve } } as never),
      'branchs',
      'd: branchs is not an option; did you mean branches? ' +
        '(known: attemptTimeoutMs, branches, choices, decide, durable, input, name, output, processedOutput, retry, timeoutMs)',
    ],
  ]
  const unreadable = () => {
    throw new Error('unreadable')
  }
  cases.push(
    [
      'branches that cannot be read',
      () => new Decision({ name: 'd', decide, branches: new Proxy({ good: approve }, { ownKeys: unreadable }) }),
      'branches',
      'd: branches could not be read: Error: unreadable',
    ],
    [
      'a branch that cannot be read',
      () => new Decision({ name: 'd', decide, branches: { good: new Proxy(approve, { get: unreadable }) } }),
      'branches',
      'd: branches could not be read: Error: unreadable',
    ],
    [
      'choices that cannot be read',
      () => new Decision({ name: 'd', decide, choices: new Proxy(['good'], { get: unreadable }) }),
      'choices',
      'd: choices could not be read: Error: unreadable',
    ],
  )
  for (const [what, build, option, message] of cases) {
    it(`refuses ${what} at construction`, () => {
      expect(build).toThrow(ConfigurationError)
      expect(configurationErrorOf(build)).toEqual({ option, message })
    })
  }

  it('refuses branches given as a list at construction, whose indexes would otherwise be taken for the choices', () => {
    const build = () => new Decision({ name: 'd', decide, branches: [approve, approve] as never })
    expect(build).toThrow(ConfigurationError)
    const { option, message } = configurationErrorOf(build)
    expect(option).toBe('branches')
    expect(message).toMatch(/^d: branches must be an object with a Function per choice, got \[/)
  })

  it('refuses a branch that is a revoked Proxy at construction, naming the option', () => {
    const revoked = Proxy.revocable(approve, {})
    revoked.revoke()
    const build = () => new Decision({ name: 'd', decide, branches: { good: revoked.proxy } })
    expect(configurationErrorOf(build)).toEqual({
      option: 'branches',
      message: "d: branches could not be read: TypeError: Cannot perform 'get' on a proxy that has been revoked",
    })
  })

  it('fails once, with a ConfigurationError naming the branch, when its branch is revoked after construction', async () => {
    const revoked = Proxy.revocable(approve, {})
    const decision = new Decision({
      name: 'd',
      retry: { attempts: 3, initialDelayMs: 0, jitter: 0 },
      decide,
      branches: { good: revoked.proxy },
    })
    revoked.revoke()
    const record = await decision.trace({ applicant: 'Ada', score: 900 })
    expect(record.attempts).toBe(1)
    expect(ConfigurationError.isInstance(record.error)).toBe(true)
    expect(record.error?.retryable).toBe(false)
    expect([(record.error as ConfigurationError).option, record.error?.message]).toEqual([
      'fn',
      "d: fn could not be read: TypeError: Cannot perform 'get' on a proxy that has been revoked",
    ])
  })

  it('reads the length of its choices once, so a list whose length grows as it is read cannot keep it building', () => {
    const decision = new Decision({ name: 'd', choices: growingList((index) => `c${index}`), decide: () => 'c0' })
    expect(decision.choices).toEqual(['c0', 'c1'])
  })

  it('leaves the options of a subclass to the subclass', () => {
    class Labelled extends Decision<unknown, 'yes'> {
      readonly label: string
      constructor(options: DecisionOptions<unknown, 'yes', undefined> & { readonly label: string }) {
        super(options)
        this.label = options.label
      }
    }
    const labelled = new Labelled({ name: 'd', choices: ['yes'], decide, label: 'mine' })
    expect(labelled.label).toBe('mine')
  })

  it('is a Function like any other', () => {
    const decision = new Decision({ name: 'd', choices: ['good'], decide })
    expect(decision).toBeInstanceOf(Function)
  })

  it('asks again on a retry under a journal when the call is keyed by attempt; keyed alike, it replays the answer', async () => {
    const ada: Application = { applicant: 'Ada', score: 810 }
    const decider = (keyed: boolean) => {
      const answers = ['maybe', 'good']
      const ask = defineFunction({ name: 'ask', durable: true, run: () => answers.shift() ?? 'none' })
      return new Decision({
        name: 'Classify',
        choices: ['good', 'bad'],
        branches: { good: approve, bad: approve },
        retry: { attempts: 2, initialDelayMs: 1, retryable: (error) => DecisionError.isInstance(error) },
        decide: (_: Application, context: RunContext) =>
          context.invoke(ask, undefined, keyed ? { key: `ask@${context.attempt}` } : undefined),
      })
    }
    expect(await decider(true).invoke(ada, { runId: 'keyed', journal: new MemoryJournal() })).toEqual({
      approved: true,
      applicant: 'Ada',
    })
    // The first attempt's call finished and was journaled: the second attempt, keyed alike, replays its answer.
    const replayed = await decider(false)
      .invoke(ada, { runId: 'alike', journal: new MemoryJournal() })
      .catch((error: unknown) => error)
    expect(DecisionError.isInstance(replayed)).toBe(true)
  })
})
