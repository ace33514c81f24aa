import { redactString } from '@tinyllm/logger'
import { type Answer, fieldOf, redactedList } from './llm-call-facts.js'

/**
 * A chat message as LLM calls send them and models answer them (the provider-neutral specification's shape, read
 * structurally): its text, tool calls, the result a tool message carries, and the model's reasoning.
 */
export interface ChatMessageLike {
  readonly role: string
  readonly content?: string | null
  readonly toolCalls?: ReadonlyArray<{ readonly id: string; readonly name: string; readonly arguments: string }>
  readonly toolCallId?: string
  readonly reasoning?: ReadonlyArray<{ readonly text: string }>
}

type MessagePart =
  | { type: 'reasoning'; content: string }
  | { type: 'text'; content: string }
  | { type: 'tool_call'; id: string; name: string; arguments: string }
  | { type: 'tool_call_response'; id: string; response: string }

/** How much captured text one attribute may hold: each string, and all of them together. */
export interface ContentLimits {
  /** The most characters of one string (a part's text, a tool call's id, name or arguments, a role). */
  readonly maxLength: number
  /** The most characters of all the strings of one attribute. */
  readonly maxTotalLength: number
}

/**
 * What one attribute may still record. Once a string is cut short of the total, or a message or part finds no room
 * for its own JSON (`full`), nothing after it is recorded: the conversation is kept from its start, and the cut says
 * where it ends.
 */
interface ContentBudget {
  readonly maxLength: number
  remaining: number
  full: boolean
  /** How far each string was read (see {@link readLength}): one that long was cut when it was copied. */
  readonly readLength: number
  /** What the strings were copied from, where a cut one's length is read (see {@link lengthGiven}). */
  readonly given: unknown
}

function budgetOf(limits: ContentLimits, readLength = Number.POSITIVE_INFINITY, given?: unknown): ContentBudget {
  return { maxLength: limits.maxLength, remaining: limits.maxTotalLength, full: false, readLength, given }
}

/**
 * How far each string of the messages is read: a character takes at least one of the attribute's JSON, so no more than
 * `maxLength` of it can show. One more, so that a cut string's ellipsis falls past anything shown.
 */
function readLength(limits: ContentLimits): number {
  return limits.maxLength + 1
}

/** The characters a message or part adds to the JSON besides its strings, and the comma after it. */
function structureCost(empty: object): number {
  return JSON.stringify(empty).length + 1
}

/**
 * What a message and each kind of part cost besides their strings: a part with no text (a tool call whose id, name and
 * arguments are empty or no strings) still adds its keys, so a list of thousands of them counts against the total.
 */
const messageCost = structureCost({ role: '', parts: [] })
const partCosts: Readonly<Record<MessagePart['type'], number>> = {
  reasoning: structureCost({ type: 'reasoning', content: '' }),
  text: structureCost({ type: 'text', content: '' }),
  tool_call: structureCost({ type: 'tool_call', id: '', name: '', arguments: '' }),
  tool_call_response: structureCost({ type: 'tool_call_response', id: '', response: '' }),
}

/** Spends `cost` of the budget on a message's or a part's own JSON; with too little left, marks it full instead. */
function makeRoom(budget: ContentBudget, cost: number): boolean {
  if (budget.full || budget.remaining < cost) {
    budget.full = true
    return false
  }
  budget.remaining -= cost
  return true
}

/** What an answer's finish reason adds to its message besides its text: `,"finish_reason":""`. */
const finishReasonCost = structureCost({ finish_reason: '' }) - 2

/**
 * A conversation as the GenAI conventions' `gen_ai.input.messages` JSON (`[{ role, parts: [...] }]`), with secrets
 * redacted as in every log line and each text, once redacted, cut to `maxLength` characters, and all of them to
 * `maxTotalLength`, the JSON of each message and part counted too: what follows the string or part at which the total
 * runs out is left out. The messages are read as given, before the call validates them, as `redact` reads them (at
 * most 10,000): what is not a message is left out. Each string is read only as far as it can show, so messages of
 * megabytes cost what short ones do; a string cut so is counted from its length as given.
 */
export function inputMessagesJson(messages: ReadonlyArray<unknown>, limits: ContentLimits): string {
  // Read once, as a log line reads its fields: a field whose reading throws is "[Unserializable]" (a message whose
  // reading throws altogether is left out), never thrown into the run.
  const copy = redactedList(messages, readLength(limits))
  const budget = budgetOf(limits, readLength(limits), messages)
  const recorded: Array<{ role: string; parts: MessagePart[] }> = []
  for (const [index, message] of copy.entries()) {
    if (!isMessage(message)) continue
    if (!makeRoom(budget, messageCost)) break
    const role = redactedAndCut(message.role, budget, [index, 'role'])
    recorded.push({ role, parts: budget.full ? [] : messageParts(message, budget, index) })
  }
  return JSON.stringify(recorded)
}

/**
 * The model's answers as `gen_ai.output.messages` JSON, redacted and cut like the input: an answer is its text, or the
 * message of a whole chat result, with its reasoning and tool calls, and its finish reason, which counts as a text.
 */
export function outputMessagesJson(answers: ReadonlyArray<Answer>, limits: ContentLimits): string {
  const budget = budgetOf(limits)
  const recorded: Array<{ role: string; parts: MessagePart[]; finish_reason?: string }> = []
  for (const answer of answers) {
    // Its role is written, and counts, as an input message's does.
    if (!makeRoom(budget, messageCost + 'assistant'.length)) break
    const parts = messageParts({ ...answer.message, role: 'assistant' }, budget)
    // A chat model of the user's own may answer any finish reason: it is redacted, cut and counted as a text is, its
    // key with it.
    recorded.push(
      answer.finishReason === undefined || !makeRoom(budget, finishReasonCost)
        ? { role: 'assistant', parts }
        : { role: 'assistant', parts, finish_reason: redactedAndCut(answer.finishReason, budget) },
    )
  }
  return JSON.stringify(recorded)
}

