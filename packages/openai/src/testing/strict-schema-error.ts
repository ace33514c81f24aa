import { findStrictSchemaViolation, type StrictSchemaRules, type StrictSchemaViolation } from '@tinyllm/testing'
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions'
import type { ErrorReply } from './scripted-reply.js'

/** What OpenAI's strict mode refuses in a schema (its structured-outputs guide, "Supported schemas"). */
const openAIStrictRules: StrictSchemaRules = {
  closedObjects: true,
  everyPropertyRequired: true,
  objectRoot: true,
  unsupportedKeywords: [
    'allOf',
    'oneOf',
    'not',
    'if',
    'then',
    'else',
    'dependentRequired',
    'dependentSchemas',
    'patternProperties',
    'unevaluatedProperties',
    'propertyNames',
  ],
}

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
  const context = `In context=(${violation.path.map((key) => `'${key}'`).join(', ')})`
  return {
    status: 400,
    type: 'invalid_request_error',
    param,
    code,
    message: `Invalid schema for ${what}: ${context}, ${reason(violation)}`,
  }
}

function reason(violation: StrictSchemaViolation): string {
  switch (violation.rule) {
    case 'root':
      return `schema must be a JSON Schema of 'type: "object"', got 'type: "${violation.detail}"'.`
    case 'additionalProperties':
      return "'additionalProperties' is required to be supplied and to be false."
    case 'required':
      return `'required' is required to be supplied and to be an array including every key in properties. Missing '${violation.detail}'.`
    case 'keyword':
      return `'${violation.detail}' is not permitted.`
  }
}
