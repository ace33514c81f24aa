import type { WritableLevel } from './log-level.js'

const LABELS: Readonly<Record<WritableLevel, string>> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO ',
  warn: 'WARN ',
  error: 'ERROR',
}

/** ANSI foreground colour per level: grey, cyan, green, yellow, red. */
const LEVEL_COLOURS: Readonly<Record<WritableLevel, number>> = { trace: 90, debug: 36, info: 32, warn: 33, error: 31 }

const DIM = '\u001b[2m'
const UNDIM = '\u001b[22m'
const RESET_COLOUR = '\u001b[39m'

const UNICODE_SPACE = /\s/

/** Causes are followed this far; a longer chain is almost certainly a cycle. */
const MAX_CAUSES = 8

/** An error as `redact` serialises it. */
interface SerialisedError {
  readonly name: string
  readonly message: string
  readonly stack: string
  readonly cause?: unknown
  readonly [key: string]: unknown
}

/**
 * One human-readable line for a terminal: `12:04:05.123 INFO  message key=value ...`, then the stack of each error
 * field, indented, with its causes. `message` and `fields` must already be redacted.
 */
export function formatPrettyLine(
  time: Date,
  level: WritableLevel,
  message: string,
  fields: Record<string, unknown>,
  colours: boolean,
): string {
  const label = colours ? `\u001b[${LEVEL_COLOURS[level]}m${LABELS[level]}${RESET_COLOUR}` : LABELS[level]
  let line = `${dim(formatTime(time), colours)} ${label} ${escapeControls(message, false)}`
  let stacks = ''
  for (const key of Object.keys(fields)) {
    const value = fields[key]
    if (!isSerialisedError(value)) {
      line += ` ${dim(`${formatText(key)}=`, colours)}${formatValue(value)}`
      continue
    }
    line += ` ${dim(`${formatText(key)}=`, colours)}${formatText(`${value.name}: ${value.message}`)}`
    for (const property of Object.keys(value)) {
      if (property === 'name' || property === 'message' || property === 'stack' || property === 'cause') continue
      line += ` ${dim(`${formatText(`${key}.${property}`)}=`, colours)}${formatValue(value[property])}`
    }
    stacks += `\n${dim(indent(describeError(value)), colours)}`
  }
  return `${line}${stacks}\n`
}

function describeError(error: SerialisedError): string {
  let text = error.stack
  let cause = error.cause
  for (let depth = 0; depth < MAX_CAUSES && cause !== undefined; depth++) {
    if (isSerialisedError(cause)) {
      text += `\nCaused by: ${cause.stack}`
      cause = cause.cause
    } else {
      text += `\nCaused by: ${formatValue(cause)}`
      break
    }
  }
  return text
}

function isSerialisedError(value: unknown): value is SerialisedError {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Record<string, unknown>
  return (
    typeof candidate.name === 'string' && typeof candidate.message === 'string' && typeof candidate.stack === 'string'
  )
}

function dim(text: string, colours: boolean): string {
  return colours ? `${DIM}${text}${UNDIM}` : text
}

/** Every line indented, so nothing in a stack can pass for a log line of its own; control characters escaped. */
function indent(text: string): string {
  return `    ${escapeControls(text, true).replaceAll('\n', '\n    ')}`
}

// C0 and C1 control characters: ESC starts terminal escape sequences, a newline starts what looks like a new log line;
// so do U+2028 and U+2029 for an editor or a reader of the file, as JSON lines escape them too.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for.
const CONTROL_CHARACTERS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for.
const CONTROL_CHARACTERS_AND_NEWLINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

/** `text` with control characters written as escapes (`\n`, `\u001b`), newlines kept when they separate lines. */
export function escapeControls(text: string, keepNewlines: boolean): string {
  return text.replace(keepNewlines ? CONTROL_CHARACTERS : CONTROL_CHARACTERS_AND_NEWLINE, escapeCharacter)
}

function escapeCharacter(character: string): string {
  if (character === '\n') return '\\n'
  if (character === '\r') return '\\r'
  if (character === '\t') return '\\t'
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/**
 * Whether bare text would be ambiguous (spaces, quotes, `=`) or unsafe (control characters) as a key or a value of a
 * `key=value` line.
 */
function needsQuotes(text: string): boolean {
  if (text === '') return true
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (code <= 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x22 || code === 0x3d || code === 0x5c) return true
  }
  return UNICODE_SPACE.test(text)
}

/** A key or a string value: bare when that is unambiguous, else quoted, its control characters escaped. */
function formatText(text: string): string {
  return needsQuotes(text) ? quote(text) : text
}

/** `JSON.stringify` escapes C0 control characters but leaves DEL and C1 (`\u009b` starts an escape too) as they are. */
function quote(value: unknown): string {
  return escapeControls(String(JSON.stringify(value)), false)
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return formatText(value)
  if (value === undefined || typeof value === 'number') return String(value)
  return quote(value)
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0')
}

function formatTime(time: Date): string {
  return `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}.${pad(time.getMilliseconds(), 3)}`
}
