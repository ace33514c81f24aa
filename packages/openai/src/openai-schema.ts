import { portableStrictRules, type StrictSchemaRules, type StrictSchemaViolation } from '@tinyllm/llm'

/**
 * What OpenAI's strict mode refuses in a schema (its structured-outputs guide, "Supported schemas",
 * https://developers.openai.com/api/docs/guides/structured-outputs#supported-schemas). The limits are that guide's, not
 * the SDK's reference: "A schema may have up to 5000 object properties total, with up to 10 levels of nesting", "A
 * schema may have up to 1000 enum values across all enum properties", the total string length of "all property names,
 * definition names, enum values, and const values cannot exceed 120,000 characters", and "For a single enum property
 * with string values, the total string length of all enum values cannot exceed 15,000 characters when there are more
 * than 250 enum values" — the keywords and limits of `portableStrictRules`. Recursive schemas (a `$ref` to `#` or to a
 * definition it is in) are supported. The request builder refuses such a schema; the loopback server answers it with
 * OpenAI's 400.
 */
export const openAIStrictRules: StrictSchemaRules = Object.freeze({ ...portableStrictRules, recursion: true })

/** OpenAI's words for what its strict mode refuses, e.g. "11 levels of nesting exceeds limit of 10.". */
export function openAIStrictSchemaProblem(violation: StrictSchemaViolation): string {
  switch (violation.rule) {
    case 'root':
      return `schema must be a JSON Schema of 'type: "object"', got 'type: "${violation.detail}"'.`
    case 'additionalProperties':
      return "'additionalProperties' is required to be supplied and to be false."
    case 'required':
      return `'required' is required to be supplied and to be an array including every key in properties. Missing '${violation.detail}'.`
    case 'extraRequired':
      return `'required' is required to be supplied and to be an array including every key in properties. Extra required key '${violation.detail}' supplied.`
    case 'keyword':
      return `'${violation.detail}' is not permitted.`
    case 'constraint': // OpenAI's rules refuse no constraint; worded as a keyword it does not permit
      return `'${violation.keywords?.[0]}' is not permitted.`
    case 'recursion': // OpenAI's rules allow recursion; worded as a reference it does not permit
      return `'$ref' to '${violation.detail}' is not permitted.`
    case 'nestingLevels':
      return `${violation.count} levels of nesting exceeds limit of ${violation.limit}.`
    case 'objectProperties':
      return `${violation.count} object properties exceeds limit of ${violation.limit}.`
    case 'enumValues':
      return `${violation.count} enum values exceeds limit of ${violation.limit}.`
    case 'stringLength':
      return `${violation.count} characters of property names, definition names, enum values and const values exceeds limit of ${violation.limit}.`
    case 'enumStringLength':
      return `${violation.count} characters of enum values exceeds limit of ${violation.limit} for an enum of more than ${openAIStrictRules.limits?.enumStringLength?.values} string values.`
  }
}
