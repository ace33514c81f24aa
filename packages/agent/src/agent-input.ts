import { assertJsonSafe, type StandardSchemaV1, unreadableOption, ValidationError } from '@tinyllm/core'
import type { AgentInput, ApprovalDecision } from './agent-outcome.js'
import { deeperThan, maxArgumentsDepth } from './arguments-depth.js'

/** The most issues an agent's input is refused with: past them, looking further only costs time. */
const maxIssues = 20

/** The keys of a decision on a call awaiting approval. */
const decisionKeys: ReadonlySet<string> = new Set(['approved', 'arguments', 'reason'])

/**
 * An agent's input, checked cheaply (each turn's LLMCall checks the messages themselves; here, only what the agent
 * reads before it: each message is an object, and the tool calls and results that tie a paused run's calls to their
 * results): a non-empty string is a user message; otherwise `{ messages, approvals?, stepsTaken? }`.
 */
export const agentInputSchema: StandardSchemaV1<AgentInput | string, AgentInput> = {
  '~standard': {
    version: 1,
    vendor: 'tinyllm',
    validate(value) {
      if (typeof value === 'string') {
        if (value.trim() === '') return { issues: [{ message: 'expected a non-empty message' }] }
        return { value: { messages: [{ role: 'user', content: value }] } }
      }
      if (typeof value !== 'object' || value === null) {
        return { issues: [{ message: 'expected a message (a string) or { messages: [...] }' }] }
      }
      const issues: StandardSchemaV1.Issue[] = []
      // Each part read once: what the run acts on is what was checked, where a getter could answer each reading its own.
      // A part whose reading throws (a getter, a revoked Proxy) is an issue where it is, as a wrong one is.
      const input = value as Partial<Record<keyof AgentInput, unknown>>
      const messages = reading(issues, ['messages'], () => input.messages)
      const approvals = reading(issues, ['approvals'], () => input.approvals)
      const steps = reading(issues, ['stepsTaken'], () => input.stepsTaken)
      if (messages !== unreadable) {
        reading(issues, ['messages'], () => {
          if (!Array.isArray(messages)) issues.push({ message: 'expected an array', path: ['messages'] })
          else if (messages.length === 0) issues.push({ message: 'needs at least one message', path: ['messages'] })
          else {
            // Each index, holes too (a hole is no message), up to the last issue listed: a sparse list as long as 2³²−1
            // is refused at once, not walked hole by hole.
            for (let index = 0; index < messages.length && issues.length < maxIssues; index++) {
              reading(issues, ['messages', index], () => checkMessage(messages[index], ['messages', index], issues))
            }
          }
        })
      }
      // The decisions as they were read and checked, by tool call id (`fromEntries` keeps a `__proto__` id an id).
      const decisions: Array<[string, ApprovalDecision]> = []
      if (approvals !== undefined && approvals !== unreadable) {
        const ids = reading(issues, ['approvals'], () =>
          typeof approvals !== 'object' || approvals === null || Array.isArray(approvals)
            ? undefined
            : Object.keys(approvals),
        )
        if (ids === undefined) {
          issues.push({ message: 'expected decisions by tool call id', path: ['approvals'] })
        }
        for (const id of ids === undefined || ids === unreadable ? [] : ids) {
          // As the messages are: no more than the issues listed, however many decisions there are.
          if (issues.length >= maxIssues) break
          // Its keys and parts read here, where what throws is an issue of this decision.
          const decision = reading(issues, ['approvals', id], () => {
            const given = (approvals as Record<string, unknown>)[id]
            if (typeof given !== 'object' || given === null) return { keys: [] as string[] }
            // Its own keys alone, as JSON has them: an `approved` or `arguments` its prototype holds is none of its.
            const own = (key: string): unknown =>
              Object.hasOwn(given, key) ? (given as Record<string, unknown>)[key] : undefined
            return {
              keys: Object.keys(given),
              approved: own('approved'),
              reason: own('reason'),
              edited: own('arguments'),
            }
          })
          if (decision === unreadable) continue
          // A misspelt key (`argument`, `args`) would run the call with the model's arguments, not the edited ones.
          const unknown = decision.keys.find((key) => !decisionKeys.has(key))
          if (unknown !== undefined) {
            issues.push({
              message: 'not a key of a decision, which has approved, and arguments (approved) or reason (denied)',
              path: ['approvals', id, unknown],
            })
          }
          const { approved, reason } = decision
          let edited: unknown
          try {
            edited = readOnce(decision.edited)
          } catch (error) {
            const { cause, path } = error as Unreadable
            issues.push({
              message: unreadableOption(cause, 'the value').message,
              path: ['approvals', id, 'arguments', ...path],
            })
            continue
          }
          if (typeof approved !== 'boolean') {
            issues.push({ message: 'expected { approved: true | false, … }', path: ['approvals', id] })
          }
          if (reason !== undefined && typeof reason !== 'string') {
            // It goes to the model as part of the denial's text.
            issues.push({ message: 'expected the reason as a string', path: ['approvals', id, 'reason'] })
          }
          if (edited !== undefined && (typeof edited !== 'object' || edited === null || Array.isArray(edited))) {
            issues.push({
              message: 'expected the edited arguments as an object',
              path: ['approvals', id, 'arguments'],
            })
          } else if (edited !== undefined) {
            // Read by walks that recurse (the tool's schema, the provider's JSON): deeper, they overflow the stack.
            // Checked first: on a runtime whose own JSON recurses, a JSON-safety check could not write them either.
            if (deeperThan(edited, maxArgumentsDepth)) {
              issues.push({
                message: `expected edited arguments nested at most ${maxArgumentsDepth} levels deep`,
                path: ['approvals', id, 'arguments'],
              })
            } else {
              // They go into the conversation as the call's JSON arguments.
              checkJsonSafe(edited, ['approvals', id, 'arguments'], issues)
            }
          }
          decisions.push([
            id,
            {
              approved,
              ...(reason === undefined ? {} : { reason }),
              ...(edited === undefined ? {} : { arguments: edited }),
            } as ApprovalDecision,
          ])
        }
      }
      if (
        steps !== undefined &&
        steps !== unreadable &&
        !(typeof steps === 'number' && Number.isInteger(steps) && steps >= 0)
      ) {
        issues.push({ message: 'expected an integer ≥ 0', path: ['stepsTaken'] })
      }
      if (issues.length > 0) return { issues: issues.slice(0, maxIssues) }
      return {
        value: {
          messages: messages as AgentInput['messages'],
          ...(approvals === undefined ? {} : { approvals: Object.fromEntries(decisions) }),
          ...(steps === undefined ? {} : { stepsTaken: steps as number }),
        },
      }
    },
  },
}

