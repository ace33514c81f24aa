import { redact, redactString } from '@tinyllm/logger'
import { describeIssues, ValidationError } from './errors.js'
import { checkBoolean, checkKnownOptions, checkOneOf } from './options.js'

const ansi = {
  red: '\u001b[31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
  dim: '\u001b[2m',
  bold: '\u001b[1m',
  reset: '\u001b[0m',
}
const marks = { complete: ['green', '✔'], failed: ['red', '✖'], running: ['yellow', '…'] }
const formatOptionKeys = new Set(['colors', 'states'])
/**
 * Renders a finished run and its children as a readable tree: status, Function and kind, duration, the state path,
 * attempts, annotations (such as a Decision's choice; a provider's response id, and finish reasons that are all
 * `stop`, are left out as noise), tokens, cost and the error. Secrets in annotations and schema issues are replaced,
 * as in a log line. An option it does not know, or of the wrong kind, is a ConfigurationError.
 *
 * @example
 * const record = await pipeline.trace(input)
 * console.log(formatRunTree(record))
 * // ✔ Credit analysis (chain) 12.4 ms
 * // ├─ ✔ CreditClassification (decision) 10.1 ms choice=bad tokens=57 cost=$0.000031
 * // …
 */
export function formatRunTree(record, options = {}) {
  checkKnownOptions(options, formatOptionKeys, 'formatRunTree')
  const colors = checkBoolean(options.colors, 'colors', 'formatRunTree')
  const mode = checkOneOf(options.states, 'states', ['full', 'compact'], 'formatRunTree') ?? 'compact'
  const lines = []
  const paint = colors === true ? (code, text) => `${ansi[code]}${text}${ansi.reset}` : (_, text) => text
  const visit = (node, prefix, childPrefix) => {
    const [colour, mark] = marks[node.status]
    const parts = [`${paint(colour, mark)} ${paint('bold', node.function)}`, paint('dim', `(${node.kind})`)]
    if (node.durationMs !== undefined) parts.push(formatDuration(node.durationMs))
    if (node.attempts > 1) parts.push(paint('yellow', `attempts=${node.attempts}`))
    // Annotations quote what a run was handed (a server's model name, a request id): secrets go, as in a log line.
    for (const [key, value] of Object.entries(redact(node.annotations))) {
      if (!isRoutine(key, value)) parts.push(`${key}=${formatValue(value)}`)
    }
    if (node.usage !== undefined) {
      parts.push(`tokens=${node.usage.totalTokens}`)
      parts.push(
        node.usage.unpricedCalls > 0
          ? `cost=${node.usage.calls === node.usage.unpricedCalls ? 'unknown' : `≥$${node.usage.costUsd.toFixed(6)}`}`
          : `cost=$${node.usage.costUsd.toFixed(6)}`,
      )
    }
    lines.push(prefix + parts.join(' '))
    const detail = childPrefix + (node.children.length > 0 ? '│  ' : '   ')
    const path = statePath(node, mode)
    if (path !== undefined) lines.push(detail + paint('dim', path))
    for (const entry of node.states) {
      if (entry.state === 'retrying' && entry.error !== undefined) {
        lines.push(
          detail + paint('yellow', `↻ attempt ${entry.attempt} failed, retrying: ${errorHeadline(entry.error)}`),
        )
      }
    }
    if (node.error !== undefined) lines.push(detail + paint('red', errorHeadline(node.error)))
    node.children.forEach((child, index) => {
      const last = index === node.children.length - 1
      visit(child, `${childPrefix}${last ? '└─ ' : '├─ '}`, `${childPrefix}${last ? '   ' : '│  '}`)
    })
  }
  visit(record, '', '')
  return lines.join('\n')
}
/** Annotations that say nothing a reader of the tree needs: a response id, and the usual finish reason. */
function isRoutine(key, value) {
  if (key === 'responseId') return true
  return key === 'finishReasons' && Array.isArray(value) && value.every((reason) => reason === 'stop')
}
function errorHeadline(error) {
  const where = error.state !== undefined ? ` in ${error.state}` : ''
  // A ValidationError read back from JSON that lost its issues is shown by its message.
  return ValidationError.isInstance(error) && Array.isArray(error.issues)
    ? `${error.name}${where}: ${redactString(describeIssues(error.issues, 5).join('; '))}`
    : `${error.name}${where}: ${firstLine(error.message)}`
}
const happyPath = 'init>input_validation>running>output_validation>processing_output>complete'
function statePath(node, mode) {
  const states = node.states.map((entry) => entry.state)
  if (mode === 'compact' && states.join('>') === happyPath) return undefined
  return states.join(' → ')
}
function formatDuration(ms) {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`
  if (ms < 1000) return `${ms.toFixed(1)} ms`
  return `${(ms / 1000).toFixed(2)} s`
}
function formatValue(value) {
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
function firstLine(text) {
  const end = text.indexOf('\n')
  return end === -1 ? text : text.slice(0, end)
}
//# sourceMappingURL=run-tree.js.map
