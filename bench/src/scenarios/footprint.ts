import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import type { BenchSize, Measurement, RepetitionPlan, SubjectDefinition } from '../harness/scenario.ts'
import { defineScenario } from '../harness/scenario.ts'
import { waitForTurn } from '../harness/turns.ts'

const run = promisify(execFile)

/** Where the packages are resolved from: the bench package, like a user's app that depends on them. */
const benchDirectory = fileURLToPath(new URL('../..', import.meta.url))

/**
 * Left out of every bundle: the user's schema library, which every one of these packages leaves to the user (a
 * peer dependency of `ai`, a dependency of `@langchain/core`, not used at all by `@tinyllm/*`, which take any Standard
 * Schema).
 */
const sharedExternals = ['zod', 'zod/*']

/** Parameters: no size, the packages are what they are. */
export type FootprintParams = Record<string, never>

/** Bundles `specifiers` (each module's whole public API) minified for Node and returns its bytes, raw and gzipped. */
export async function bundleSize(
  specifiers: readonly string[],
  externals: readonly string[] = [],
): Promise<{ minifiedBytes: number; gzipBytes: number; inputs: number }> {
  const { build } = await import('esbuild')
  const imports = specifiers.map((specifier, index) => `import * as m${index} from ${JSON.stringify(specifier)}`)
  const exports = `export { ${specifiers.map((_, index) => `m${index}`).join(', ')} }`
  const result = await build({
    stdin: { contents: `${imports.join('\n')}\n${exports}\n`, resolveDir: benchDirectory, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    external: [...sharedExternals, ...externals],
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
  const output = result.outputFiles[0]
  if (output === undefined) throw new Error(`esbuild produced no output for ${specifiers.join(', ')}`)
  return {
    minifiedBytes: output.contents.byteLength,
    gzipBytes: gzipSync(output.contents, { level: 9 }).byteLength,
    inputs: Object.keys(result.metafile.inputs).length,
  }
}

/** Imports `specifiers` in a brand-new Node.js process and returns how long the imports took, in ms. */
export async function coldImportMs(specifiers: readonly string[]): Promise<number> {
  const source = [
    'const started = performance.now()',
    ...specifiers.map((specifier) => `await import(${JSON.stringify(specifier)})`),
    'process.stdout.write(String(performance.now() - started))',
  ].join('\n')
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', source], { cwd: benchDirectory })
  const milliseconds = Number(stdout.trim())
  if (!Number.isFinite(milliseconds)) throw new Error(`cold import of ${specifiers.join(', ')} printed ${stdout}`)
  return milliseconds
}

function subject(
  id: string,
  label: string,
  group: SubjectDefinition<FootprintParams>['group'],
  specifiers: readonly string[],
  options: { readonly externals?: readonly string[]; readonly compareTo?: string } = {},
): SubjectDefinition<FootprintParams> {
  return {
    id,
    label,
    group,
    ...(options.compareTo === undefined ? {} : { compareTo: options.compareTo }),
    async measure(_params: FootprintParams, plan: RepetitionPlan): Promise<Measurement> {
      const size = await bundleSize(specifiers, options.externals)
      for (let warm = 0; warm < plan.warmup; warm++) await coldImportMs(specifiers)
      const importMs: number[] = []
      for (let repetition = 0; repetition < plan.repetitions; repetition++) {
        await waitForTurn()
        importMs.push(await coldImportMs(specifiers))
      }
      return {
        // A bundle's size is the same every time: one value each.
        metrics: { gzipKiB: [size.gzipBytes / 1024], minifiedKiB: [size.minifiedBytes / 1024], importMs },
        details: {
          entry: specifiers.join(' + '),
          'modules bundled': size.inputs,
          externals: [...sharedExternals, ...(options.externals ?? [])].join(', '),
        },
      }
    },
  }
}

const langchainCore = [
  '@langchain/core/runnables',
  '@langchain/core/messages',
  '@langchain/core/language_models/chat_models',
  '@langchain/core/prompts',
]

/** Scenario 5: what the packages add to an app, on disk and at start-up. */
export const footprint = defineScenario<FootprintParams>({
  id: 'footprint',
  title: 'Footprint',
  method: [
    "Bundle size: esbuild bundles each entry's whole public API (`import * as m from …; export { m }`, so nothing is",
    'tree-shaken away) for `platform: node`, ESM, minified; the output is gzipped at level 9. Everything the entry',
    'imports is bundled (the `openai` SDK inside `@tinyllm/openai` and `@langchain/openai` included, shown without it',
    'too) except Node built-ins and zod, the schema library all of them leave to the user. `@langchain/core` has no',
    'root entry: its counterpart of tinyllm core + flow is `runnables` + `messages` + `language_models/chat_models` +',
    '`prompts`. Cold import: `await import()` of the same entries in a brand-new `node` process, timed inside it',
    '(process start-up excluded), one process per repetition after warm-up processes that fill the file cache; it',
    'always loads the real dependencies, so the "without the openai SDK" row imports the SDK too. undici, the',
    'transport under `@tinyllm/openai`, is imported at the first call, not with the package.',
  ].join(' '),
  metrics: [
    { key: 'gzipKiB', label: 'min+gzip (KiB)', better: 'lower', digits: 1 },
    { key: 'minifiedKiB', label: 'minified (KiB)', better: 'lower', digits: 1 },
    { key: 'importMs', label: 'cold import (ms)', better: 'lower', digits: 1 },
  ],
  primaryMetric: 'gzipKiB',
  reference: 'tinyllm-core-flow',
  cases: (_size: BenchSize) => [{ id: 'packages', label: 'packages', params: {} }],
  plan: (size) => (size === 'smoke' ? { warmup: 0, repetitions: 1 } : { warmup: 2, repetitions: 10 }),
  timeoutMs: (size) => (size === 'smoke' ? 30_000 : 180_000),
  subjects: [
    subject('tinyllm-core', '@tinyllm/core (+ logger)', 'tinyllm', ['@tinyllm/core']),
    subject('tinyllm-core-flow', '@tinyllm/core + @tinyllm/flow', 'tinyllm', ['@tinyllm/core', '@tinyllm/flow']),
    subject('tinyllm-openai', '@tinyllm/openai (+ core, openai SDK, undici)', 'tinyllm', ['@tinyllm/openai']),
    subject(
      'tinyllm-openai-no-sdk',
      '@tinyllm/openai without the openai SDK and undici',
      'tinyllm',
      ['@tinyllm/openai'],
      {
        externals: ['openai', 'openai/*', 'undici'],
        compareTo: 'tinyllm-openai-no-sdk',
      },
    ),
    subject('langchain-core', '@langchain/core (runnables, messages, chat models, prompts)', 'peer', langchainCore),
    subject('langgraph', '@langchain/langgraph (+ @langchain/core)', 'peer', ['@langchain/langgraph']),
    subject('ai', 'ai (AI SDK core)', 'peer', ['ai']),
    subject('langchain-openai', '@langchain/openai (+ openai SDK)', 'peer', ['@langchain/openai'], {
      compareTo: 'tinyllm-openai',
    }),
    subject('ai-sdk-openai', '@ai-sdk/openai (own fetch client)', 'peer', ['@ai-sdk/openai'], {
      compareTo: 'tinyllm-openai-no-sdk',
    }),
  ],
})