/** What {@link reading} gives for a part whose reading threw: the issue saying so is listed. */
const unreadable: unique symbol = Symbol('unreadable')

/**
 * What `read` returns; when it throws (a getter, a revoked Proxy), an issue at `path` saying what was thrown, and
 * {@link unreadable}. An issue where the value is, as a wrong value gets, rather than a schema that threw at the root.
 */
function reading<T>(
  issues: StandardSchemaV1.Issue[],
  path: ReadonlyArray<PropertyKey>,
  read: () => T,
): T | typeof unreadable {
  try {
    return read()
  } catch (error) {
    issues.push({ message: unreadableOption(error, 'the value').message, path })
    return unreadable
  }
}

/** What the agent reads of a message before its LLMCall checks it: that it is one, and its tool calls and results. */
function checkMessage(value: unknown, path: ReadonlyArray<PropertyKey>, issues: StandardSchemaV1.Issue[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ message: 'expected a chat message: an object with a role', path })
    return
  }
  const message = value as { role?: unknown; toolCalls?: unknown; toolCallId?: unknown }
  if (message.role === 'tool' && typeof message.toolCallId !== 'string') {
    issues.push({ message: 'expected the id of the tool call it answers', path: [...path, 'toolCallId'] })
  }
  if (message.role !== 'assistant' || message.toolCalls === undefined) return
  if (!Array.isArray(message.toolCalls)) {
    issues.push({ message: 'expected an array of tool calls', path: [...path, 'toolCalls'] })
    return
  }
  const ids = new Set<string>()
  const calls: ReadonlyArray<unknown> = message.toolCalls
  // Holes too (a hole is no call), as the messages are.
  for (let index = 0; index < calls.length && issues.length < maxIssues; index++) {
    const at = [...path, 'toolCalls', index]
    const read = reading(issues, at, () => {
      const call = calls[index]
      const {
        id,
        name,
        arguments: arguments_,
      } = (typeof call === 'object' && call !== null ? call : {}) as {
        id?: unknown
        name?: unknown
        arguments?: unknown
      }
      return { id, name, arguments_ }
    })
    if (read === unreadable) continue
    const { id, name, arguments_ } = read
    if (typeof id !== 'string' || typeof name !== 'string') {
      issues.push({ message: 'expected a tool call: { id, name, arguments }', path: at })
    } else if (typeof arguments_ !== 'string') {
      // The agent reads them (to run a call left unanswered, to count identical calls) as a model sends them: JSON.
      issues.push({ message: 'expected the arguments as JSON text (a string)', path: [...at, 'arguments'] })
    } else if (ids.has(id)) {
      issues.push({ message: 'another call of this message has the same id', path: [...at, 'id'] })
    } else ids.add(id)
  }
}

