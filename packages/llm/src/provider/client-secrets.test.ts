import { redactString, registeredSecretCount } from '@tinyllm/logger'
import { describe, expect, it } from 'vitest'
import { registerClientSecrets } from './client-secrets.js'

describe('registerClientSecrets', () => {
  it('redacts the key and the base URL’s credentials until released', () => {
    const owner = {}
    const release = registerClientSecrets(owner, {
      apiKey: 'client-secrets-test-key',
      baseURL: 'http://tenant-user:tenant-pass@127.0.0.1/v1?key=query-key-1',
    })
    expect(redactString('client-secrets-test-key tenant-pass query-key-1')).toBe('[REDACTED] [REDACTED] [REDACTED]')
    release()
    expect(redactString('client-secrets-test-key')).toBe('client-secrets-test-key')
  })

  it('redacts the values of credential headers, the credential after their scheme and a Basic password', () => {
    const release = registerClientSecrets(
      {},
      {
        headers: {
          'api-key': '3f9a0c6e2b7d4a18b5c9e0f1a2b3c4d5',
          Authorization: 'Bearer tenantbearerpart',
          'X-Proxy-Authorization': `Basic ${btoa('tenant:proxypassword')}`,
          'x-team': 'credit-team-header',
        },
      },
    )
    expect(redactString('key 3f9a0c6e2b7d4a18b5c9e0f1a2b3c4d5, token tenantbearerpart, password proxypassword')).toBe(
      'key [REDACTED], token [REDACTED], password [REDACTED]',
    )
    expect(redactString(`echoed ${btoa('tenant:proxypassword')}`)).toBe('echoed [REDACTED]')
    // Headers not named like a credential are ordinary text.
    expect(redactString('team credit-team-header')).toBe('team credit-team-header')
    release()
    expect(redactString('token tenantbearerpart')).toBe('token tenantbearerpart')
  })

  it('redacts the values of environment variables named like a credential or a password, not the working directory', () => {
    const release = registerClientSecrets(
      {},
      {
        env: {
          MYSQL_PWD: 'mysql-pwd-value-3k9',
          SMTP_PASS: 'smtp-pass-value-7q1',
          PGPASSWD: 'pg-passwd-value-2x8',
          GITHUB_TOKEN: 'github-token-value-5m4',
          PASS: 'bare-pass-value-6n2',
          PWD: '/home/ada/working-dir',
          OLDPWD: '/home/ada/old-dir',
          RECORDS_URL: 'records-url-value-1a1',
        },
      },
    )
    expect(
      redactString(
        'mysql-pwd-value-3k9 smtp-pass-value-7q1 pg-passwd-value-2x8 github-token-value-5m4 bare-pass-value-6n2',
      ),
    ).toBe('[REDACTED] [REDACTED] [REDACTED] [REDACTED] [REDACTED]')
    expect(redactString('/home/ada/working-dir /home/ada/old-dir records-url-value-1a1')).toBe(
      '/home/ada/working-dir /home/ada/old-dir records-url-value-1a1',
    )
    release()
    expect(redactString('mysql-pwd-value-3k9')).toBe('mysql-pwd-value-3k9')
  })

  it('lets the registry shrink back when 10,000 tenants’ clients are released', () => {
    const before = registeredSecretCount()
    const releases = Array.from({ length: 10_000 }, (_, tenant) =>
      registerClientSecrets({}, { apiKey: `tenant-${tenant}-key-Abc0123` }),
    )
    expect(registeredSecretCount()).toBe(before + 10_000)
    expect(redactString('uses tenant-4321-key-Abc0123')).toBe('uses [REDACTED]')
    for (const release of releases) release()
    expect(registeredSecretCount()).toBe(before)
  })
})
