import type { ProviderProfile } from '@tinyllm/llm'

/** What the shared provider helpers need to know about OpenAI's chat completions API. */
export const openAIProfile: ProviderProfile = {
  provider: 'openai',
  displayName: 'OpenAI',
  apiKeyVariable: 'OPENAI_API_KEY',
  baseURLVariable: 'OPENAI_BASE_URL',
  headersVariable: 'OPENAI_CUSTOM_HEADERS',
  logVariable: 'OPENAI_LOG',
  requestIdHeaders: ['x-request-id'],
  chatPath: '/chat/completions',
  baseURLVersion: 'included',
  strictResponseFormat: 'when-asked',
}
