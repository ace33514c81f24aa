import { findStrictSchemaViolation, type StrictSchemaViolation } from '@tinyllm/llm'
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions'
import { openAIStrictRules, openAIStrictSchemaProblem } from '../openai-schema.js'
import type { ErrorReply } from './scripted-reply.js'

/**
 * The 400 OpenAI answers to a `strict: true` response format or function tool whose schema strict mode does not
 * accept, worded as OpenAI words it; `undefined` when every strict schema of the request is accepted.
 */
export function strictSchemaError(body: ChatCompletionCreateParams): ErrorReply['error'] | undefined {
  const format = body.response_format
  if (format?.type === 'json_schema' && format.json_schema.strict === true) {
    const violation = findStrictSchemaViolation(format.json_schema.schema, openAIStrictRules)
    if (violation !== undefined) {
      return invalidSchema(`response_format '${format.json_schema.name}'`, violation, 'response_format', null)
    }
  }
  for (const [index, tool] of (body.tools ?? []).entries()) {
    if (tool.type !== 'function' || tool.function.strict !== true) continue
    const violation = findStrictSchemaViolation(tool.function.parameters ?? {}, openAIStrictRules)
    if (violation !== undefined) {
      return invalidSchema(
        `function '${tool.function.name}'`,
        violation,
        `tools[${index}].function.parameters`,
        'invalid_function_parameters',
      )
    }
  }
  return undefined
}

function invalidSchema(
  what: string,
  violation: StrictSchemaViolation,
  param: string,
  code: string | null,
): ErrorReply['error'] {
  const context = `In context=(${violation.path.map((key) => `'${key}'`).join(', ')}), `
  // A limit belongs to the whole schema: OpenAI names no context, as in "… 6 levels of nesting exceeds limit of 5.";
  // the one of a single enum names the enum's.
  const where = violation.limit === undefined || violation.path.length > 0 ? context : ''
  return {
    status: 400,
    type: 'invalid_request_error',
    param,
    code,
    message: `Invalid schema for ${what}: ${where}${openAIStrictSchemaProblem(violation)}`,
  }
}
