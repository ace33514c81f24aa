import { constants } from 'node:buffer'
import { maxListedKeys, quotedKey, TemplateError } from './template-error.js'

/** A template split once into literal text and placeholders, ready to render many times. */
export interface ParsedTemplate {
  /** The template as written. */
  readonly source: string
  /** Every placeholder as written, in order of appearance (e.g. `name`, `applicant.name`). */
  readonly placeholders: ReadonlyArray<string>
  /** Literal text and placeholder paths, alternating as they appear. */
  readonly parts: ReadonlyArray<string | TemplatePlaceholder>
}

/** One `{path.to.value}` of a template. */
export interface TemplatePlaceholder {
  /** As written between the braces. */
  readonly source: string
  /** The property names to follow, in order. */
  readonly path: ReadonlyArray<string>
}

/** Where a rendering happens, so that errors can name the Function. */
export interface TemplateLocation {
  readonly functionName?: string
  readonly state?: string
}

/**
 * What {@link parseTemplate} makes, frozen: {@link renderTemplate} renders it without checking it again. A parsed
 * template made any other way (by hand, read back from JSON) is checked part by part before it is rendered.
 */
class CheckedTemplate implements ParsedTemplate {
  readonly source: string
  readonly placeholders: ReadonlyArray<string>
  readonly parts: ReadonlyArray<string | TemplatePlaceholder>

  constructor(source: string, placeholders: string[], parts: Array<string | TemplatePlaceholder>) {
    this.source = source
    this.placeholders = Object.freeze(placeholders)
    this.parts = Object.freeze(parts)
    Object.freeze(this)
  }
}

/** Path segments that would reach into prototypes; rejected wherever they appear. */
const forbiddenSegments: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor'])
const segmentPattern = /^[\p{L}\p{N}_$-]+$/u

/**
 * Splits a template into text and placeholders. `{name}` and `{applicant.name}` are placeholders; `{{` and `}}` are
 * literal braces. Throws {@link TemplateError} (`syntax` or `forbidden`) for an unbalanced brace, an empty or malformed
 * name, or a segment `__proto__`, `prototype` or `constructor`.
 *
 * @example
 * parseTemplate('Dear {applicant.name}, {{ok}}').placeholders // ['applicant.name']
 */
export function parseTemplate(template: string, location?: TemplateLocation): ParsedTemplate {
  if (typeof template !== 'string') {
    throw new TemplateError({
      reason: 'syntax',
      message: `a template must be a string, got ${typeof template}`,
      ...location,
    })
  }
  const parts: Array<string | TemplatePlaceholder> = []
  const placeholders: string[] = []
  let text = ''
  let index = 0
  const length = template.length
  while (index < length) {
    const char = template[index] as string
    if (char === '{') {
      if (template[index + 1] === '{') {
        text += '{'
        index += 2
        continue
      }
      const close = template.indexOf('}', index + 1)
      const nextOpen = template.indexOf('{', index + 1)
      if (close === -1 || (nextOpen !== -1 && nextOpen < close)) {
        throw syntaxError(`unmatched '{' at position ${index} (write '{{' for a literal brace)`, location)
      }
      const source = template.slice(index + 1, close)
      const placeholder = parsePlaceholder(source, location)
      if (text !== '') parts.push(text)
      text = ''
      parts.push(placeholder)
      placeholders.push(source)
      index = close + 1
    } else if (char === '}') {
      if (template[index + 1] !== '}') {
        throw syntaxError(`unmatched '}' at position ${index} (write '}}' for a literal brace)`, location)
      }
      text += '}'
      index += 2
    } else {
      // Copy a run of plain text at once; code units pass through untouched, lone surrogates included.
      let end = index + 1
      while (end < length) {
        const next = template.charCodeAt(end)
        if (next === 0x7b || next === 0x7d) break
        end += 1
      }
      text += template.slice(index, end)
      index = end
    }
  }
  if (text !== '') parts.push(text)
  return new CheckedTemplate(template, placeholders, parts)
}

