export {
  AssistantMessageTemplate,
  MessageTemplate,
  type MessageTemplateOptions,
  SystemMessageTemplate,
  type TemplateVariables,
  UserMessageTemplate,
  type UserMessageTemplateOptions,
} from './message-template.js'
export {
  type PromptOutput,
  type PromptSection,
  type PromptSectionOutput,
  PromptTemplate,
  type PromptTemplateOptions,
} from './prompt-template.js'
export {
  type ParsedTemplate,
  parseTemplate,
  renderTemplate,
  type TemplateLocation,
  type TemplatePlaceholder,
} from './render-template.js'
export { TemplateError, type TemplateErrorReason } from './template-error.js'
