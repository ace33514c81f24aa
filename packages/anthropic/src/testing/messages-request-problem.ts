import type { MessageCreateParams } from '@anthropic-ai/sdk/resources/messages'
import type { StrictSchemaRules } from '@tinyllm/testing'
import { findStrictSchemaViolation } from '@tinyllm/testing'
import { toolResultProblem } from './tool-result-problem.js'

/**
 * What Anthropic answers a Messages request it refuses with a 400 `invalid_request_error`, or `undefined`: the checks
 * a client is most likely to fail. `version` is the request's `anthropic-version` header.
 */
export function messagesRequestProblem(body: unknown, version: string | undefined): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'The request body is not valid JSON.'
  const candidate = body as Record<string, unknown>
  if (typeof candidate.model !== 'string') return 'model: Field required'
  if (typeof candidate.max_tokens !== 'number') return 'max_tokens: Field required'
  if (!Array.isArray(candidate.messages)) return 'messages: Field required'
  if (candidate.messages.length === 0) return 'messages: at least one message is required'
  if (version === undefined || version >= '2026-10-21') {
    const removed = removedIn20261021.find((name) => name in candidate)
    if (removed !== undefined) return `${removed}: Extra inputs are not permitted`
  }
  return toolResultProblem(candidate.messages as MessageCreateParams['messages']) ?? strictSchemaProblem(candidate)
}

/** Sampling parameters that Messages API version 2026-10-21 rejects, even at their defaults. */
const removedIn20261021 = ['temperature', 'top_p', 'top_k']

/** Anthropic's answer to an output format, or a strict tool, whose schema has an object that is not closed. */
function strictSchemaProblem(body: Record<string, unknown>): string | undefined {
  const format = (body.output_config as { format?: { schema?: unknown } } | undefined)?.format
  if (format !== undefined && findStrictSchemaViolation(format.schema, anthropicStrictRules) !== undefined) {
    return `output_config.format.schema: ${notClosed}`
  }
  const tools = Array.isArray(body.tools) ? (body.tools as Array<{ strict?: unknown; input_schema?: unknown }>) : []
  for (const [index, tool] of tools.entries()) {
    if (tool.strict === true && findStrictSchemaViolation(tool.input_schema, anthropicStrictRules) !== undefined) {
      return `tools.${index}.custom.input_schema: ${notClosed}`
    }
  }
  return undefined
}

/** What Anthropic's structured outputs and strict tools refuse in a schema: an object that is not closed. */
const anthropicStrictRules: StrictSchemaRules = {
  closedObjects: true,
  everyPropertyRequired: false,
  objectRoot: false,
  unsupportedKeywords: [],
}

const notClosed = "For 'object' type, 'additionalProperties' must be explicitly set to false"