function parsePlaceholder(source: string, location: TemplateLocation | undefined): TemplatePlaceholder {
  const path = source.split('.')
  for (const segment of path) {
    if (forbiddenSegments.has(segment)) {
      throw new TemplateError({
        reason: 'forbidden',
        message: `placeholder {${source}}: the segment '${segment}' is not allowed (templates read only plain data)`,
        placeholder: source,
        ...location,
      })
    }
    if (!segmentPattern.test(segment)) {
      throw new TemplateError({
        reason: 'syntax',
        message: `placeholder {${source}}: ${segment === '' ? 'empty name or segment' : `invalid segment '${segment}'`} (names are letters, digits, '_', '$' and '-', separated by '.')`,
        placeholder: source,
        ...location,
      })
    }
  }
  return Object.freeze({ source, path: Object.freeze(path) })
}

function syntaxError(message: string, location: TemplateLocation | undefined): TemplateError {
  return new TemplateError({ reason: 'syntax', message: `template syntax: ${message}`, ...location })
}

/**
 * Renders a template by plain lookup: each `{a.b}` is replaced by the own property `b` of the own property `a` of
 * `variables`. Nothing is evaluated, prototypes are never read, getters are never called. Values must be strings,
 * finite numbers, bigints or booleans. Throws {@link TemplateError}: `missing` (naming the placeholder and listing the
 * keys available there), `not-scalar`, `unreadable` (an object whose reading throws, such as a `Proxy`), `too-long` (the
 * text would be longer than a string can be), `forbidden` or `syntax` (also for a parsed template not made by
 * {@link parseTemplate} with a part it would not make).
 *
 * @example
 * renderTemplate('Hello {user.name}!', { user: { name: 'Ada' } }) // 'Hello Ada!'
 * renderTemplate('{{literal}}', {}) // '{literal}'
 */
export function renderTemplate(
  template: string | ParsedTemplate,
  variables: unknown,
  location?: TemplateLocation,
): string {
  const parts = template instanceof CheckedTemplate ? template.parts : partsOf(template, location)
  let output = ''
  for (const part of parts) {
    const text = typeof part === 'string' ? part : lookup(part, variables, location)
    if (output.length + text.length > constants.MAX_STRING_LENGTH) {
      throw new TemplateError({
        reason: 'too-long',
        message: `the rendered text would be longer than the longest string JavaScript can hold (${constants.MAX_STRING_LENGTH} characters)${typeof part === 'string' ? '' : ` at {${part.source}}`}`,
        ...(typeof part === 'string' ? {} : { placeholder: part.source }),
        ...location,
      })
    }
    output += text
  }
  return output
}

/**
 * The parts of a template not made by {@link parseTemplate}: a string is parsed; a parsed template made otherwise has
 * each placeholder's path checked as parseTemplate checks it (its `source` is made from the path, never quoted as
 * given); anything else (a number, null, an object without parts) is refused as not a string.
 */
function partsOf(
  template: unknown,
  location: TemplateLocation | undefined,
): ReadonlyArray<string | TemplatePlaceholder> {
  if (typeof template !== 'object' || template === null) return parseTemplate(template as string, location).parts
  try {
    const parts: unknown = (template as { parts?: unknown }).parts
    if (!Array.isArray(parts)) return parseTemplate(template as unknown as string, location).parts
    const checked: Array<string | TemplatePlaceholder> = []
    for (let index = 0; index < parts.length; index++) {
      const part: unknown = parts[index]
      if (typeof part === 'string') {
        checked.push(part)
        continue
      }
      const path: unknown = typeof part === 'object' && part !== null ? (part as { path?: unknown }).path : undefined
      if (!Array.isArray(path) || !path.every((segment) => typeof segment === 'string')) {
        throw syntaxError(`parts[${index}] is neither text nor a placeholder ({ source, path })`, location)
      }
      checked.push(parsePlaceholder(path.join('.'), location))
    }
    return checked
  } catch (error) {
    if (TemplateError.isInstance(error)) throw error
    throw new TemplateError({
      reason: 'syntax',
      message: 'template syntax: the parsed template could not be read: reading its parts threw (a Proxy?)',
      cause: error,
      ...location,
    })
  }
}

