import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'

/**
 * What Anthropic answers a conversation whose tool turns do not pair up, or `undefined`: an assistant message with
 * `tool_use` blocks must be followed by a user message with a `tool_result` block for each id, and a `tool_result` must
 * answer a `tool_use` of the message before it. Multi-turn tool use (an agent) fails here the way it would against the
 * API.
 */
export function toolResultProblem(messages: readonly MessageParam[]): string | undefined {
  let open: Set<string> = new Set()
  let openedAt = -1
  for (const [index, message] of messages.entries()) {
    const blocks = typeof message.content === 'string' ? [] : message.content
    const answered = new Set<string>()
    for (const [blockIndex, block] of blocks.entries()) {
      if (block.type !== 'tool_result') continue
      if (message.role !== 'user' || !open.has(block.tool_use_id)) {
        return `messages.${index}.content.${blockIndex}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${block.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`
      }
      answered.add(block.tool_use_id)
    }
    const missing = [...open].filter((id) => !answered.has(id))
    if (missing.length > 0) {
      return `messages.${openedAt}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`
    }
    open = new Set()
    if (message.role === 'assistant') {
      for (const block of blocks) if (block.type === 'tool_use') open.add(block.id)
      openedAt = index
    }
  }
  if (open.size > 0) {
    return `messages.${openedAt}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${[...open].join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`
  }
  return undefined
}
