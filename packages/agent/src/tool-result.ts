import {
  AbortError,
  assertJsonSafe,
  safeStringify,
  TimeoutError,
  type TinyLLMError,
  ValidationError,
  type ValidationIssue,
} from '@tinyllm/core'
import { ToolCallError } from '@tinyllm/llm'

/** The most issues of a tool's validation error the model is told: enough to fix its arguments by. */
const maxIssuesTold = 20

/**
 * A tool's result checked to be JSON-safe (at most 1 MiB of JSON), as the copy that was checked: it is what goes on to
 * the journal, the stream and the model. Read into plain data once, a result cannot be checked as one value and sent
 * as another — a getter answering each reading its own, or an object the tool keeps and fills after it returned.
 * Throws a ValidationError (`processing_output`) naming the path.
 */
export function jsonSafeResult(value: unknown, functionName: string): unknown {
  const where = { functionName, state: 'processing_output' }
  // On the result itself first: a Date, a Map or a class instance is named where it is, not read as its JSON.
  assertJsonSafe(value, where)
  if (typeof value !== 'object' || value === null) return value
  let copy: unknown
  try {
    copy = JSON.parse(JSON.stringify(value) ?? 'null')
  } catch (cause) {
    throw new ValidationError({
      functionName,
      state: 'processing_output',
      issues: [
        {
          path: [],
          message: `it could not be read again (${safeStringify(cause instanceof Error ? cause.message : cause, 200)}), so it is not JSON-safe`,
        },
      ],
      cause,
    })
  }
  assertJsonSafe(copy, where)
  return copy
}

/** What the model is told a tool returned: a string as it is, anything else as JSON. */
export function toolResultContent(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value ?? null) as string)
}

/** What the model is told when a call did not give a result: `{"error": "…"}`. */
export function toolErrorContent(message: string): string {
  return JSON.stringify({ error: message })
}

/**
 * Why a tool call failed, in words for the model: what to fix in its arguments, or what went wrong with the tool. The
 * tool's own error message is included (as it is redacted in every tinyllm error). Given the tool's name, a validation
 * error of another Function — a step the tool ran, refusing what the tool gave it — is the tool's failure, not the
 * model's arguments or the tool's result.
 */
export function describeToolFailure(error: TinyLLMError, toolName?: string): string {
  if (ToolCallError.isInstance(error)) {
    if (error.reason === 'invalid-json') return `the arguments are not valid JSON: ${error.message}`
    if (error.reason === 'unknown-tool') return error.message
  }
  if (ValidationError.isInstance(error)) {
    // The issues as the error's JSON gives them (registered secrets redacted, as they are in its message), the first
    // 20 of them and a count of the rest: the text goes back to the model, and is sent again at every later turn.
    const json = error.toJSON() as { issues: ReadonlyArray<ValidationIssue>; issuesLeftOut?: number }
    const listed = json.issues.slice(0, maxIssuesTold).map((issue) => `${formatPath(issue.path)}: ${issue.message}`)
    const leftOut = json.issues.length - listed.length + (json.issuesLeftOut ?? 0)
    if (leftOut > 0) listed.push(`… and ${leftOut} more`)
    const issues = listed.join('; ')
    if (toolName !== undefined && error.functionName !== toolName) {
      const what = error.state === 'input_validation' ? 'its input' : 'its result'
      return `the tool failed: ${error.functionName ?? 'a step it ran'} refused ${what}: ${issues}`
    }
    if (error.state === 'input_validation') return `invalid arguments: ${issues}`
    // The issues say why: what JSON cannot carry, or that the result's JSON is larger than a result may be.
    if (error.state === 'processing_output') return `the tool's result cannot be sent back: ${issues}`
    return `the tool's result is invalid: ${issues}`
  }
  if (TimeoutError.isInstance(error)) return `the tool did not finish in time (${error.timeoutMs} ms) and was stopped`
  if (AbortError.isInstance(error)) return 'the tool call was cancelled'
  return `the tool failed: ${error.message}`
}

/** `applicant.incomes[0]`, or `(root)`. */
function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(root)'
  let text = ''
  for (const segment of path)
    text += typeof segment === 'number' ? `[${segment}]` : text === '' ? String(segment) : `.${String(segment)}`
  return text
}