/** The most values {@link readOnce} copies: more than a JSON-safe value (1 MiB) can hold, each taking a character. */
const maxCopiedValues = 1024 * 1024

/** A part of a value whose reading threw, and where it is. */
class Unreadable {
  constructor(
    readonly cause: unknown,
    readonly path: PropertyKey[],
  ) {}
}

/**
 * Edited arguments read once, into a copy that the checks and the run then share: a getter (or a `Proxy`) answering
 * each reading its own cannot have one value checked and another run. Each object and list is copied with its own keys
 * alone, as JSON reads them (`__proto__` a key like any other), and its prototype, so that the JSON-safety check still
 * names a `Date` or a class instance; a cycle stays a cycle. What lies one level deeper than edited arguments may nest,
 * or past as many values as a JSON-safe value holds, is kept as it is: it is refused whatever it holds. A part whose
 * reading throws is an {@link Unreadable}.
 */
function readOnce(value: unknown): unknown {
  const copies = new Map<object, unknown>()
  const copy = (item: unknown, depth: number): unknown => {
    if (typeof item !== 'object' || item === null || depth > maxArgumentsDepth || copies.size >= maxCopiedValues) {
      return item
    }
    const known = copies.get(item)
    if (known !== undefined) return known
    // A list keeps its length and its holes (a sparse one costs its items, not its length).
    const copied: object = Array.isArray(item)
      ? new Array((item as unknown[]).length)
      : Object.create(Object.getPrototypeOf(item))
    copies.set(item, copied)
    for (const key of Object.keys(item)) {
      let part: unknown
      try {
        part = copy((item as Record<string, unknown>)[key], depth + 1)
      } catch (error) {
        if (!(error instanceof Unreadable)) throw new Unreadable(error, [key])
        error.path.unshift(key)
        throw error
      }
      Object.defineProperty(copied, key, { value: part, enumerable: true, writable: true, configurable: true })
    }
    return copied
  }
  try {
    return copy(value, 0)
  } catch (error) {
    throw error instanceof Unreadable ? error : new Unreadable(error, [])
  }
}

function checkJsonSafe(value: unknown, path: ReadonlyArray<PropertyKey>, issues: StandardSchemaV1.Issue[]): void {
  try {
    assertJsonSafe(value, { functionName: 'agent', state: 'input_validation' })
  } catch (error) {
    if (!ValidationError.isInstance(error)) throw error
    for (const issue of error.issues) issues.push({ message: issue.message, path: [...path, ...issue.path] })
  }
}
