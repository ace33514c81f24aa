import type { AnthropicCompatibleServerOptions } from '@tinyllm/anthropic/testing'
import type { OpenAICompatibleServerOptions } from '@tinyllm/openai/testing'

/**
 * What the harness checks of one snippet besides type-checking it, running it and keeping its `console.log` promises.
 * A snippet is picked by a piece of its code, so that the check follows it when the README is reordered.
 */
export interface SnippetCheck {
  /** A piece of code only this snippet of the README contains. */
  readonly containing: string
  /**
   * For a snippet that reaches OpenAI the way a user's program does, through `OPENAI_API_KEY` and `OPENAI_BASE_URL`:
   * the harness starts an OpenAI-compatible loopback server with these options and points the variables at it.
   */
  readonly openAIServer?: OpenAICompatibleServerOptions
  /** The same for Anthropic, through `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL`. */
  readonly anthropicServer?: AnthropicCompatibleServerOptions
  /** Lines the program's standard output must hold. */
  readonly prints?: readonly RegExp[]
  /**
   * A piece of the README's text right before a ```text block that shows what the snippet prints: every line of the
   * block must be printed, in order, a duration standing for any duration (as an example's README is held to its run).
   */
  readonly printsBlockAfter?: string
  /** What the harness's OpenAI-compatible server must have received, matched as `toMatchObject` matches. */
  readonly openAIRequests?: readonly object[]
}

/** A README whose ```ts blocks the harness type-checks and runs. */
export interface Readme {
  /** Relative to the repository root. */
  readonly path: string
  /** Each must appear in some snippet: what the README promises to show. */
  readonly shows: readonly string[]
  /** Fewest snippets it may have. */
  readonly atLeast?: number
  readonly checks?: readonly SnippetCheck[]
}

export const readmes: readonly Readme[] = [
  {
    path: 'README.md',
    shows: ['extends Decision', 'new Chain(', 'new Parallel(', 'formatRunTree(', 'toMermaid('],
    checks: [
      {
        containing: 'class CreditClassifier extends Decision',
        openAIServer: { replies: ['Bad'] },
        printsBlockAfter: 'answering `Bad`, it prints:',
        prints: [
          /^Credit classification: Bad$/m,
          /^✔ Credit analysis \(chain\) .* tokens=\d+ cost=\$\d+\.\d{6}$/m,
          /^├─ ✔ CreditClassification \(decision\) .*choice=bad/m,
          /^│ {2}├─ ✔ openai_chat \(openai-chat\) .* tokens=\d+ cost=\$\d+\.\d{6}$/m,
          /^│ {2}└─ ✔ Bad credit analysis \(parallel\)/m,
          /EmailNotification \(function\)/,
          /^flowchart TD$/m,
        ],
        openAIRequests: [{ model: 'gpt-4o-mini', temperature: 0, n: 1 }],
      },
    ],
  },
  {
    path: 'packages/core/README.md',
    shows: [
      'defineFunction(',
      'extends Function',
      'retryInvalidOutput',
      'attemptTimeoutMs',
      'AbortController',
      'context.invoke(',
      'parent: null',
      'context.stream',
      'formatRunTree(',
      'onLifecycleEvent(',
      'brandError(',
      'checkNumber(',
      'maxConcurrentRuns',
      'budget',
      'new FSM(',
      'new Validator(',
      'new CancelScope(',
    ],
  },
  {
    path: 'packages/llm/README.md',
    shows: [
      'new LLMCall(',
      'new ScriptedChatModel(',
      'new PromptTemplate(',
      'structuredOutput',
      '.stream(',
      'parseToolArguments(',
      'new RateLimiter(',
      'definePrices(',
      'budget',
      'attemptTimeoutMs',
      'implements ChatModel',
    ],
  },
  {
    path: 'packages/testing/README.md',
    shows: ['startLoopbackServer(', 'createCassette(', 'injectFaults(', 'sseEvent('],
  },
  {
    path: 'packages/logger/README.md',
    shows: ['createConsoleLogger(', 'createMemoryLogger(', 'toLogger(', 'registerSecret(', 'setDefaultLogger('],
  },
  {
    path: 'packages/flow/README.md',
    shows: ['new Chain(', 'new Decision(', 'new Parallel(', 'extends Decision', 'describeGraph(', 'toMermaid('],
  },
  {
    path: 'packages/openai/README.md',
    atLeast: 6,
    shows: [
      'new OpenAIChat(',
      'new OpenAIPromptTemplate(',
      'new OpenAISystemMessage(',
      'new OpenAIUserMessage(',
      'new OpenAIChatModel(',
      'new LLMCall(',
      'startOpenAICompatibleServer(',
    ],
  },
  {
    path: 'packages/anthropic/README.md',
    atLeast: 6,
    shows: ['new AnthropicChat(', 'new AnthropicChatModel(', 'startAnthropicCompatibleServer('],
  },
  {
    path: 'packages/conformance/README.md',
    shows: ['describeChatModelConformance('],
  },
  {
    path: 'packages/agent/README.md',
    atLeast: 7,
    shows: [
      'new Agent(',
      'defineTool(',
      'asTool(',
      'finalAnswer',
      'onToolError',
      '.stream(',
      'needsApproval',
      '.resume(',
      'MemoryJournal',
      'connectMCPServer(',
      'text/event-stream',
    ],
  },
  {
    path: 'packages/sqlite-journal/README.md',
    shows: ['new SqliteJournal('],
  },
  {
    path: 'packages/otel/README.md',
    shows: ['new RunTracer('],
  },
  {
    path: 'packages/bullmq/README.md',
    shows: ['serve(', 'new BullMQExecutor(', 'new RedisRateLimiter('],
  },
  {
    path: 'packages/report/README.md',
    shows: ['renderRunReport(', 'writeRunReport('],
  },
]
