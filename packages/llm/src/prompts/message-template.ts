import { ConfigurationError, Function, optionError, type RunContext, type StandardSchemaV1 } from '@tinyllm/core'
import type {
  AssistantMessage as AssistantChatMessage,
  SystemMessage as SystemChatMessage,
  UserMessage as UserChatMessage,
} from '../chat-model.js'
import { type ParsedTemplate, parseTemplate, renderTemplate } from './render-template.js'
import { TemplateError } from './template-error.js'
import { readTemplateOptions } from './template-options.js'

/**
 * What prompt Functions render from: any object whose own properties hold the template's variables, e.g.
 * `{ message: '…' }` or `{ applicant: { name: 'Ada' } }`.
 */
export type TemplateVariables = object

/** Options of a message template with fixed content. */
export interface MessageTemplateOptions {
  /** Shown in errors, logs, events and run trees. */
  readonly name: string
  /** The message text; `{name}` and `{a.b}` are filled from the input, `{{` and `}}` are literal braces. */
  readonly content: string
  /** Optional schema the input must match before rendering. */
  readonly input?: StandardSchemaV1
}

/**
 * A Function that renders one chat message, of one role, from its input. The template is checked once, at
 * construction: a syntax error or a forbidden placeholder is a {@link ConfigurationError} then, not a surprise at run
 * time.
 */
export abstract class MessageTemplate<
  Message extends SystemChatMessage | UserChatMessage | AssistantChatMessage,
> extends Function<TemplateVariables, Message> {
  /** The role of the rendered message. */
  readonly role: Message['role']
  /** The parsed content template. */
  readonly template: ParsedTemplate

  /** `option` names where `content` came from, for the error of a template that does not parse. */
  protected constructor(
    options: { name: string; input?: StandardSchemaV1 },
    role: Message['role'],
    content: string,
    option: string,
  ) {
    super(options)
    if (typeof content !== 'string') throw optionError(option, 'a string', content, options.name)
    this.role = role
    this.template = parseContent(content, option, options.name)
  }

  run(input: TemplateVariables, context: RunContext): Message {
    const content = renderTemplate(this.template, input, { functionName: context.functionName, state: 'running' })
    return { role: this.role, content } as Message
  }
}

const messageTemplateOptionKeys: ReadonlySet<string> = new Set(
  Object.keys({ name: true, content: true, input: true } satisfies Record<keyof MessageTemplateOptions, true>),
)

function parseContent(content: string, option: string, functionName: string): ParsedTemplate {
  try {
    return parseTemplate(content)
  } catch (error) {
    if (!TemplateError.isInstance(error)) throw error
    throw new ConfigurationError({ option, message: error.message, functionName, cause: error })
  }
}

/**
 * Renders a system message (instructions for the model) from a template.
 *
 * @example
 * const role = new SystemMessageTemplate({ name: 'role', content: 'Classify the loan as good or bad.' })
 * await role.invoke({}) // { role: 'system', content: 'Classify the loan as good or bad.' }
 */
export class SystemMessageTemplate extends MessageTemplate<SystemChatMessage> {
  override readonly kind: string = 'system-message'

  constructor(options: MessageTemplateOptions) {
    options = readTemplateOptions(
      options,
      messageTemplateOptionKeys,
      new.target === SystemMessageTemplate,
      'SystemMessageTemplate',
    )
    super(options, 'system', options.content, 'content')
  }
}

/** Options of {@link UserMessageTemplate}: the text comes from an input field, or from a content template. */
export interface UserMessageTemplateOptions {
  /** Shown in errors, logs, events and run trees. */
  readonly name: string
  /** Input field (a dotted path is allowed) whose value is the message text. Default `message`. */
  readonly field?: string
  /** A template for the message text instead of a single field; give either `field` or `content`. */
  readonly content?: string
  /** Optional schema the input must match before rendering. */
  readonly input?: StandardSchemaV1
}

const userMessageTemplateOptionKeys: ReadonlySet<string> = new Set(
  Object.keys({
    name: true,
    field: true,
    content: true,
    input: true,
  } satisfies Record<keyof UserMessageTemplateOptions, true>),
)

/**
 * Renders a user message: by default the input's `message` field, as the original Python tiny-llm's `OpenAIUserMessage(name=…)` did, or
 * another field, or a template.
 *
 * @example
 * const user = new UserMessageTemplate({ name: 'application' })
 * await user.invoke({ message: 'I earn…' }) // { role: 'user', content: 'I earn…' }
 * new UserMessageTemplate({ name: 'q', content: 'Applicant {applicant.name} asks: {question}' })
 */
export class UserMessageTemplate extends MessageTemplate<UserChatMessage> {
  override readonly kind: string = 'user-message'

  constructor(options: UserMessageTemplateOptions) {
    options = readTemplateOptions(
      options,
      userMessageTemplateOptionKeys,
      new.target === UserMessageTemplate,
      'UserMessageTemplate',
    )
    if (options.field !== undefined && options.content !== undefined) {
      throw new ConfigurationError({
        option: 'field',
        message: 'give either `field` (the text is that input field) or `content` (a template), not both',
        functionName: options.name,
      })
    }
    // Only an absent option (or `undefined`) takes the default: a `null` content or field is refused, not read as
    // `message`, which would render another input field than the one meant.
    const field = options.field === undefined ? 'message' : options.field
    // Checked here: a field that is not a string would still make a template (`{5}`), reading the wrong input.
    if (typeof field !== 'string') throw optionError('field', 'the name of an input field', field, options.name)
    // A brace would make `{field}` a template of other text or other fields (`{{x` renders '{' and the field x).
    if (/[{}]/.test(field))
      throw optionError('field', 'the name of an input field, without braces', field, options.name)
    const content = options.content
    super(options, 'user', content === undefined ? `{${field}}` : content, content === undefined ? 'field' : 'content')
  }
}

/**
 * Renders an assistant message, e.g. for few-shot examples of the answers you expect.
 *
 * @example
 * new AssistantMessageTemplate({ name: 'example answer', content: 'good' })
 */
export class AssistantMessageTemplate extends MessageTemplate<AssistantChatMessage> {
  override readonly kind: string = 'assistant-message'

  constructor(options: MessageTemplateOptions) {
    options = readTemplateOptions(
      options,
      messageTemplateOptionKeys,
      new.target === AssistantMessageTemplate,
      'AssistantMessageTemplate',
    )
    super(options, 'assistant', options.content, 'content')
  }
}
