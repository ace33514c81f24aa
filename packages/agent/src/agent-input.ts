import type { StandardSchemaV1 } from '@tinyllm/core'
import type { AgentInput } from './agent-outcome.js'

/**
 * An agent's input, checked cheaply (each turn's LLMCall checks the messages themselves): a non-empty string is a
 * user message; otherwise `{ messages, approvals?, stepsTaken? }`.
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
      const input = value as Partial<Record<keyof AgentInput, unknown>>
      const issues: StandardSchemaV1.Issue[] = []
      if (!Array.isArray(input.messages)) issues.push({ message: 'expected an array', path: ['messages'] })
      else if (input.messages.length === 0) issues.push({ message: 'needs at least one message', path: ['messages'] })
      const approvals = input.approvals
      if (approvals !== undefined) {
        if (typeof approvals !== 'object' || approvals === null || Array.isArray(approvals)) {
          issues.push({ message: 'expected decisions by tool call id', path: ['approvals'] })
        } else {
          for (const [id, decision] of Object.entries(approvals)) {
            const approved = (decision as { approved?: unknown } | null)?.approved
            if (typeof approved !== 'boolean') {
              issues.push({ message: 'expected { approved: true | false, … }', path: ['approvals', id] })
            }
            const edited = (decision as { arguments?: unknown } | null)?.arguments
            if (edited !== undefined && (typeof edited !== 'object' || edited === null || Array.isArray(edited))) {
              issues.push({
                message: 'expected the edited arguments as an object',
                path: ['approvals', id, 'arguments'],
              })
            }
          }
        }
      }
      const steps = input.stepsTaken
      if (steps !== undefined && !(typeof steps === 'number' && Number.isInteger(steps) && steps >= 0)) {
        issues.push({ message: 'expected an integer ≥ 0', path: ['stepsTaken'] })
      }
      return issues.length === 0 ? { value: value as AgentInput } : { issues }
    },
  },
}
