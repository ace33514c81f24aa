import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'

/**
 * What Anthropic answers a conversation whose tool turns do not pair up, or `undefined`: an assistant message with
 * `tool_use` blocks must be followed by a user message that starts with a `tool_result` block for each id (its text
 * after them: "tool_result blocks must come FIRST in the content array"), and a `tool_result` must answer a `tool_use`
 * of the message before it, and only once ("each tool_use must have a single result"); the `tool_use` ids of a message
 * must differ. Multi-turn tool use (an agent) fails here the way it would against the
 * API.
 */
export function toolResultProblem(messages: readonly MessageParam[]): string | undefined {
  let open: Set<string> = new Set()
  let openedAt = -1
  for (const [index, message] of messages.entries()) {
    const blocks = typeof message.content === 'string' ? [] : message.content
    const answered = new Set<string>()
    // Results after other content: they answer nothing, but a second result for their id is still one too many.
    const seen = new Set<string>()
    // Results come first: one after other content (text before it) does not answer "immediately after".
    let leading = true
    for (const [blockIndex, block] of blocks.entries()) {
      if (block.type !== 'tool_result') {
        leading = false
        continue
      }
      if (message.role !== 'user' || !open.has(block.tool_use_id)) {
        return `messages.${index}.content.${blockIndex}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${block.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`
      }
      // One call has one result: "each tool_use must have a single result".
      if (answered.has(block.tool_use_id) || seen.has(block.tool_use_id)) {
        return `messages.${index}.content.${blockIndex}: each tool_use must have a single result. Found multiple \`tool_result\` blocks with id: ${block.tool_use_id}`
      }
      if (leading) answered.add(block.tool_use_id)
      else seen.add(block.tool_use_id)
    }
    const missing = [...open].filter((id) => !answered.has(id))
    if (missing.length > 0) {
      return `messages.${openedAt}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`
    }
    open = new Set()
    if (message.role === 'assistant') {
      for (const [blockIndex, block] of blocks.entries()) {
        if (block.type !== 'tool_use') continue
        // Each result names the call it answers: two calls with one id could not both be answered.
        if (open.has(block.id)) return `messages.${index}.content.${blockIndex}: \`tool_use\` ids must be unique`
        open.add(block.id)
      }
      openedAt = index
    }
  }
  if (open.size > 0) {
    return `messages.${openedAt}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${[...open].join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`
  }
  return undefined
}
