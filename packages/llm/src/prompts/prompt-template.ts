import {
  Function,
  type FunctionNode,
  type Invocable,
  optionError,
  type RunContext,
  type StandardSchemaV1,
  unreadableOption,
  ValidationError,
} from '@tinyllm/core'
import type { ChatMessage } from '../chat-model.js'
import type { TemplateVariables } from './message-template.js'
import { readTemplateOptions } from './template-options.js'

/** What a prompt template produces: the conversation to send, ready to pass to an LLMCall. */
export interface PromptOutput {
  readonly messages: ChatMessage[]
}

/** What a section may return: one message, several, or a whole prompt (so templates nest). */
export type PromptSectionOutput = ChatMessage | ReadonlyArray<ChatMessage> | PromptOutput

/** A section of a prompt: any Function (usually a message template) run on the template's input. */
export type PromptSection<Input = TemplateVariables> = Invocable<Input, PromptSectionOutput>

/** Options of {@link PromptTemplate}. */
export interface PromptTemplateOptions<Input> {
  /** Shown in errors, logs, events and run trees. */
  readonly name: string
  /** The sections, in the order their messages appear. Each runs on the template's input as a child run. */
  readonly sections: ReadonlyArray<PromptSection<Input>>
  /** Optional schema the input must match before any section runs. */
  readonly input?: StandardSchemaV1
}

const promptTemplateOptionKeys: ReadonlySet<string> = new Set(
  Object.keys({ name: true, sections: true, input: true } satisfies Record<keyof PromptTemplateOptions<unknown>, true>),
)

/**
 * Assembles a prompt from sections (system, user, assistant message templates, or nested templates): each section runs
 * on the same input as a child run, so the run tree shows it, and the messages come out in section order.
 *
 * @example
 * const template = new PromptTemplate({
 *   name: 'loan classifier template',
 *   sections: [
 *     new SystemMessageTemplate({ name: 'role', content: 'Answer good or bad.' }),
 *     new UserMessageTemplate({ name: 'application' }),
 *   ],
 * })
 * const prompt = await template.invoke({ message: application }) // { messages: [system, user] }
 * const answer = await llmCall.invoke(prompt)
 */
export class PromptTemplate<Input extends TemplateVariables = TemplateVariables> extends Function<Input, PromptOutput> {
  override readonly kind: string = 'prompt-template'
  readonly sections: ReadonlyArray<PromptSection<Input>>

  constructor(options: PromptTemplateOptions<Input>) {
    options = readTemplateOptions(options, promptTemplateOptionKeys, new.target === PromptTemplate, 'PromptTemplate')
    super(options)
    // Read once, each section as it is checked: a getter or a Proxy that throws is a ConfigurationError naming it.
    const checked: Array<PromptSection<Input>> = []
    try {
      const sections: unknown = options.sections
      if (!Array.isArray(sections) || sections.length === 0) {
        throw optionError('sections', 'a non-empty list of Functions', sections, this.name)
      }
      // An index loop: `forEach` skips holes, which would reach the run as missing sections.
      for (let index = 0; index < sections.length; index++) {
        const section = sections[index] as { invoke?: unknown } | null | undefined
        if (typeof section?.invoke !== 'function') {
          throw optionError(`sections[${index}]`, 'a Function (something with `invoke`)', section, this.name)
        }
        checked.push(section as PromptSection<Input>)
      }
    } catch (error) {
      throw unreadableOption(error, 'sections', this.name)
    }
    this.sections = Object.freeze(checked)
  }

  async run(input: Input, context: RunContext): Promise<PromptOutput> {
    const messages: ChatMessage[] = []
    const sections = this.sections
    for (let index = 0; index < sections.length; index++) {
      const output = await context.invoke(sections[index] as PromptSection<Input>, input)
      try {
        if (Array.isArray(output)) {
          for (const message of output as ReadonlyArray<ChatMessage>)
            messages.push(checkMessage(message, index, this.name))
        } else if (isPromptOutput(output)) {
          for (const message of output.messages) messages.push(checkMessage(message, index, this.name))
        } else {
          messages.push(checkMessage(output as ChatMessage, index, this.name))
        }
      } catch (error) {
        // What a section returned that throws when read (a getter, a Proxy) is no message either: reading it again on
        // a retry would throw again.
        if (ValidationError.isInstance(error)) throw error
        throw sectionError(index, this.name, error)
      }
    }
    return { messages }
  }

  override describe(): FunctionNode {
    const children: FunctionNode[] = []
    for (const section of this.sections) {
      const describe = (section as Partial<Pick<Function, 'describe'>>).describe
      children.push(typeof describe === 'function' ? describe.call(section) : { kind: 'function', name: section.name })
    }
    return { kind: this.kind, name: this.name, children }
  }
}

function isPromptOutput(value: unknown): value is PromptOutput {
  return typeof value === 'object' && value !== null && Array.isArray((value as { messages?: unknown }).messages)
}

const roles: ReadonlySet<unknown> = new Set(['system', 'user', 'assistant', 'tool'])

function checkMessage(message: ChatMessage, sectionIndex: number, functionName: string): ChatMessage {
  if (typeof message === 'object' && message !== null && roles.has(message.role)) return message
  throw sectionError(sectionIndex, functionName)
}

function sectionError(sectionIndex: number, functionName: string, cause?: unknown): ValidationError {
  return new ValidationError({
    functionName,
    state: 'running',
    issues: [
      {
        path: ['sections', sectionIndex],
        message: 'a section must return a chat message ({ role, content }), an array of them, or { messages }',
      },
    ],
    cause,
  })
}
