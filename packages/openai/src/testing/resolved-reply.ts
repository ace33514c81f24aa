import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions'
import type { CompletionUsage } from 'openai/resources/completions'
import { messageText } from './message-text.js'
import type { FinishReason, MultipleChoiceReply, ScriptedChoice, SingleChoiceReply } from './scripted-reply.js'
import { estimateTokens } from './token-estimate.js'

/** A tool call with every default filled in. */
export interface ResolvedToolCall {
  readonly id: string
  readonly name: string
  readonly arguments: string
}

/** A choice with every default filled in. */
export interface ResolvedChoice {
  readonly content: string | null
  readonly toolCalls: readonly ResolvedToolCall[]
  readonly finishReason: FinishReason
}

/** A reply ready to be rendered as a completion or as chunks. */
export interface ResolvedReply {
  readonly id: string
  readonly created: number
  readonly model: string
  readonly choices: readonly ResolvedChoice[]
  /** `undefined` when the reply reports no usage. */
  readonly usage: CompletionUsage | undefined
}

/** Fills in a scripted reply's defaults: choices for `n`, tool call ids, finish reasons, estimated usage. */
export function resolveReply(
  reply: SingleChoiceReply | MultipleChoiceReply,
  request: ChatCompletionCreateParams,
  meta: { readonly requestIndex: number; readonly created: number },
): ResolvedReply {
  const scripted: readonly ScriptedChoice[] =
    'choices' in reply ? reply.choices : Array.from({ length: Math.max(1, request.n ?? 1) }, () => reply)
  const choices = scripted.map((choice, choiceIndex) => resolveChoice(choice, meta.requestIndex, choiceIndex))
  let completionText = ''
  for (const choice of choices) {
    completionText += choice.content ?? ''
    for (const call of choice.toolCalls) completionText += call.name + call.arguments
  }
  const promptTokens = reply.usage?.promptTokens ?? estimateTokens(promptText(request))
  const completionTokens = reply.usage?.completionTokens ?? estimateTokens(completionText)
  return {
    id: `chatcmpl-loopback-${meta.requestIndex}`,
    created: meta.created,
    model: reply.model ?? request.model,
    choices,
    usage:
      reply.usage === null
        ? undefined
        : {
            prompt_tokens: promptTokens,
            completion_tokens: completionTokens,
            total_tokens: promptTokens + completionTokens,
          },
  }
}

function resolveChoice(choice: ScriptedChoice, requestIndex: number, choiceIndex: number): ResolvedChoice {
  const toolCalls = (choice.toolCalls ?? []).map(
    (call, toolIndex): ResolvedToolCall => ({
      id: call.id ?? `call_${requestIndex}_${choiceIndex}_${toolIndex}`,
      name: call.name,
      arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
    }),
  )
  return {
    content: choice.content ?? (toolCalls.length > 0 ? null : ''),
    toolCalls,
    finishReason: choice.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
  }
}

function promptText(request: ChatCompletionCreateParams): string {
  let text = ''
  for (const message of request.messages) {
    text += messageText(message.content)
    if ('tool_calls' in message && Array.isArray(message.tool_calls)) text += JSON.stringify(message.tool_calls)
  }
  return text
}
