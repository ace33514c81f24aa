import {
  AssistantMessageTemplate,
  PromptTemplate,
  SystemMessageTemplate,
  type TemplateVariables,
  UserMessageTemplate,
} from '@tinyllm/llm'

/**
 * The original Python tiny-llm's name for {@link PromptTemplate} of `@tinyllm/llm`: assembles `{ messages }` from sections, ready for
 * {@link OpenAIChat}. The same class, not a copy — `instanceof PromptTemplate` holds.
 *
 * @example
 * const template = new OpenAIPromptTemplate({
 *   name: 'Loan Classifier Template',
 *   sections: [new OpenAISystemMessage({ name: 'Role', content: 'Answer good or bad.' }), new OpenAIUserMessage({ name: 'name' })],
 * })
 * const prompt = await template.invoke({ message: application }) // { messages: [system, user] }
 */
export const OpenAIPromptTemplate = PromptTemplate
/** An instance of {@link OpenAIPromptTemplate}. */
export type OpenAIPromptTemplate<Input extends TemplateVariables = TemplateVariables> = PromptTemplate<Input>

/**
 * The original Python tiny-llm's name for {@link SystemMessageTemplate} of `@tinyllm/llm`: renders a system message from a template.
 *
 * @example
 * new OpenAISystemMessage({ name: 'Role', content: 'You classify loan applications as good or bad.' })
 */
export const OpenAISystemMessage = SystemMessageTemplate
/** An instance of {@link OpenAISystemMessage}. */
export type OpenAISystemMessage = SystemMessageTemplate

/**
 * The original Python tiny-llm's name for {@link UserMessageTemplate} of `@tinyllm/llm`: renders a user message from the input's `message` field (or
 * another `field`, or a `content` template).
 *
 * @example
 * new OpenAIUserMessage({ name: 'name' }) // { message: 'I earn…' } → { role: 'user', content: 'I earn…' }
 */
export const OpenAIUserMessage = UserMessageTemplate
/** An instance of {@link OpenAIUserMessage}. */
export type OpenAIUserMessage = UserMessageTemplate

/**
 * The original Python tiny-llm's name for {@link AssistantMessageTemplate} of `@tinyllm/llm`: renders an assistant message, e.g. a few-shot answer.
 *
 * @example
 * new OpenAIAssistantMessage({ name: 'example answer', content: 'good' })
 */
export const OpenAIAssistantMessage = AssistantMessageTemplate
/** An instance of {@link OpenAIAssistantMessage}. */
export type OpenAIAssistantMessage = AssistantMessageTemplate
