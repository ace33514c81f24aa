import { ConfigurationError } from '@tinyllm/core'
import { redactString } from '@tinyllm/logger'
import { describe, expect, it } from 'vitest'
import { displayURL, providerEndpoint, urlSecrets } from './endpoint.js'
import type { ProviderProfile } from './provider-profile.js'

const openAI: ProviderProfile = {
  provider: 'openai',
  displayName: 'OpenAI',
  apiKeyVariable: 'OPENAI_API_KEY',
  logVariable: 'OPENAI_LOG',
  requestIdHeaders: ['x-request-id'],
  chatPath: '/chat/completions',
  baseURLVersion: 'included',
}
const anthropic: ProviderProfile = {
  ...openAI,
  provider: 'anthropic',
  chatPath: '/v1/messages',
  baseURLVersion: 'added-by-sdk',
}

describe('providerEndpoint', () => {
  it('names the endpoint without credentials', () => {
    expect(providerEndpoint(openAI, 'http://user:pw@127.0.0.1:8080/v1/?api-key=abc&x=1').description).toBe(
      'POST http://127.0.0.1:8080/v1/chat/completions?api-key=[REDACTED]&x=1',
    )
    expect(providerEndpoint(anthropic, 'https://api.anthropic.com').description).toBe(
      'POST https://api.anthropic.com/v1/messages',
    )
  })

  it('leaves out a fragment, which is never sent and may hold a token', () => {
    expect(displayURL(new URL('http://127.0.0.1:8080/v1#access_token=fragment-token-123'))).toBe(
      'http://127.0.0.1:8080/v1',
    )
    expect(providerEndpoint(openAI, 'http://127.0.0.1:8080/v1#token=fragment-token-123').description).toBe(
      'POST http://127.0.0.1:8080/v1/chat/completions',
    )
  })

  it('hides every query parameter named like a credential: Azure API Management keys, S3 signatures', () => {
    const baseURL = 'https://apim.example/openai/v1?subscription-key=tenant7f3a&X-Amz-Signature=abc123&api-version=2'
    expect(providerEndpoint(openAI, baseURL).description).toBe(
      'POST https://apim.example/openai/v1/chat/completions?subscription-key=[REDACTED]&X-Amz-Signature=[REDACTED]&api-version=2',
    )
  })

  it('hides the same query parameters as the logger redacts in free text', () => {
    const names = ['subscription-key', 'X-Amz-Signature', 'x-goog-api-key', 'sig', 'code', 'auth', 'id_token']
    names.push('client_secret', 'password', 'api-version', 'limit', 'keys', 'tokens', 'X-Amz-Date')
    for (const name of names) {
      const url = `https://host.example/v1?${name}=Value0123456789`
      const hiddenByEndpoint = displayURL(new URL(url)).includes('[REDACTED]')
      const hiddenByLogger = redactString(url).includes('[REDACTED]')
      expect(hiddenByEndpoint, name).toBe(hiddenByLogger)
    }
  })

  it('explains a 404 caused by a missing or doubled /v1', () => {
    expect(providerEndpoint(openAI, 'http://127.0.0.1:8080').notFoundHint).toContain('has no /v1')
    expect(providerEndpoint(openAI, 'https://example.com/openai/v1').notFoundHint).toBeUndefined()
    expect(providerEndpoint(anthropic, 'http://127.0.0.1:8080/v1').notFoundHint).toContain('ends in /v1')
    expect(providerEndpoint(anthropic, 'http://127.0.0.1:8080').notFoundHint).toBeUndefined()
  })

  it('suggests /v1 in the path, before the query, and never for an Azure deployment URL, which has none', () => {
    expect(providerEndpoint(openAI, 'http://127.0.0.1:8080/prefix/?api-key=abc&x=1').notFoundHint).toBe(
      'the base URL http://127.0.0.1:8080/prefix/?api-key=[REDACTED]&x=1 has no /v1: OpenAI-compatible servers serve the API under it (http://127.0.0.1:8080/prefix/v1?api-key=[REDACTED]&x=1)',
    )
    const azure = [
      'http://127.0.0.1:8080/openai/deployments/gpt-4o?api-version=2024-10-21',
      'https://tenant.openai.azure.com/openai/deployments/gpt-4o',
      // The base URL of the SDK's AzureOpenAI client, which adds /deployments/<name> to each request's path.
      'https://tenant.openai.azure.com/openai',
      'https://tenant.cognitiveservices.azure.com/openai',
    ]
    for (const baseURL of azure) expect(providerEndpoint(openAI, baseURL).notFoundHint, baseURL).toBeUndefined()
  })
})

describe('urlSecrets', () => {
  it('finds the password (as written and decoded), a token as user name, and secret query values', () => {
    expect(urlSecrets('http://tenant:p%40ss@host/v1?key=k1&token=t1&limit=5')).toEqual(['p@ss', 'p%40ss', 'k1', 't1'])
    expect(urlSecrets('https://ghp_0123456789abcdefABCDEF@host/v1')).toEqual([
      'ghp_0123456789abcdefABCDEF',
      'ghp_0123456789abcdefABCDEF',
    ])
    expect(urlSecrets('https://host/v1?subscription-key=tenant7f3a&api-version=2024-10-21')).toEqual(['tenant7f3a'])
    expect(urlSecrets('https://admin@host/v1')).toEqual([])
    expect(urlSecrets('not a url')).toEqual([])
    expect(urlSecrets(undefined)).toEqual([])
  })
})

describe('displayURL', () => {
  it('refuses what is not a URL with a ConfigurationError, not a TypeError', () => {
    for (const url of [5, undefined, null, 'http://user:pw@127.0.0.1/v1', { href: 5 }]) {
      expect(() => displayURL(url as never)).toThrow(ConfigurationError)
      expect(() => displayURL(url as never)).toThrow(/^displayURL: url must be a URL object/)
    }
    expect(displayURL(new URL('http://user:pw@127.0.0.1/v1?key=k#t'))).toBe('http://127.0.0.1/v1?key=[REDACTED]')
  })
})
