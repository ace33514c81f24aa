import { describe, expect, it } from 'vitest'
import { headerCredentials } from './header-credentials.js'

describe('headerCredentials', () => {
  it('reads the credential of each header named like one, and the password of a Basic credential', () => {
    const basic = btoa('tenant:s3cret-pass')
    expect(
      headerCredentials({
        Authorization: 'Bearer tok-123',
        'api-key': 'azure-key-456',
        'proxy-authorization': `Basic ${basic}`,
        'content-type': 'application/json',
      }),
    ).toEqual(['Bearer tok-123', 'tok-123', 'azure-key-456', `Basic ${basic}`, basic, 's3cret-pass'])
    expect(headerCredentials({ 'x-api-key': 'correct horse' })).toEqual(['correct horse', 'horse'])
    expect(headerCredentials(undefined)).toEqual([])
    expect(headerCredentials(null)).toEqual([])
  })

  it('reads the credential of a Bearer or Basic value under a header of any name, which the value names a credential', () => {
    const basic = btoa('tenant:s3cret-pass')
    expect(
      headerCredentials({
        'x-upstream-auth': 'Bearer upstreamtoken',
        'x-gateway-pass-through': `basic ${basic}`,
        'x-mode': 'Bearer on',
        'x-plan': 'Basic plan',
        'content-type': 'application/json',
      }),
    ).toEqual(['Bearer upstreamtoken', 'upstreamtoken', `basic ${basic}`, basic, 's3cret-pass'])
  })
})