function lookup(placeholder: TemplatePlaceholder, variables: unknown, location: TemplateLocation | undefined): string {
  let current: unknown = variables
  const path = placeholder.path
  for (let depth = 0; depth < path.length; depth++) {
    const segment = path[depth] as string
    if (typeof current !== 'object' || current === null) {
      throw new TemplateError({
        reason: 'missing',
        message: `missing variable {${placeholder.source}}: ${depth === 0 ? 'the input is not an object' : `'${path.slice(0, depth).join('.')}' is not an object`}`,
        placeholder: placeholder.source,
        availableKeys: [],
        ...location,
      })
    }
    const holder = current
    const descriptor = readVariable(placeholder, path, depth, location, () =>
      Object.hasOwn(holder, segment) ? Object.getOwnPropertyDescriptor(holder, segment) : undefined,
    )
    if (descriptor === undefined || !('value' in descriptor) || descriptor.value === undefined) {
      const { keys, count } = readVariable(placeholder, path, depth, location, () => availableKeysOf(holder))
      const listed = keys.length > maxListedKeys ? keys.slice(0, maxListedKeys) : keys
      const where = depth === 0 ? 'the input' : `'${path.slice(0, depth).join('.')}'`
      const reason =
        descriptor !== undefined && !('value' in descriptor) ? ` ('${segment}' is a getter, which is never called)` : ''
      const shown = listed.map(quotedKey)
      if (count > listed.length) shown.push(`… (${count} in all)`)
      throw new TemplateError({
        reason: 'missing',
        message: `missing variable {${placeholder.source}}${reason}; ${where} has ${
          count === 0 ? 'no keys' : `keys: ${shown.join(', ')}`
        }`,
        placeholder: placeholder.source,
        availableKeys: keys,
        availableKeyCount: count,
        ...location,
      })
    }
    current = descriptor.value
  }
  switch (typeof current) {
    case 'string':
      return current
    case 'boolean':
    case 'bigint':
      return String(current)
    case 'number':
      if (Number.isFinite(current)) return String(current)
      break
  }
  throw new TemplateError({
    reason: 'not-scalar',
    message: `variable {${placeholder.source}} is ${describeValue(current)}; a template takes strings, finite numbers, bigints or booleans`,
    placeholder: placeholder.source,
    ...location,
  })
}

/**
 * The own keys of `holder` a missing variable's error lists, and how many it has. The keys of a list — an array, a typed
 * array, a String object — are its indices: of a list longer than {@link maxListedKeys}, those among the first of them
 * are made and its length counted, never a key per entry, which would take far more memory than the entries (a number
 * takes 8 bytes, a byte of a file 1, its key some 50; past 2³²−1 entries keys cannot be made at all).
 */
function availableKeysOf(holder: object): { keys: ReadonlyArray<string>; count: number } {
  const length = listLength(holder)
  if (length !== undefined && length > maxListedKeys) {
    const keys: string[] = []
    for (let index = 0; index < maxListedKeys; index++) {
      if (Object.hasOwn(holder, index)) keys.push(String(index))
    }
    return { keys, count: length }
  }
  const keys = Object.keys(holder)
  return { keys, count: keys.length }
}

function listLength(holder: object): number | undefined {
  if (Array.isArray(holder) || holder instanceof String) return holder.length
  if (ArrayBuffer.isView(holder) && !(holder instanceof DataView))
    return (holder as unknown as ArrayLike<unknown>).length
  return undefined
}

/**
 * Reads the input where a lookup has reached, through `read`: an object whose reading throws (a `Proxy`, a revoked one)
 * is a TemplateError (`unreadable`), not retryable — reading it again throws again. The thrown error is its `cause`,
 * never its message, which may quote the input.
 */
function readVariable<Value>(
  placeholder: TemplatePlaceholder,
  path: ReadonlyArray<string>,
  depth: number,
  location: TemplateLocation | undefined,
  read: () => Value,
): Value {
  try {
    return read()
  } catch (cause) {
    const where = depth === 0 ? 'the input' : `'${path.slice(0, depth).join('.')}'`
    throw new TemplateError({
      reason: 'unreadable',
      message: `variable {${placeholder.source}} could not be read: ${where} threw when its properties were read (a Proxy?)`,
      placeholder: placeholder.source,
      cause,
      ...location,
    })
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'number') return String(value)
  if (typeof value === 'object') return 'an object'
  return `a ${typeof value}`
}