/**
 * A message's parts in the conventions' types, in the order the model produced them: its reasoning (the text of each
 * part that has any; a signature or encrypted reasoning is not recorded), its text, then its tool calls — or, for a
 * tool message, the result. Every string recorded is redacted and cut, ids and names as well as texts.
 */
function messageParts(message: ChatMessageLike, budget: ContentBudget, at?: number): MessagePart[] {
  const parts: MessagePart[] = []
  if (message.role === 'tool') {
    if (!makeRoom(budget, partCosts.tool_call_response)) return parts
    const id = redactedAndCut(message.toolCallId, budget, [at, 'toolCallId'])
    parts.push({ type: 'tool_call_response', id, response: redactedAndCut(message.content, budget, [at, 'content']) })
  } else {
    for (const [index, part] of listOf(message.reasoning).entries()) {
      const text = (part as { text?: unknown } | null)?.text
      if (typeof text !== 'string' || text === '') continue
      if (!makeRoom(budget, partCosts.reasoning)) return parts
      parts.push({ type: 'reasoning', content: redactedAndCut(text, budget, [at, 'reasoning', index, 'text']) })
    }
    if (typeof message.content === 'string') {
      if (!makeRoom(budget, partCosts.text)) return parts
      parts.push({ type: 'text', content: redactedAndCut(message.content, budget, [at, 'content']) })
    }
  }
  for (const [index, call] of listOf(message.toolCalls).entries()) {
    if (typeof call !== 'object' || call === null) continue
    if (!makeRoom(budget, partCosts.tool_call)) return parts
    const { id, name, arguments: args } = call as Record<string, unknown>
    const shownId = redactedAndCut(id, budget, [at, 'toolCalls', index, 'id'])
    const shownName = redactedAndCut(name, budget, [at, 'toolCalls', index, 'name'])
    const shownArguments = redactedAndCut(args, budget, [at, 'toolCalls', index, 'arguments'])
    parts.push({ type: 'tool_call', id: shownId, name: shownName, arguments: shownArguments })
  }
  return parts
}

/**
 * The length of the string at `path` in what the strings were copied from, read again (only for a string the copy cut),
 * or `undefined` when it is no string there or cannot be read (a getter or a `Proxy` that throws): never thrown into
 * the run.
 */
function lengthGiven(budget: ContentBudget, path: ReadonlyArray<PropertyKey | undefined>): number | undefined {
  let value = budget.given
  for (const key of path) value = key === undefined ? undefined : fieldOf(value, key)
  return typeof value === 'string' ? value.length : undefined
}

/** A field of a redacted copy that should be a list, as a list (an empty one when it is not). */
function listOf(value: unknown): ReadonlyArray<unknown> {
  return Array.isArray(value) ? value : []
}

function isMessage(value: unknown): value is ChatMessageLike {
  return typeof value === 'object' && value !== null && typeof (value as ChatMessageLike).role === 'string'
}

/**
 * The text redacted, then cut to the budget's `maxLength` characters or to what remains of its total, whichever is
 * less, counted as JSON writes them (see {@link jsonPrefix}): cut first, the part of a key left before the cut could be too short for redaction to recognise (a registered
 * key is found only whole). What is not text is recorded as `''`, and once the total is spent every text as `''` with
 * how many characters it had; a text cut short of the total marks the budget full. A text the copy cut (as long as
 * the budget's `readLength`) is counted from the length of the string it was copied from, at `path`, or, when that
 * cannot be read, said to have more characters without a number.
 */
function redactedAndCut(text: unknown, budget: ContentBudget, path?: ReadonlyArray<PropertyKey | undefined>): string {
  if (typeof text !== 'string') return ''
  const safe = redactString(text)
  const room = Math.min(budget.maxLength, budget.remaining)
  const { end, length } = jsonPrefix(safe, room)
  if (end === safe.length) {
    budget.remaining -= length
    return safe
  }
  if (room < budget.maxLength) budget.full = true
  const total = safe.length < budget.readLength ? safe.length : path && lengthGiven(budget, path)
  const more = total !== undefined && total > end ? `${total - end} more` : 'more'
  // The note the cut adds is recorded too, and counts: a cut at a few characters adds some twenty, which would
  // otherwise let short cuts record several times the total.
  const note = `… (${more} characters)`
  budget.remaining -= Math.max(room, 0) + note.length
  return `${safe.slice(0, end)}${note}`
}

/** The characters JSON escapes in two (`\"`, `\\`, `\n`…); other control characters take six (`\u0001`). */
const shortEscapes = new Set([0x22, 0x5c, 0x08, 0x0c, 0x0a, 0x0d, 0x09])

/**
 * How much of `text` fits in `room` characters of JSON, and how many it takes there: a character is counted as JSON
 * writes it, so that a text of quotes or control characters (two or six characters each) cannot make an attribute
 * several times the bound. A surrogate pair is kept whole or not at all; a lone surrogate takes six (`\ud800`).
 */
function jsonPrefix(text: string, room: number): { end: number; length: number } {
  let length = 0
  let end = 0
  while (end < text.length) {
    const code = text.charCodeAt(end)
    let size = 1
    let width = 1
    if (code < 0x20 || code === 0x22 || code === 0x5c) size = shortEscapes.has(code) ? 2 : 6
    else if (code >= 0xd800 && code <= 0xdfff) {
      const next = text.charCodeAt(end + 1)
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) size = width = 2
      else size = 6
    }
    if (length + size > room) break
    length += size
    end += width
  }
  return { end, length }
}
