import { inspect } from 'node:util'
import { runInNewContext } from 'node:vm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryLogger } from './memory-logger.js'
import {
  createRedactBudget,
  isSecretFieldName,
  REDACTED,
  redact,
  redactAndCut,
  redactQuoted,
  redactString,
  redactWithin,
} from './redact.js'
import { registeredSecretCount, registerSecret } from './registered-secrets.js'
import { isSecretQueryName } from './secret-patterns.js'

const OPENAI_KEY = `sk-proj-${'Ab3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY'.repeat(4)}`

describe('redactString', () => {
  it.each([
    ['OpenAI project key', OPENAI_KEY],
    ['OpenAI legacy key', 'sk-Xy12Ab34Cd56Ef78Gh90Ij12Kl34Mn56Op78Qr90St12'],
    ['Anthropic key', `sk-ant-api03-${'aB1cD2eF3gH4'.repeat(7)}-AAAAAA`],
    ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE'],
    ['GitHub token', `ghp_${'a1B2c3D4e5'.repeat(4)}`],
    ['Slack token', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
    ['Google API key', `AIza${'Sy1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT1uV'}`],
    ['Stripe key', 'sk_live_51H8abcdEFGH1234ijkl'],
    ['JSON web token', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
    ['npm token', `npm_${'a1B2c3D4e5F6'.repeat(3)}`],
    ['Google OAuth access token', `ya29.a0${'AfB_byC1dE2fG3hI4'.repeat(3)}`],
    ['PyPI token', `pypi-AgEIcHlwaS5vcmc${'CJGU3ZTFlMmQ0LWE'.repeat(4)}`],
    ['Replicate token', `r8_${'Ab3dE5fG7hJ9kL1mN2p'.repeat(2)}`],
    ['LangSmith key', `lsv2_pt_${'0123456789abcdef'.repeat(2)}_0123456789`],
    ['Pinecone key', `pcsk_${'4aB2cD'.repeat(4)}_${'Ef3Gh4'.repeat(8)}`],
    ['Databricks token', `dapi${'0123456789abcdef'.repeat(2)}`],
  ])('replaces a %s anywhere in a string', (_kind, key) => {
    const text = `request failed for "${key}", retrying`
    expect(redactString(text)).toBe(`request failed for "${REDACTED}", retrying`)
  })

  it("keeps npm's own variables, which share the npm token's prefix", () => {
    for (const text of ['npm_config_cache=/tmp/npm', 'npm_package_version=1.0.0', 'npm_lifecycle_event=test'])
      expect(redactString(text)).toBe(text)
  })

  it('keeps the scheme of an authorization header value and drops the credential', () => {
    expect(redactString('Authorization: Bearer abcdef0123456789abcdef')).toBe(`Authorization: Bearer ${REDACTED}`)
    expect(redactString('header basic dXNlcjpwYXNzd29yZDEyMw==')).toBe(`header basic ${REDACTED}`)
  })

  it('drops a short or letters-only credential after Bearer and Basic, and keeps the words that follow them in prose', () => {
    expect(redactString('Authorization: Bearer AbCdEfGhIjKlMnOpQrStUvWx')).toBe(`Authorization: Bearer ${REDACTED}`)
    // btoa('user:pass')
    expect(redactString('Authorization: Basic dXNlcjpwYXNz')).toBe(`Authorization: Basic ${REDACTED}`)
    expect(redactString('Authorization: Bearer abc/def+ghi')).toBe(`Authorization: Bearer ${REDACTED}`)
    const prose = [
      'use Bearer authentication or Basic auth with a Bearer token',
      'HTTP Basic Authentication, then Bearer token-based auth.',
      'the basic responsibilities of a bearer authentication.',
    ]
    for (const text of prose) expect(redactString(text)).toBe(text)
  })

  it('drops a JWT or a credential after Bearer when the space before it is percent-encoded or a JSON escape', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'
    expect(redactString(`GET /ws?header=Bearer%20${jwt}&v=1`)).toBe(`GET /ws?header=Bearer%20${REDACTED}&v=1`)
    expect(redactString(`{"auth":"Bearer\\u0020${jwt}"}`)).toBe(`{"auth":"Bearer\\u0020${REDACTED}"}`)
    expect(redactString('proxied Bearer%20Zq8vR2mKp4xY7wQ1')).toBe(`proxied Bearer%20${REDACTED}`)
    // A JWT after any escaped character: a URL percent-encoded into another's query, a JSON escape.
    expect(redactString(`?next=%2Fcallback%3Fid_token%3D${jwt}`)).toBe(`?next=%2Fcallback%3Fid_token%3D${REDACTED}`)
    expect(redactString(`"note":"\\u003c${jwt}\\u003e"`)).toBe(`"note":"\\u003c${REDACTED}\\u003e"`)
    // The URL a credentials= names keeps its host once its user and password are replaced.
    expect(redactString('includes credentials: http://user:pw-9f3k@127.0.0.1:80/v1')).toBe(
      `includes credentials: http://${REDACTED}@127.0.0.1:80/v1`,
    )
    expect(redactString('GET /v1?authorization=Basic%20dXNlcjpwYXNz&x=1')).toBe(`GET /v1?authorization=${REDACTED}&x=1`)
    // Text after a value already replaced is kept: the period that ends a sentence, say.
    expect(redactString(`no recording of POST /v1?api_key=${REDACTED}.`)).toBe(
      `no recording of POST /v1?api_key=${REDACTED}.`,
    )
    expect(redactString(`sent password=${REDACTED}, retrying`)).toBe(`sent password=${REDACTED}, retrying`)
    // An unsecured JWT (alg none) has no signature: it is still a token.
    expect(redactString('token eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0. sent')).toBe(`token ${REDACTED} sent`)
    expect(redactString('Bearer%20of bad news, 100%20percent')).toBe('Bearer%20of bad news, 100%20percent')
  })

  it('drops the credential after Bearer when its space is a plus, as a form or URLSearchParams encodes a query', () => {
    const query = new URLSearchParams({ header: 'Bearer Zq8vR2mKp4xY7wQ1', v: '1' }).toString()
    expect(query).toBe('header=Bearer+Zq8vR2mKp4xY7wQ1&v=1')
    expect(redactString(`GET /ws?${query}`)).toBe(`GET /ws?header=Bearer+${REDACTED}&v=1`)
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'
    expect(redactString(`GET /v1?authorization=Bearer+${jwt}&x=1`)).toBe(`GET /v1?authorization=Bearer+${REDACTED}&x=1`)
    expect(redactString('a bearer+token-based auth')).toBe('a bearer+token-based auth')
  })

  it('keeps the words after "basic" in prose that are no Basic credential, a base64 user:password', () => {
    const prose = [
      'This is a basic 10-minute setup guide',
      'basic HTTP/1.1 support only',
      'a basic user/password login form',
      'Basic authentication/authorization is supported',
    ]
    for (const text of prose) expect(redactString(text)).toBe(text)
    // btoa('ada:correct horse'), and one whose password is not ASCII
    expect(redactString('sent basic YWRhOmNvcnJlY3QgaG9yc2U= upstream')).toBe(`sent basic ${REDACTED} upstream`)
    const encoded = btoa(String.fromCharCode(...new TextEncoder().encode('ada:pässwörd')))
    expect(redactString(`Basic ${encoded}`)).toBe(`Basic ${REDACTED}`)
    // base64 letters that are no user and password, but another key's shape
    expect(redactString('basic AKIAIOSFODNN7EXAMPLE')).toBe(`basic ${REDACTED}`)
  })

  it('drops any credential after an Authorization header of scheme Token, Basic or Bearer, and keeps plain words', () => {
    expect(redactString('Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b')).toBe(
      `Authorization: Token ${REDACTED}`,
    )
    // btoa('a:b'), shorter than the 8 characters asked of a credential outside a header
    expect(redactString('Authorization: Basic YTpi')).toBe(`Authorization: Basic ${REDACTED}`)
    expect(redactString('{\\"Authorization\\":\\"Token 5ec4e7\\"}')).toBe(
      `{\\"Authorization\\":\\"Token ${REDACTED}\\"}`,
    )
    expect(redactString("headers: { authorization: 'Bearer abc1' }")).toBe(
      `headers: { authorization: 'Bearer ${REDACTED}' }`,
    )
    const prose = [
      'Authorization: Token expired',
      'Authorization: Basic realm required',
      'the Token abc1 was read',
      'Authorization header missing',
    ]
    for (const text of prose) expect(redactString(text)).toBe(text)
  })

  it('drops the credential of an Authorization header of scheme NTLM, Negotiate or ApiKey, and keeps the scheme', () => {
    expect(redactString('Authorization: NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAO0OAAAADw==')).toBe(
      `Authorization: NTLM ${REDACTED}`,
    )
    expect(redactString('{"authorization":"Negotiate YIIFyQYGKwYBBQUCoIIFvTCC"}')).toBe(
      `{"authorization":"Negotiate ${REDACTED}"}`,
    )
    expect(redactString('Authorization: ApiKey VnVhQ2ZHY0JDZGJr')).toBe(`Authorization: ApiKey ${REDACTED}`)
    expect(redactString('Authorization: Negotiate failed')).toBe('Authorization: Negotiate failed')
  })

  it('drops the credential of an Authorization header whatever the case of its name and scheme, as HTTP reads them', () => {
    expect(redactString('AUTHORIZATION: BEARER abc123def456')).toBe(`AUTHORIZATION: BEARER ${REDACTED}`)
    expect(redactString('Authorization: TOKEN 9944b09199c6')).toBe(`Authorization: TOKEN ${REDACTED}`)
    expect(redactString('authorization: ntlm TlRMTVNTUAAB')).toBe(`authorization: ntlm ${REDACTED}`)
    expect(redactString('{"authorization":"BASIC YTpi"}')).toBe(`{"authorization":"BASIC ${REDACTED}"}`)
    expect(redactString('Authorization: DIGEST username="ada", response="6629fa"')).toBe(
      `Authorization: DIGEST ${REDACTED}`,
    )
    expect(redactString('AUTHORIZATION: NEGOTIATE failed')).toBe('AUTHORIZATION: NEGOTIATE failed')
  })

  it('drops the value after => (a Ruby or PHP hash) and := as after = or :, not the separator', () => {
    expect(redactString('{"password"=>"hunter2"}')).toBe(`{"password"=>"${REDACTED}"}`)
    expect(redactString("'api_key' => 'k1'")).toBe(`'api_key' => '${REDACTED}'`)
    expect(redactString('password := hunter2')).toBe(`password := ${REDACTED}`)
    expect(redactString('token => undefined')).toBe('token => undefined')
  })

  it('drops a bare credential after an Authorization header with no scheme, and credentials= or pass= values', () => {
    expect(redactString('Authorization: Zq8vR2mK9xT4')).toBe(`Authorization: ${REDACTED}`)
    expect(redactString('{"authorization":"Zq8vR2mK9xT4","accept":"*/*"}')).toBe(
      `{"authorization":"${REDACTED}","accept":"*/*"}`,
    )
    expect(redactString('credentials=Zq8vR2mK9xT4 pass=Zq8vR2mK9xT4')).toBe(`credentials=${REDACTED} pass=${REDACTED}`)
    const kept = ['Authorization: Forbidden', 'Authorization: required', '{"Authorization":"Token expired"}', 'pass=3']
    for (const text of kept) expect(redactString(text)).toBe(text)
  })

  it('drops the parameters of an Authorization: Digest credential, quoted or escaped into JSON, and keeps the scheme', () => {
    const digest =
      'username="ada", realm="api", nonce="dcd98b7102dd2f0e", uri="/v1", response="6629fae49393a05397450978507c4ef1"'
    expect(redactString(`Authorization: Digest ${digest}`)).toBe(`Authorization: Digest ${REDACTED}`)
    expect(redactString(`{"Proxy-Authorization":"Digest ${digest.replaceAll('"', '\\"')}"}`)).toBe(
      `{"Proxy-Authorization":"Digest ${REDACTED}"}`,
    )
    expect(redactString('Authorization: Digest required')).toBe('Authorization: Digest required')
  })

  it('replaces the value of a Cookie or Set-Cookie header in free text, and keeps a cookie line that holds no cookie', () => {
    expect(redactString('Cookie: session=abc; theme=dark\r\nHost: api')).toBe(`Cookie: ${REDACTED}\r\nHost: api`)
    expect(redactString('Set-Cookie: sid=s%3Aabc.sig; Path=/; HttpOnly')).toBe(`Set-Cookie: ${REDACTED}`)
    expect(redactString('{"cookie":"sid=x1","accept":"*/*"}')).toBe(`{"cookie":"${REDACTED}","accept":"*/*"}`)
    expect(redactString('{\\"set-cookie\\": \\"a=b\\"}')).toBe(`{\\"set-cookie\\": \\"${REDACTED}\\"}`)
    for (const text of ['cookie: none', 'the cookie: it was stale', 'cookies=3']) expect(redactString(text)).toBe(text)
  })

  it('replaces a quoted cookie value whole, escaped into JSON or not, and cut before its closing quote', () => {
    expect(redactString('Cookie: a=1; sid="abc123"; theme=dark')).toBe(`Cookie: ${REDACTED}`)
    expect(redactString('Set-Cookie: sid="abc123"; Path=/')).toBe(`Set-Cookie: ${REDACTED}`)
    expect(redactString("cookie: sid='abc123'")).toBe(`cookie: ${REDACTED}`)
    expect(redactString('{"cookie":"sid=\\"abc123\\"; x=1","accept":"*/*"}')).toBe(
      `{"cookie":"${REDACTED}","accept":"*/*"}`,
    )
    expect(redactString('Cookie: sid="abc123')).toBe(`Cookie: ${REDACTED}`)
  })

  it('reads a long run of cookie: in time proportional to its length', () => {
    // Each cookie: used to start a cookie name read to the run's end: minutes for this line.
    const run = 'cookie:'.repeat(100_000)
    const started = performance.now()
    expect(redactString(run)).toBe(run)
    expect(performance.now() - started).toBeLessThan(5_000)
  })

  it('replaces the value after a command-line flag named like a secret, in a command line and in an argument list', () => {
    expect(redactString('spawned psql --password hunter2 --host db')).toBe(
      `spawned psql --password ${REDACTED} --host db`,
    )
    expect(redactString('cli --api-key \'k 1\' --client-secret "s3" -v')).toBe(
      `cli --api-key '${REDACTED}' --client-secret "${REDACTED}" -v`,
    )
    expect(redactString('deploy --github-token Ghx8vR2mKp4q --dry-run')).toBe(
      `deploy --github-token ${REDACTED} --dry-run`,
    )
    // A flag with no value, a count and a weak name's plain word stay.
    for (const text of [
      'run --password --user ada',
      'eval --max-tokens 100',
      'login --token expired',
      'a -- password x',
    ])
      expect(redactString(text)).toBe(text)
    const argv = ['node', 'cli.js', '--password', 'hunter2', '--api_key', 'k1', '--token', 'Zq8vR2mKp4', '--port', '80']
    expect(redact({ argv })).toEqual({
      argv: ['node', 'cli.js', '--password', REDACTED, '--api_key', REDACTED, '--token', REDACTED, '--port', '80'],
    })
    expect(redact(['--token', 'expired', '--password', '--verbose'])).toEqual([
      '--token',
      'expired',
      '--password',
      '--verbose',
    ])
  })

  it("replaces the user and password after curl's -u or --user, spaced, glued, after = and quoted, in a command line and in an argument list", () => {
    expect(redactString('curl -u alice:hunter2secret https://api.example.com')).toBe(
      `curl -u ${REDACTED} https://api.example.com`,
    )
    expect(redactString('curl --user alice:hunter2secret https://x')).toBe(`curl --user ${REDACTED} https://x`)
    expect(redactString('curl --user=alice:hunter2secret https://x')).toBe(`curl --user=${REDACTED} https://x`)
    expect(redactString('curl -ualice:hunter2secret https://x')).toBe(`curl -u${REDACTED} https://x`)
    expect(redactString("curl -u 'alice:p w' https://x")).toBe(`curl -u '${REDACTED}' https://x`)
    expect(redactString('curl -u "alice:pw" https://x')).toBe(`curl -u "${REDACTED}" https://x`)
    expect(redactString('{"command":"curl -u \\"alice:pw\\" https://x"}')).toBe(
      `{"command":"curl -u \\"${REDACTED}\\" https://x"}`,
    )
    // Short options run together, as curl reads them; a key as the user (Stripe's `-u sk_test_…:`), an empty user; and
    // a proxy's user and password.
    expect(redactString('curl -sSu alice:pw https://x')).toBe(`curl -sSu ${REDACTED} https://x`)
    expect(redactString('curl -u key_Zq8vR2mKp4: https://x')).toBe(`curl -u ${REDACTED} https://x`)
    expect(redactString('curl -u :token1 https://x')).toBe(`curl -u ${REDACTED} https://x`)
    expect(redactString('curl -U proxy:pw --proxy-user proxy:pw2 x')).toBe(
      `curl -U ${REDACTED} --proxy-user ${REDACTED} x`,
    )
    // A user alone, no value, and what follows -u in other commands: a path, a URL, a date format.
    for (const text of [
      'curl -u alice https://x',
      'curl --user alice https://x',
      'ls -u',
      'run -u --user ada',
      'git push -u origin main',
      'python -u C:\\tools\\run.py',
      'rsync -avu host:/srv/data /backup',
      'ffuf -u https://example.com/FUZZ',
      'date -u +%H:%M:%S',
      'curl --user-agent a:b https://x',
    ])
      expect(redactString(text)).toBe(text)
    const argv = ['curl', '-u', 'alice:hunter2', '--user', 'bob:pw', '--proxy-user', 'p:q', '-o', 'a:b', 'https://x']
    expect(redact({ argv })).toEqual({
      argv: ['curl', '-u', REDACTED, '--user', REDACTED, '--proxy-user', REDACTED, '-o', 'a:b', 'https://x'],
    })
    expect(redact(['curl', '--user=alice:pw', '-ualice:pw', '-u', 'alice', '-u', 'https://x'])).toEqual([
      'curl',
      `--user=${REDACTED}`,
      `-u${REDACTED}`,
      '-u',
      'alice',
      '-u',
      'https://x',
    ])
  })

  it('reads long runs of -u and --user in time proportional to their length', () => {
    for (const run of [
      '-u '.repeat(50_000),
      '-u'.repeat(50_000),
      '-u :'.repeat(50_000),
      `-u "${'-u a:b '.repeat(20_000)}`,
      `-u '${'x'.repeat(100_000)}`,
      '--user='.repeat(30_000),
    ]) {
      const started = performance.now()
      redactString(run)
      expect(performance.now() - started).toBeLessThan(5_000)
    }
  })

  it('replaces auth=, jwt=, sig=, signature= and credential= values outside a query string, in a message or a header', () => {
    expect(redactString('retrying with auth=S3cr3tValue99 now')).toBe(`retrying with auth=${REDACTED} now`)
    expect(redactString('X-Upstream: jwt=abcDEF123456789; sig=Zz0123456789abc')).toBe(
      `X-Upstream: jwt=${REDACTED}; sig=${REDACTED}`,
    )
    expect(
      redactString(
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, Signature=fe5f80f77d5fa3beca038a248ff027',
      ),
    ).toBe(`AWS4-HMAC-SHA256 Credential=${REDACTED}, Signature=${REDACTED}`)
    for (const text of [
      'auth=none',
      'auth=basic',
      'the key=value pairs, monkey=Banana12345',
      'exit code=ERR_TIMEOUT1',
    ]) {
      expect(redactString(text)).toBe(text)
    }
  })

  it('replaces the value of a name ending in password, secret or token in free text, as a field of that name', () => {
    expect(redactString('{"dbPassword":"hunter2","user":"ada"}')).toBe(`{"dbPassword":"${REDACTED}","user":"ada"}`)
    expect(redactString('adminPassword=hunter2 webhookSecret=whsec_abc')).toBe(
      `adminPassword=${REDACTED} webhookSecret=${REDACTED}`,
    )
    expect(redactString('{\\"sessionToken\\":\\"AbC123def456\\"}')).toBe(`{\\"sessionToken\\":\\"${REDACTED}\\"}`)
    const kept = ['csrfToken=none', 'max_tokens=4096 maxTokens: 16', 'sessionToken: short', 'cwd=/tmp mypwd=1']
    for (const text of kept) expect(redactString(text)).toBe(text)
  })

  it('replaces a passphrase: the value of a field named so, and of passphrase=... in free text', () => {
    expect(redact({ passphrase: 'correct horse', keyPassphrase: 'battery staple' })).toEqual({
      passphrase: REDACTED,
      keyPassphrase: REDACTED,
    })
    expect(redactString('sshPassphrase=hunter2 "passphrase": "correct horse"')).toBe(
      `sshPassphrase=${REDACTED} "passphrase": "${REDACTED}"`,
    )
  })

  it('replaces the password of a connection string, Pwd=... or pwd=..., and keeps a working directory and the pwd command', () => {
    expect(redactString('Server=db;Uid=sa;Pwd=hunter2;')).toBe(`Server=db;Uid=sa;Pwd=${REDACTED};`)
    expect(redactString('Driver={ODBC};UID=sa;pwd=x')).toBe(`Driver={ODBC};UID=sa;pwd=${REDACTED}`)
    expect(redactString('pwd=x')).toBe(`pwd=${REDACTED}`)
    const prose = ['PWD=/home/ada', 'pwd=~/src', 'bash: pwd: command not found', 'cwd=/tmp mypwd=1']
    for (const text of prose) expect(redactString(text)).toBe(text)
  })

  it('replaces the value of api_key=... and "password": "..." assignments in free text', () => {
    expect(redactString('GET /v1/models?api_key=Zz9Yy8Xx7Ww6&limit=5')).toBe(
      `GET /v1/models?api_key=${REDACTED}&limit=5`,
    )
    expect(redactString('{"password": "Tr0ub4dor&3"}')).toBe(`{"password": "${REDACTED}"}`)
    expect(redactString("api_key = 'Abc 123 def ghi'")).toBe(`api_key = '${REDACTED}'`)
  })

  it('replaces any value of a password, secret, api_key or access token, however short or plain', () => {
    expect(redactString('login failed for password=correcthorsebatterystaple')).toBe(
      `login failed for password=${REDACTED}`,
    )
    expect(redactString('login failed for password=Hunt3r2')).toBe(`login failed for password=${REDACTED}`)
    expect(redactString('GET /v1?api_key=A1b2c3d')).toBe(`GET /v1?api_key=${REDACTED}`)
    expect(redactString('secret=x')).toBe(`secret=${REDACTED}`)
    expect(redactString('client_secret: x, passwd=abc; refresh_token=z')).toBe(
      `client_secret: ${REDACTED}, passwd=${REDACTED}; refresh_token=${REDACTED}`,
    )
  })

  it('replaces the value of a secret key named as configuration files and environments name it, and a PEM private key', () => {
    expect(redactString('aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toBe(
      `aws_secret_access_key = ${REDACTED}`,
    )
    expect(redactString('SECRET_KEY=django-insecure-abc, secretKey: "minio123", SIGNING_KEY=x')).toBe(
      `SECRET_KEY=${REDACTED}, secretKey: "${REDACTED}", SIGNING_KEY=${REDACTED}`,
    )
    expect(redactString('Ocp-Apim-Subscription-Key: 0123456789abcdef0123456789abcdef')).toBe(
      `Ocp-Apim-Subscription-Key: ${REDACTED}`,
    )
    expect(
      redactString(
        'DefaultEndpointsProtocol=https;AccountName=ada;AccountKey=abc+def/ghi==;EndpointSuffix=core.windows.net',
      ),
    ).toBe(`DefaultEndpointsProtocol=https;AccountName=ada;AccountKey=${REDACTED};EndpointSuffix=core.windows.net`)
    expect(
      redactString('Endpoint=sb://ada.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=abc='),
    ).toBe(`Endpoint=sb://ada.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=${REDACTED}`)
    const pem =
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwgg+/Sj=\n-----END RSA PRIVATE KEY-----'
    expect(redactString(`loaded ${pem} from disk`)).toBe(`loaded ${REDACTED} from disk`)
    expect(redactString(JSON.stringify({ private_key: pem }))).toBe(`{"private_key":"${REDACTED}"}`)
    expect(redactString(`private_key: ${pem}`)).not.toContain('MIIEvQ')
    const encrypted =
      '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,5E22A2BD85A653FB\n\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END RSA PRIVATE KEY-----'
    expect(redactString(`loaded ${encrypted} from disk`)).toBe(`loaded ${REDACTED} from disk`)
    // cut before its END line, as a message cut short quotes it
    expect(redactString('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwgg+/Sj')).toBe(REDACTED)
    const kept =
      'the secretary: JohnSmith1; public_key=AAAAB3Nza; -----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'
    expect(redactString(kept)).toBe(kept)
  })

  it('keeps placeholders under secret names, and short or plain values under weaker ones such as token', () => {
    const kept = [
      'password: undefined, secret=null, api_key=None, "password": "", access_token=false',
      `password=***** and {"secret": "${REDACTED}"}`,
      'token: undefined; token=abcdefghij; token=Ab1; ?sig=short',
    ]
    for (const text of kept) expect(redactString(text)).toBe(text)
  })

  it('replaces a quoted value whole when it holds an escaped quote, in JSON and in JSON escaped into a string', () => {
    const body = { password: 'ab"cd-efgh', client_secret: 'x\\y"z', user: 'ann' }
    const redacted = { password: REDACTED, client_secret: REDACTED, user: 'ann' }
    expect(redactString(JSON.stringify(body))).toBe(JSON.stringify(redacted))
    expect(redactString(JSON.stringify(JSON.stringify(body)))).toBe(JSON.stringify(JSON.stringify(redacted)))
    expect(redactString("api_key='ab\\'cd' next")).toBe(`api_key='${REDACTED}' next`)
  })

  it('replaces the whole of a password holding a quote in JSON escaped one, two and three times into strings', () => {
    let text = JSON.stringify({ password: 'ab"cd-secret-tail', user: 'ann' })
    let expected = JSON.stringify({ password: REDACTED, user: 'ann' })
    for (const depth of [1, 2, 3]) {
      text = JSON.stringify(text)
      expected = JSON.stringify(expected)
      const redacted = redactString(text)
      expect(redacted, `escaped ${depth} times`).toBe(expected)
      expect(redacted).not.toContain('secret-tail')
    }
  })

  it('ends an escaped quoted value at its own closing quote, after escaped backslashes, and keeps what follows', () => {
    const body = { password: 'ends-in\\', secret: 'a\\"b\\', note: 'kept "as is"' }
    let text = JSON.stringify(body)
    let expected = JSON.stringify({ password: REDACTED, secret: REDACTED, note: 'kept "as is"' })
    for (const depth of [0, 1, 2, 3]) {
      expect(redactString(text), `escaped ${depth} times`).toBe(expected)
      text = JSON.stringify(text)
      expected = JSON.stringify(expected)
    }
    // Quoting that matches no depth still ends at the next quote.
    expect(redactString('password=\\"hunter2" next')).not.toContain('hunter2')
  })

  it('replaces secrets in JSON that was escaped into a string', () => {
    const escaped = JSON.stringify(JSON.stringify({ password: 'Hunter2Hunter2', user: 'bob', access_token: 'tok' }))
    expect(redactString(escaped)).toBe(
      JSON.stringify(JSON.stringify({ password: REDACTED, user: 'bob', access_token: REDACTED })),
    )
    const twice = JSON.stringify(escaped)
    expect(redactString(twice)).toBe(
      JSON.stringify(JSON.stringify(JSON.stringify({ password: REDACTED, user: 'bob', access_token: REDACTED }))),
    )
  })

  it('replaces the value of a JSON member named like a secret in free text, as redact replaces the field', () => {
    const secret = 'Zq8vR2mKp4xyzW9'
    const body = {
      model: 'gpt-4o',
      apiKey: [secret, 'x]"{'],
      secret: { value: secret, nested: [1, { bracket: ']' }] },
      auth: secret,
      headers: [
        { name: 'x-api-key', value: secret },
        { name: 'accept', value: 'application/json' },
      ],
      after: 'kept',
    }
    const redacted = {
      model: 'gpt-4o',
      apiKey: REDACTED,
      secret: REDACTED,
      auth: REDACTED,
      headers: [
        { name: 'x-api-key', value: REDACTED },
        { name: 'accept', value: 'application/json' },
      ],
      after: 'kept',
    }
    let text = JSON.stringify(body)
    let expected = JSON.stringify(redacted)
    for (const depth of [0, 1, 2]) {
      expect(redactString(text), `escaped ${depth} times`).toBe(expected)
      text = JSON.stringify(text)
      expected = JSON.stringify(expected)
    }
    expect(redactString(JSON.stringify(body, null, 2))).toBe(JSON.stringify(redacted, null, 2))
    expect(redactString(`400: {'pass': '${secret}', 'apiKey': ['${secret}']}`)).toBe(
      `400: {'pass': '${REDACTED}', 'apiKey': '${REDACTED}'}`,
    )
    expect(redactString(`[{"key":"password","value":"${secret}"}]`)).toBe(`[{"key":"password","value":"${REDACTED}"}]`)
    // Cut before its end, the value goes as far as it runs.
    expect(redactString(`body: {"secret":{"value":"${secret}`)).toBe(`body: {"secret":"${REDACTED}"`)
    // What is no secret stays: an auth object keeps its structure, as redact keeps it, and so do other names.
    const kept = '{"pass": 3, "auth": {"type": "bearer"}, "pwd": "/home/ada", "keys": ["a", "b"], "note": "key: [x]"}'
    expect(redactString(kept)).toBe(kept)
  })

  it('replaces the value of a header entry written in free text, as redact replaces it in a list of entries', () => {
    const secret = '3f9a0c6e2b7d4a18b5c9e0f1a2b3c4d5'
    const entries = [
      ['x-api-key', secret],
      ['AUTHORIZATION', `Token ${secret}`],
      ['accept', 'application/json'],
    ]
    const redacted = [
      ['x-api-key', REDACTED],
      ['AUTHORIZATION', REDACTED],
      ['accept', 'application/json'],
    ]
    let text = JSON.stringify({ headers: entries })
    let expected = JSON.stringify({ headers: redacted })
    for (const depth of [0, 1, 2]) {
      expect(redactString(text), `escaped ${depth} times`).toBe(expected)
      text = JSON.stringify(text)
      expected = JSON.stringify(expected)
    }
    expect(redactString(JSON.stringify(entries, null, 2))).toBe(JSON.stringify(redacted, null, 2))
    // As util.inspect prints them, and cut before the entry's end.
    expect(redactString(inspect(entries))).toBe(inspect(redacted))
    expect(redactString(`got [["x-api-key","${secret.slice(0, 20)}…`)).toBe(`got [["x-api-key","${REDACTED}"`)
    // A list of names is no entry: a schema's `required` stays.
    const kept = '{"required": ["apiKey", "model"], "pairs": [["model", "apiKey"]]}'
    expect(redactString(kept)).toBe(kept)
  })

  it('replaces the value of a percent-encoded assignment, as in a URL that is the value of another query parameter', () => {
    const secret = 'Zq8vR2mKp4xyzW9'
    expect(redactString(`GET /login?next=https%3A%2F%2Fapp.test%2Fcb%3Fapi_key%3D${secret}%26page%3D2`)).toBe(
      `GET /login?next=https%3A%2F%2Fapp.test%2Fcb%3Fapi_key%3D${REDACTED}%26page%3D2`,
    )
    expect(redactString(`state=password%3d${secret}%23top`)).toBe(`state=password%3d${REDACTED}%23top`)
    expect(redactString(`?next=%2Fcb%3Fpage%3D2%26sig%3D${secret}`)).toBe(`?next=%2Fcb%3Fpage%3D2%26sig%3D${REDACTED}`)
    // A name that is no secret's, or a value that looks like none, stays.
    for (const kept of ['?next=%2Fsearch%3Fq%3Dkey%26page%3DBanana12345', 'redirect=%2Fcb%3Fkey%3Dvalue'])
      expect(redactString(kept)).toBe(kept)
  })

  it('replaces the value of an assignment whose colon, or a character of whose name, is percent-encoded', () => {
    const secret = 'Zq8vR2mKp4xyzW9'
    expect(redactString(`GET /cb?next=%2Fcb%3Fapi_key%3A${secret}%26page%3D2`)).toBe(
      `GET /cb?next=%2Fcb%3Fapi_key%3A${REDACTED}%26page%3D2`,
    )
    expect(redactString(`state=password%3a${secret}`)).toBe(`state=password%3a${REDACTED}`)
    expect(redactString(`GET /v1?api%5Fkey=${secret}&page=2`)).toBe(`GET /v1?api%5Fkey=${REDACTED}&page=2`)
    expect(redactString(`?subscription%2Dkey=${secret}`)).toBe(`?subscription%2Dkey=${REDACTED}`)
    expect(redactString(`api%5fkey=short`)).toBe(`api%5fkey=${REDACTED}`)
    expect(redactString(`secret%5Fkey%3D${secret}%26x%3D1`)).toBe(`secret%5Fkey%3D${REDACTED}%26x%3D1`)
    // A name that is no secret's, or a value that looks like none, stays.
    for (const kept of ['monkey%3A1', 'scope=token%3Aread', '?page%5Fsize=25', 'exit code%3D3', 'urn%3Aapi%3Akey'])
      expect(redactString(kept)).toBe(kept)
  })

  it('replaces a YAML list under a secret name, written in brackets or as a block of items, whole', () => {
    const secret = 'Zq8vR2mKp4xyzW9'
    expect(redactString(`apiKey: [${secret}]`)).toBe(`apiKey: ${REDACTED}`)
    // Cut before its end, the list goes as far as its line runs.
    expect(redactString(`apiKey: [${secret}, sk`)).toBe(`apiKey: ${REDACTED}`)
    expect(redactString(`password: ["${secret}", other]\nuser: ada`)).toBe(`password: ${REDACTED}\nuser: ada`)
    expect(redactString(`config:\n  apiKey:\n    - ${secret}\n    - other\n  model: gpt-4o\n`)).toBe(
      `config:\n  apiKey:\n    ${REDACTED}\n  model: gpt-4o\n`,
    )
    expect(redactString(`password:\n- ${secret}\n- other\nuser: ada`)).toBe(`password:\n${REDACTED}\nuser: ada`)
    // The items of an outer list after the secret's own stay.
    expect(redactString(`- name: a\n  password:\n  - ${secret}\n- name: b`)).toBe(
      `- name: a\n  password:\n  ${REDACTED}\n- name: b`,
    )
    // JSON keeps its shape: a list under a quoted name is a string.
    expect(redactString(`{"password": ["${secret}"]}`)).toBe(`{"password": "${REDACTED}"}`)
    const kept = 'tokens: 42\nkeys: [a, b]\nsteps:\n  - monkey=1\n  - exit code=3\ntoken: []\npassword: [ ]'
    expect(redactString(kept)).toBe(kept)
  })

  it('replaces the value of a name and value pair written value first, as a JSON member in free text', () => {
    const secret = 'Zq8vR2mKp4xyzW9'
    const headers = [
      { value: secret, name: 'x-api-key' },
      { value: 'application/json', name: 'accept' },
      { Value: secret, Key: 'password' },
    ]
    const redacted = [
      { value: REDACTED, name: 'x-api-key' },
      { value: 'application/json', name: 'accept' },
      { Value: REDACTED, Key: 'password' },
    ]
    let text = JSON.stringify(headers)
    let expected = JSON.stringify(redacted)
    for (const depth of [0, 1, 2]) {
      expect(redactString(text), `escaped ${depth} times`).toBe(expected)
      text = JSON.stringify(text)
      expected = JSON.stringify(expected)
    }
    expect(redactString(JSON.stringify(headers, null, 2))).toBe(JSON.stringify(redacted, null, 2))
    expect(redactString(`{'value': '${secret}', 'name': 'Authorization'}`)).toBe(
      `{'value': '${REDACTED}', 'name': 'Authorization'}`,
    )
    // A query name takes a value that looks like a credential, as name first; the scheme of a header is kept.
    expect(redactString(`{"value":"${secret}","name":"code"}`)).toBe(`{"value":"${REDACTED}","name":"code"}`)
    expect(redactString(`{"value":"Bearer ${secret}","name":"Authorization"}`)).toBe(
      `{"value":"Bearer ${REDACTED}","name":"Authorization"}`,
    )
    const kept =
      '[{"value":"Zq8vR2mKp4xyzW9","name":"model"},{"value":"12","name":"code"},{"value":"a","name":"tokens"}]'
    expect(redactString(kept)).toBe(kept)
  })

  it('reads long runs of encoded names, YAML lists and value-first pairs in time proportional to their length', () => {
    for (const run of [
      'api%5Fkey%3A'.repeat(80_000),
      '?a%5Fa%5F%2D'.repeat(80_000),
      'apiKey: ['.repeat(100_000),
      `password:\n${' '.repeat(1_000_000)}"`,
      'password:\n  -'.repeat(70_000),
      '"value":"x","name":"'.repeat(50_000),
      '\\"value\\":\\"x\\",\\"name\\":'.repeat(40_000),
    ]) {
      const started = performance.now()
      redactString(run)
      expect(performance.now() - started).toBeLessThan(5_000)
    }
  })

  it('replaces the text of an XML element named like a secret, as redact replaces the field', () => {
    const secret = 'Zq8vR2mKp4xyzW9'
    expect(redactString(`<auth><user>ada</user><password>${secret}</password></auth>`)).toBe(
      `<auth><user>ada</user><password>${REDACTED}</password></auth>`,
    )
    expect(redactString(`fault: <soap:Body><ns:ApiKey type="x">${secret}</ns:ApiKey></soap:Body>`)).toBe(
      `fault: <soap:Body><ns:ApiKey type="x">${REDACTED}</ns:ApiKey></soap:Body>`,
    )
    const kept = '<tokens>42</tokens><secret> </secret><note>password reset</note>'
    expect(redactString(kept)).toBe(kept)
  })

  it('replaces a key right after an escaped line break or tab, as in a message escaped into JSON', () => {
    const key = `sk-proj-${'A1b2C3d4'.repeat(4)}`
    for (const text of [`failed:\n${key}`, `a\t${key} b`, `x\r\n${key}`]) {
      const escaped = JSON.stringify(text)
      expect(redactString(escaped)).not.toContain(key)
      expect(redactString(JSON.stringify(escaped))).not.toContain(key)
    }
    // A word that merely ends in one of those letters still makes no key of what follows.
    expect(redactString(`plan-sk-${'A1b2C3d4'.repeat(4)}`)).toContain('plan-sk-')
  })

  it('leaves ordinary text alone', () => {
    const ordinary = [
      'Used 1234 tokens (max_tokens=4096) for the task-based sk-learn-compatible-pipeline',
      'password reset email sent; token: undefined; secret sauce',
      'Bearer of bad news: the bearer authentication scheme',
      'AKIA is a prefix; ghp_ too; xoxb-short',
      'https://api.openai.com/v1/chat/completions model=gpt-4o-mini-2024-07-18',
      'A 40 character hex digest: 3f786850e387550fdab836ed7e6dc881de23001b',
    ]
    for (const text of ordinary) expect(redactString(text)).toBe(text)
  })
})

describe('registerSecret', () => {
  const unregister: (() => void)[] = []
  afterEach(() => {
    for (const undo of unregister.splice(0)) undo()
  })

  it('redacts the exact value wherever it appears, until unregistered', () => {
    const secret = 'correct-horse-battery-staple'
    unregister.push(registerSecret(secret))
    expect(redactString(`pw=${secret}!`)).toBe(`pw=${REDACTED}!`)
    expect(redact({ note: `is ${secret}`, list: [secret] })).toEqual({ note: `is ${REDACTED}`, list: [REDACTED] })
    unregister.pop()?.()
    expect(redactString(`pw=${secret}!`)).toBe(`pw=${secret}!`)
  })

  it('replaces a secret the cut of a long string falls inside whole, before cutting (redactAndCut)', () => {
    const secret = 'correct-horse-battery-staple'
    unregister.push(registerSecret(secret))
    const key = `sk-proj-${'A1b2C3d4'.repeat(6)}`
    for (const planted of [secret, key]) {
      // The cut at 1,000 falls in the middle of the secret.
      const text = `${'x'.repeat(1_000 - 11)} ${planted} and more text after it`
      const shown = redactAndCut(text, 1_000)
      expect(shown.endsWith('…')).toBe(true)
      expect(shown.length).toBeLessThanOrEqual(1_001)
      expect(shown).not.toContain(planted.slice(0, 10))
      expect(redactAndCut(`${planted} short`, 1_000)).toBe(`${REDACTED} short`)
    }
    // A long string is read only as far as it can show.
    expect(redactAndCut(`${'y'.repeat(10_000_000)}${secret}`, 1_000)).toBe(`${'y'.repeat(1_000)}…`)
  })

  it("cuts at a code point, never inside an emoji: no lone surrogate is made (redactAndCut, an error's strings)", () => {
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
    const emoji = '\u{1F600}'
    expect(redactAndCut(`a${emoji}b`, 2)).toBe('a…')
    expect(redactAndCut(`a${emoji}b`, 3)).toBe(`a${emoji}…`)
    for (const head of ['', 'x']) {
      for (const length of [1, 2, 999, 1_000, 1_001, 5_000]) {
        const text = `${head}${emoji.repeat(6_000)}`
        const shown = redactAndCut(text, length)
        expect(shown).not.toMatch(loneSurrogate)
        expect(shown.length).toBeGreaterThanOrEqual(length)
        expect(shown.length).toBeLessThanOrEqual(length + 1)
      }
      // A secret replaced in a long text's head leaves it shorter than the cut: it is still cut at a code point.
      const secretFirst = `${OPENAI_KEY} ${head}${emoji.repeat(6_000)}`
      expect(redactAndCut(secretFirst, 5_000)).not.toMatch(loneSurrogate)
      const error = new Error(`${head}${emoji.repeat(3_000)}`)
      error.name = `${head}${emoji.repeat(3_000)}`
      Object.assign(error, { detail: `${head}${emoji.repeat(3_000)}` })
      const copy = redact(error) as unknown as Record<string, string>
      for (const field of ['name', 'message', 'stack', 'detail']) expect(copy[field]).not.toMatch(loneSurrogate)
      expect(copy.message).toBe(head === '' ? `${emoji.repeat(500)}…` : `x${emoji.repeat(499)}…`)
    }
    // A lone surrogate the text holds is its own, and kept.
    expect(redactAndCut('a\uD83Db', 10)).toBe('a\uD83Db')
  })

  it('refuses a text that is not a string, and a maxLength that is not an integer ≥ 0, with a TypeError', () => {
    for (const text of [123, undefined, null, { toString: () => OPENAI_KEY }] as never[]) {
      expect(() => redactString(text)).toThrow(/redactString: text must be a string/)
      expect(() => redactAndCut(text, 10)).toThrow(/redactAndCut: text must be a string/)
    }
    for (const maxLength of [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY, undefined, '10'] as never[]) {
      expect(() => redactAndCut('abcdef', maxLength)).toThrow(/redactAndCut: maxLength must be an integer ≥ 0/)
    }
    expect(redactAndCut('abcdef', 0)).toBe('…')
    // What was given is named as a reader would say it.
    for (const [text, given] of [
      [undefined, 'undefined'],
      [{}, 'an object'],
      [[], 'an object'],
      [() => {}, 'a function'],
      [Symbol('s'), 'a symbol'],
      [1n, 'a bigint'],
    ] as const) {
      expect(() => redactString(text as never)).toThrow(
        new TypeError(`redactString: text must be a string, got ${given}`),
      )
    }
  })

  it('replaces a registered secret longer than 4,096 characters whole where a cut falls inside it, escaped or not', () => {
    const privateKey = `-----BEGIN PRIVATE KEY-----\n${'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'.repeat(190)}\n-----END PRIVATE KEY-----`
    unregister.push(registerSecret(privateKey))
    const body = 'MIIEvQIBADANBgkq'
    for (const planted of [privateKey, encodeURIComponent(privateKey)]) {
      const text = `${'x'.repeat(900)}${planted} after`
      expect(redactAndCut(text, 1_000)).toBe(`${'x'.repeat(900)}${REDACTED} after`)
      const copy = redact({ error: new Error(text, { cause: text }), cause: new Error('c', { cause: text }) })
      expect(JSON.stringify(copy)).not.toContain(body)
    }
  })

  it('copies an error whose message and cause are long strings cut, with no part of a secret at the cut', () => {
    const secret = 'correct-horse-battery-staple'
    unregister.push(registerSecret(secret))
    const long = `${'x'.repeat(1_000 - 10)}${secret}${'z'.repeat(10_000_000)}`
    const copy = redact({ error: new Error(long, { cause: long }) }) as unknown as { error: Record<string, string> }
    for (const field of ['message', 'cause', 'stack'] as const) {
      expect(copy.error[field]).not.toContain(secret.slice(0, 10))
      expect(copy.error[field]?.length).toBeLessThan(5_000)
    }
  })

  it('refuses a value that is not a string with a TypeError, and takes undefined as nothing to register', () => {
    expect(() => registerSecret(12345678 as unknown as string)).toThrow(
      new TypeError('registerSecret: value must be a string or undefined, got number'),
    )
    expect(() => registerSecret(null as unknown as string)).toThrow(/got object/)
    expect(registerSecret(undefined)).toBeTypeOf('function')
  })

  it('redacts a secret in a symbol, a function name and a boxed string, where no field shows it in pieces', () => {
    const secret = 'tenant-Q7xv93Lm2ZpK'
    unregister.push(registerSecret(secret))
    const named = { [secret]: () => {} }[secret]
    const output = redact({ symbol: Symbol(secret), fn: named, boxed: new String(secret), counted: new Number(3) })
    expect(output).toEqual({
      symbol: `Symbol(${REDACTED})`,
      fn: `[Function: ${REDACTED}]`,
      boxed: REDACTED,
      counted: 3,
    })
    expect(JSON.stringify(output)).not.toContain('Q7xv93')
  })

  it('unboxes a string, number or boolean made in another realm, so a secret in one is not shown in pieces', () => {
    const secret = 'tenant-R8yw04Mn3AqL'
    unregister.push(registerSecret(secret))
    const foreign = runInNewContext(
      `({ boxed: new String(${JSON.stringify(secret)}), counted: new Number(3), flag: new Boolean(false) })`,
    ) as Record<string, unknown>
    expect(foreign.boxed instanceof String).toBe(false)
    const output = redact(foreign)
    expect(output).toEqual({ boxed: REDACTED, counted: 3, flag: false })
    expect(JSON.stringify(output)).not.toContain('R8yw')
    // What only claims to be a boxed string is not taken for one.
    expect(redact({ claim: { [Symbol.toStringTag]: 'String', note: secret } })).toEqual({ claim: '[Unserializable]' })
  })

  it('replaces the longer of two overlapping secrets whole', () => {
    unregister.push(registerSecret('abcd'), registerSecret('abcdefgh-long'))
    expect(redactString('x abcdefgh-long y abcd')).toBe(`x ${REDACTED} y ${REDACTED}`)
  })

  it('trims the value and ignores undefined, empty and very short values', () => {
    unregister.push(
      registerSecret(' padded-secret-1 \n'),
      registerSecret(undefined),
      registerSecret(''),
      registerSecret('ab'),
    )
    expect(redactString('padded-secret-1 ab')).toBe(`${REDACTED} ab`)
  })

  it('is shared through globalThis with other copies of the package', async () => {
    // The same module loaded a second time, as a second copy of the package would be.
    const specifier = './registered-secrets.js?another-copy'
    const otherCopy = (await import(specifier)) as typeof import('./registered-secrets.js')
    expect(otherCopy.registerSecret).not.toBe(registerSecret)
    const release = otherCopy.registerSecret('registered-by-another-copy')
    try {
      expect(redactString('registered-by-another-copy')).toBe(REDACTED)
    } finally {
      release()
    }
    expect(redactString('registered-by-another-copy')).toBe('registered-by-another-copy')
  })

  it('redacts a registered key echoed URL-encoded, whatever the case of its escapes', () => {
    const key = 'tenant+Key/0123='
    unregister.push(registerSecret(key))
    const encoded = encodeURIComponent(key)
    expect(encoded).toBe('tenant%2BKey%2F0123%3D')
    expect(redactString(`GET /v1/models?x=${encoded}&y=1`)).toBe(`GET /v1/models?x=${REDACTED}&y=1`)
    expect(redactString(`echo tenant%2bKey%2f0123%3d`)).toBe(`echo ${REDACTED}`)
  })

  it("redacts a registered value echoed as a form body or URLSearchParams writes it: a space as +, !'()~ escaped", () => {
    const password = "correct horse (it's) battery~staple!"
    unregister.push(registerSecret(password))
    const url = new URL('https://auth.example.com/token')
    url.searchParams.set('assertion', password)
    expect(url.search).toBe('?assertion=correct+horse+%28it%27s%29+battery%7Estaple%21')
    expect(redactString(`POST ${url.href}`)).toBe(`POST https://auth.example.com/token?assertion=${REDACTED}`)
    const body = new URLSearchParams({ grant: 'x', assertion: password }).toString()
    expect(redactString(body.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()))).toBe(
      `grant=x&assertion=${REDACTED}`,
    )
  })

  it('redacts a registered value echoed with only some of its characters escaped, as new URL writes a path and a query', () => {
    const password = 'Zürich/Geheim $42'
    unregister.push(registerSecret(password))
    const url = new URL(`https://h.example/v1/${password}?q=${password}&n=1`)
    expect(url.href).toBe('https://h.example/v1/Z%C3%BCrich/Geheim%20$42?q=Z%C3%BCrich/Geheim%20$42&n=1')
    expect(redactString(`GET ${url.href} 50%25 done`)).toBe(
      `GET https://h.example/v1/${REDACTED}?q=${REDACTED}&n=1 50%25 done`,
    )
    expect(redactString(`€ %E2%82%AC Z%c3%bcrich/Geheim%20$42%`)).toBe(`€ %E2%82%AC ${REDACTED}%`)
    // Among thousands of values, found by the scan as well.
    const tenants = Array.from({ length: 100 }, (_, tenant) => registerSecret(`tenant-${tenant}-key`))
    unregister.push(...tenants)
    expect(redactString(`GET ${url.href}`)).toBe(`GET https://h.example/v1/${REDACTED}?q=${REDACTED}&n=1`)
  })

  it('redacts a registered value holding a quote or a backslash as a JSON string writes it, in a body or a field', () => {
    const password = 'Tr0ub4dor"&\\3-horse'
    unregister.push(registerSecret(password))
    const body = JSON.stringify({ messages: [{ role: 'user', content: `my password is ${password}` }], password })
    expect(redactString(body)).toBe(
      `{"messages":[{"role":"user","content":"my password is ${REDACTED}"}],"password":"${REDACTED}"}`,
    )
    expect(JSON.stringify(redact({ body }))).not.toContain('3-horse')
  })

  it('counts registrations: a value stays redacted until every holder released it, and releasing twice is harmless', () => {
    const before = registeredSecretCount()
    const first = registerSecret('shared-tenant-key-1')
    const second = registerSecret('shared-tenant-key-1')
    expect(registeredSecretCount()).toBe(before + 1)
    first()
    first()
    expect(redactString('shared-tenant-key-1')).toBe(REDACTED)
    second()
    expect(redactString('shared-tenant-key-1')).toBe('shared-tenant-key-1')
    expect(registeredSecretCount()).toBe(before)
  })

  it('finds every value among thousands, overlapping ones whole, and the registry shrinks as they are released', () => {
    const before = registeredSecretCount()
    const releases = Array.from({ length: 10_000 }, (_, tenant) => registerSecret(`tenant-${tenant}-key`))
    releases.push(registerSecret('tenant-77-key-and-more'))
    expect(registeredSecretCount()).toBe(before + 10_001)
    expect(redactString('a tenant-42-key b tenant-9999-key')).toBe(`a ${REDACTED} b ${REDACTED}`)
    expect(redactString('tenant-77-key-and-more!')).toBe(`${REDACTED}!`)
    expect(redactString('xtenant-1-ke')).toBe('xtenant-1-ke')
    for (const release of releases) release()
    expect(registeredSecretCount()).toBe(before)
    expect(redactString('a tenant-42-key')).toBe('a tenant-42-key')
  })
})

describe('redaction among thousands of registered secrets', () => {
  /** The comparisons of registered values with a text that repeats the prefix they share, with `tenants` registered. */
  function comparisonsWith(tenants: number): { comparisons: number; redacted: string } {
    // Every tenant's key starts as OpenAI project keys do, so all share their first characters.
    const releases = Array.from({ length: tenants }, (_, tenant) =>
      registerSecret(`sk-proj-${String(tenant).padStart(6, '0')}Qx7v9Lm2Zr8Tb4Wc`),
    )
    const registry = (globalThis as unknown as Record<symbol, { holders: Map<string, number> }>)[
      Symbol.for('tinyllm.logger.secret-registry')
    ]!
    const compared = vi.spyOn(String.prototype, 'startsWith')
    const looked = vi.spyOn(registry.holders, 'has')
    try {
      const text = `${'sk-proj-x '.repeat(200)}sk-proj-000007Qx7v9Lm2Zr8Tb4Wc`
      const redacted = redactString(text)
      return { comparisons: compared.mock.calls.length + looked.mock.calls.length, redacted }
    } finally {
      compared.mockRestore()
      looked.mockRestore()
      for (const release of releases) release()
    }
  }

  it('compares a text with as many values for 2,000 tenants’ keys of one prefix as for 40', () => {
    const few = comparisonsWith(40)
    const many = comparisonsWith(2_000)
    expect(few.redacted.endsWith(`sk-proj-x ${REDACTED}`)).toBe(true)
    expect(many.redacted.endsWith(`sk-proj-x ${REDACTED}`)).toBe(true)
    // Once per repeated prefix, not once per registered value: 201 places where the prefix starts.
    expect(many.comparisons).toBeLessThanOrEqual(few.comparisons + 10)
    expect(many.comparisons).toBeLessThan(1_000)
  })

  it('copies an error and cuts a string of kilobytes without reading every registered value: its cost stays flat', () => {
    const releases = Array.from({ length: 1_000 }, (_, tenant) => registerSecret(`tenant-${tenant}-key-Qx7v9`))
    // The registry is shared through globalThis; how often its values are listed is what grows with their number.
    const registry = (globalThis as unknown as Record<symbol, { holders: Map<string, number> }>)[
      Symbol.for('tinyllm.logger.secret-registry')
    ]!
    const listed = vi.spyOn(registry.holders, 'keys')
    try {
      const error = Object.assign(new TypeError('socket hang up tenant-7-key-Qx7v9', { cause: 'ECONNRESET' }), {
        code: 'ECONNRESET',
      })
      expect(redact({ error })).toMatchObject({ error: { message: `socket hang up ${REDACTED}`, cause: 'ECONNRESET' } })
      expect(redactAndCut(`${'x'.repeat(1_500)} tenant-8-key-Qx7v9`, 1_000)).toBe(`${'x'.repeat(1_000)}…`)
      expect(listed).not.toHaveBeenCalled()
    } finally {
      listed.mockRestore()
      for (const release of releases) release()
    }
  })
})

describe('redactString on URLs', () => {
  it('drops the secret path of a Slack or Discord webhook URL, which is its whole credential, and keeps the host', () => {
    expect(
      redactString(
        'notify failed: POST https://hooks.slack.com/services/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 503',
      ),
    ).toBe(`notify failed: POST https://hooks.slack.com/services/${REDACTED} 503`)
    expect(
      redactString('{"url":"https://discord.com/api/webhooks/123456789012345678/Ab-3dE_5fG7hJ9kL1mN2pQ4rS6tU8vW0xY"}'),
    ).toBe(`{"url":"https://discord.com/api/webhooks/123456789012345678/${REDACTED}"}`)
    expect(redactString('https://discordapp.com/api/webhooks/1/x_Y-9')).toBe(
      `https://discordapp.com/api/webhooks/1/${REDACTED}`,
    )
    // The documentation pages about them stay.
    for (const text of [
      'see https://api.slack.com/messaging/webhooks',
      'https://discord.com/developers/docs/resources/webhook',
    ])
      expect(redactString(text)).toBe(text)
  })

  it("drops a webhook URL's path in Discord's versioned API, with its slashes escaped into JSON, and percent-encoded", () => {
    const token = 'Ab-3dE_5fG7hJ9kL1mN2pQ4rS6tU8vW0xY'
    expect(redactString(`POST https://discord.com/api/v10/webhooks/123456789012345678/${token}?wait=true`)).toBe(
      `POST https://discord.com/api/v10/webhooks/123456789012345678/${REDACTED}?wait=true`,
    )
    expect(
      redactString(String.raw`{"url":"https:\/\/hooks.slack.com\/services\/T0123ABCD\/B0456EFGH\/aB3dE5fG7hJ9kL1"}`),
    ).toBe(String.raw`{"url":"https:\/\/hooks.slack.com\/services\/${REDACTED}"}`)
    expect(redactString(String.raw`"https:\/\/discord.com\/api\/webhooks\/123\/${token}"`)).toBe(
      String.raw`"https:\/\/discord.com\/api\/webhooks\/123\/${REDACTED}"`,
    )
    expect(
      redactString('?next=https%3A%2F%2Fhooks.slack.com%2Fservices%2FT0123ABCD%2FB0456EFGH%2FaB3dE5fG7hJ9kL1&x=1'),
    ).toBe(`?next=https%3A%2F%2Fhooks.slack.com%2Fservices%2F${REDACTED}&x=1`)
    expect(redactString(`?to=https%3A%2F%2Fdiscord.com%2Fapi%2Fwebhooks%2F123%2F${token}&x=1`)).toBe(
      `?to=https%3A%2F%2Fdiscord.com%2Fapi%2Fwebhooks%2F123%2F${REDACTED}&x=1`,
    )
  })

  it("drops a webhook URL's path whatever the case of its host, which DNS reads in any case, and of its path", () => {
    expect(redactString('https://HOOKS.SLACK.COM/services/T000/B000/XXXXsecret')).toBe(
      `https://HOOKS.SLACK.COM/services/${REDACTED}`,
    )
    expect(redactString('https://Hooks.Slack.com/Services/T000/B000/XXXXsecret')).toBe(
      `https://Hooks.Slack.com/Services/${REDACTED}`,
    )
    expect(redactString('https://Discord.com/api/webhooks/123/abcSECRETtoken')).toBe(
      `https://Discord.com/api/webhooks/123/${REDACTED}`,
    )
    expect(redactString('https://DISCORDAPP.COM/API/V10/WEBHOOKS/123/abcSECRETtoken?wait=true')).toBe(
      `https://DISCORDAPP.COM/API/V10/WEBHOOKS/123/${REDACTED}?wait=true`,
    )
    expect(redactString(String.raw`"https:\/\/Hooks.SLACK.com\/workflows\/T0\/A0\/x1"`)).toBe(
      String.raw`"https:\/\/Hooks.SLACK.com\/workflows\/${REDACTED}"`,
    )
    expect(redactString('?to=https%3A%2F%2FDISCORD.COM%2Fapi%2Fwebhooks%2F123%2FabcSECRET&x=1')).toBe(
      `?to=https%3A%2F%2FDISCORD.COM%2Fapi%2Fwebhooks%2F123%2F${REDACTED}&x=1`,
    )
    for (const text of [
      'see https://API.SLACK.COM/messaging/webhooks',
      'https://DISCORD.COM/developers/docs/resources/webhook',
    ])
      expect(redactString(text)).toBe(text)
  })

  it('drops the user information of a URL and keeps the rest', () => {
    expect(redactString('POST http://tenant:pw-secret@127.0.0.1:8080/v1 failed')).toBe(
      `POST http://${REDACTED}@127.0.0.1:8080/v1 failed`,
    )
    expect(redactString('clone https://ghp_token@github.com/org/repo')).toBe(
      `clone https://${REDACTED}@github.com/org/repo`,
    )
    expect(redactString('see https://github.com/@someone and mail me@example.com')).toBe(
      'see https://github.com/@someone and mail me@example.com',
    )
  })

  it('drops the user information of a URL written with escaped slashes, as JSON may, or percent-encoded whole', () => {
    const url = 'https://admin:hunter2pw@api.example.com/v1?x=1'
    expect(redactString(JSON.stringify({ url }).replaceAll('/', '\\/'))).toBe(
      `{"url":"https:\\/\\/${REDACTED}@api.example.com\\/v1?x=1"}`,
    )
    expect(redactString(`GET /login?next=${encodeURIComponent(url)}&y=2`)).toBe(
      `GET /login?next=https%3A%2F%2F${REDACTED}%40api.example.com%2Fv1%3Fx%3D1&y=2`,
    )
    const lowerCase = encodeURIComponent('http://user:p@ss@host/a').toLowerCase()
    expect(redactString(`next=${lowerCase}`)).toBe(`next=http%3a%2f%2f${REDACTED}%40host%2fa`)
    // No user information: an @ in the path stays.
    const plain = `next=${encodeURIComponent('https://example.com/a@b')}`
    expect(redactString(plain)).toBe(plain)
  })

  it('drops user information whose password holds an @, up to the last @ before the host', () => {
    const url = 'https://admin:p@ssw0rd@db.example.com/x'
    expect(new URL(url).host).toBe('db.example.com')
    expect(redactString(`connect ${url} now`)).toBe(`connect https://${REDACTED}@db.example.com/x now`)
    expect(redactString('https://host.example/a@b?to=c@d#e@f and x@y')).toBe(
      'https://host.example/a@b?to=c@d#e@f and x@y',
    )
  })

  it('reads a long run of dotted words before :// in time proportional to its length, and a long scheme too', () => {
    // Each word of the run used to be tried as the start of a scheme read to the run's end: some 30 s for this line.
    const run = 'x.'.repeat(100_000)
    const started = performance.now()
    expect(redactString(`${run}://host.example/x`)).toBe(`${run}://host.example/x`)
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(redactString(`${run}://user:pw@host.example/x`)).toBe(`${run}://${REDACTED}@host.example/x`)
    const scheme = `web+${'a'.repeat(40)}`
    expect(redactString(`open ${scheme}://user:pw@host`)).toBe(`open ${scheme}://${REDACTED}@host`)
  })

  it('drops the values of jwt, authorization and X-Amz-Credential query parameters', () => {
    expect(redactString('GET /v1?jwt=abcDEF123456789&authorization=Bearer%20abc123XYZ&x=1')).toBe(
      `GET /v1?jwt=${REDACTED}&authorization=Bearer%20${REDACTED}&x=1`,
    )
    expect(redactString('GET https://b.s3.amazonaws.com/o?X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1')).toBe(
      `GET https://b.s3.amazonaws.com/o?X-Amz-Credential=${REDACTED}`,
    )
  })

  it('drops the values of query parameters named like credentials: ending in key, sig, signature, token, secret', () => {
    const signature = '0123456789abcdef0123456789abcdef'
    expect(redactString(`GET https://b.s3.amazonaws.com/o?X-Amz-Date=20260101&X-Amz-Signature=${signature}`)).toBe(
      `GET https://b.s3.amazonaws.com/o?X-Amz-Date=20260101&X-Amz-Signature=${REDACTED}`,
    )
    expect(redactString('POST https://apim.example/v1?subscription-key=9f8e7d6c5b4a&x=1')).toBe(
      `POST https://apim.example/v1?subscription-key=${REDACTED}&x=1`,
    )
    expect(redactString('GET https://g.example/v1?x-goog-api-key=plainvalue&alt=sse')).toBe(
      `GET https://g.example/v1?x-goog-api-key=${REDACTED}&alt=sse`,
    )
    expect(redactString('GET https://g.example/v1?sortkey=name&api-version=2024-02-01')).toBe(
      'GET https://g.example/v1?sortkey=name&api-version=2024-02-01',
    )
  })

  it('drops secret-looking values of key, sig and signature query parameters', () => {
    expect(redactString('GET https://proxy.example/v1?key=AbC0123456789&limit=5')).toBe(
      `GET https://proxy.example/v1?key=${REDACTED}&limit=5`,
    )
    expect(redactString('https://blob.example/x?sv=1&sig=Zz0123456789abc')).toBe(
      `https://blob.example/x?sv=1&sig=${REDACTED}`,
    )
    expect(redactString('the key=value pairs, monkey=Banana12345')).toBe('the key=value pairs, monkey=Banana12345')
  })
})

describe('isSecretFieldName', () => {
  it('names the fields and headers whose whole value redact replaces', () => {
    const secret = ['apiKey', 'api-key', 'x-api-key', 'Authorization', 'refresh_token', 'set-cookie', 'password']
    secret.push('Ocp-Apim-Subscription-Key', 'subscription_key')
    for (const name of secret) {
      expect(isSecretFieldName(name)).toBe(true)
    }
    for (const name of ['maxTokens', 'tokenCount', 'content-type', 'anthropic-version', 'x-team']) {
      expect(isSecretFieldName(name)).toBe(false)
    }
  })
})

describe('isSecretQueryName', () => {
  it('takes names ending in key, sig, signature, token, secret, password or credential, and auth, authorization, jwt and code, in any case', () => {
    const secret = ['key', 'api-key', 'subscription-key', 'x-goog-api-key', 'X-Amz-Signature', 'sig', 'access_token']
    secret.push('client_secret', 'password', 'passwd', 'auth', 'code', 'API_KEY', 'authorization', 'jwt')
    secret.push('X-Amz-Credential', 'X-Amz-Security-Token')
    for (const name of secret) expect(isSecretQueryName(name), name).toBe(true)
    for (const name of ['api-version', 'limit', 'model', 'keys', 'tokens', 'authority', 'codec', 'X-Amz-Date']) {
      expect(isSecretQueryName(name), name).toBe(false)
    }
  })

  it('takes passphrase and credentials names, as redactString reads them in a query', () => {
    for (const name of ['passphrase', 'keyPassphrase', 'credentials', 'X-Credentials']) {
      expect(isSecretQueryName(name), name).toBe(true)
      expect(redactString(`https://api.example/v1?${name}=Zq8vR2mK9xT4`), name).toBe(
        `https://api.example/v1?${name}=${REDACTED}`,
      )
    }
  })
})

describe('redact', () => {
  it('continues the copy in progress when a toJSON it calls redacts in turn, so an object held twice by its own JSON is copied once', () => {
    // A run record's toJSON redacts its fields; a record whose output holds the record itself, twice, was copied
    // again inside each copy of itself: 2 to the power of the depth.
    let calls = 0
    const record: { output: unknown; toJSON(): unknown } = {
      output: undefined,
      toJSON() {
        calls += 1
        if (calls > 1_000) throw new Error('copied again and again')
        return { ...redact({ output: this.output }), kind: 'record' }
      },
    }
    record.output = { first: record, second: record, apiKey: 'sk-live-123' }
    const copy = redact({ record })
    expect(copy).toEqual({
      record: { output: { first: '[Circular]', second: '[Circular]', apiKey: REDACTED }, kind: 'record' },
    })
    expect(calls).toBe(1)
    // Serialised on its own, the record is not yet being copied when its toJSON starts: it shows once inside itself.
    calls = 0
    const inner = { output: '[Circular]', kind: 'record' }
    expect(JSON.parse(JSON.stringify(record))).toEqual({
      output: { first: inner, second: inner, apiKey: REDACTED },
      kind: 'record',
    })
    expect(calls).toBe(3)
  })

  it('replaces the values of fields whose names look secret, at any depth and in any case', () => {
    const input = {
      apiKey: 'a',
      API_KEY: 'b',
      'x-api-key': 'c',
      headers: { Authorization: 'Basic x', Cookie: 'c=1', 'set-cookie': ['a=1', 'b=2'], 'Proxy-Authorization': 'p' },
      auth: { accessToken: 't', refresh_token: 'r', idToken: 'i', password: 'p', clientSecret: 's' },
      nested: [{ GITHUB_TOKEN: 'g', privateKey: 'k', credentials: { user: 'u' } }],
    }
    expect(redact(input)).toEqual({
      apiKey: REDACTED,
      API_KEY: REDACTED,
      'x-api-key': REDACTED,
      headers: { Authorization: REDACTED, Cookie: REDACTED, 'set-cookie': REDACTED, 'Proxy-Authorization': REDACTED },
      auth: {
        accessToken: REDACTED,
        refresh_token: REDACTED,
        idToken: REDACTED,
        password: REDACTED,
        clientSecret: REDACTED,
      },
      nested: [{ GITHUB_TOKEN: REDACTED, privateKey: REDACTED, credentials: REDACTED }],
    })
  })

  it('replaces a string under auth, pass or pwd, and keeps an auth object, a pass count and a working directory', () => {
    const input = {
      request: { host: 'db', auth: 'ada:hunter2' },
      boxed: { AUTH: new String('ada:hunter2') },
      login: { pass: 'hunter2', Pwd: 's3' },
      auth: { user: 'ada', pass: 'hunter2', password: 'p' },
      tests: { pass: 12, passes: 'all' },
      env: { PWD: '/home/ada' },
    }
    expect(redact(input)).toEqual({
      request: { host: 'db', auth: REDACTED },
      boxed: { AUTH: REDACTED },
      login: { pass: REDACTED, Pwd: REDACTED },
      auth: { user: 'ada', pass: REDACTED, password: REDACTED },
      tests: { pass: 12, passes: 'all' },
      env: { PWD: '/home/ada' },
    })
  })

  it("replaces the value after a secret name in a list of pairs: Node's rawHeaders and header entries", () => {
    const rawHeaders = ['Host', 'api.example', 'Cookie', 'sid=abc', 'Authorization', 'Bearer abc']
    const entries = [
      ['authorization', 'Bearer abc'],
      ['x-api-key', 'k1'],
      ['accept', '*/*'],
    ]
    expect(redact({ rawHeaders, entries })).toEqual({
      rawHeaders: ['Host', 'api.example', 'Cookie', REDACTED, 'Authorization', REDACTED],
      entries: [
        ['authorization', REDACTED],
        ['x-api-key', REDACTED],
        ['accept', '*/*'],
      ],
    })
    expect(redact(['password', 'reset', 'sent'])).toEqual(['password', 'reset', 'sent'])
    // A list of names is no list of pairs: a schema's required fields, a CORS list of allowed headers.
    const schema = { required: ['apiKey', 'model'], allowedHeaders: ['Authorization', 'Content-Type'] }
    expect(redact(schema)).toEqual(schema)
  })

  it('replaces the value of an object that names it: HAR headers, query strings and form params, environment lists', () => {
    const har = {
      log: {
        entries: [
          {
            request: {
              url: 'https://api.example/v1?key=Zq8vR2mKp4&model=m',
              headers: [
                { name: 'Authorization', value: 'Bearer abc' },
                { name: 'X-Api-Key', value: 'k1' },
                { name: 'Cookie', value: 'sid=1' },
                { name: 'Accept', value: '*/*' },
              ],
              queryString: [
                { name: 'key', value: 'Zq8vR2mKp4' },
                { name: 'model', value: 'm' },
                { name: 'code', value: 'short' },
              ],
              postData: {
                mimeType: 'application/x-www-form-urlencoded',
                params: [{ name: 'password', value: 'hunter2' }],
              },
            },
            response: { headers: [{ name: 'Set-Cookie', value: 'sid=abc; Path=/', comment: '' }] },
          },
        ],
      },
    }
    expect(redact(har)).toEqual({
      log: {
        entries: [
          {
            request: {
              url: `https://api.example/v1?key=${REDACTED}&model=m`,
              headers: [
                { name: 'Authorization', value: REDACTED },
                { name: 'X-Api-Key', value: REDACTED },
                { name: 'Cookie', value: REDACTED },
                { name: 'Accept', value: '*/*' },
              ],
              queryString: [
                { name: 'key', value: REDACTED },
                { name: 'model', value: 'm' },
                // As in a URL: a name that only may be secret takes a value that looks like a credential.
                { name: 'code', value: 'short' },
              ],
              postData: {
                mimeType: 'application/x-www-form-urlencoded',
                params: [{ name: 'password', value: REDACTED }],
              },
            },
            response: { headers: [{ name: 'Set-Cookie', value: REDACTED, comment: '' }] },
          },
        ],
      },
    })
    // A container's environment, a collection's headers, a cloud resource's tags.
    expect(
      redact({
        env: [
          { name: 'OPENAI_API_KEY', value: 'plain-value' },
          { name: 'LOG_LEVEL', value: 'debug' },
        ],
        header: [{ key: 'Authorization', value: 'abc', type: 'text' }],
        Tags: [{ Key: 'db-password', Value: 'hunter2' }],
        unnamed: { value: 'kept', name: 42 },
      }),
    ).toEqual({
      env: [
        { name: 'OPENAI_API_KEY', value: REDACTED },
        { name: 'LOG_LEVEL', value: 'debug' },
      ],
      header: [{ key: 'Authorization', value: REDACTED, type: 'text' }],
      Tags: [{ Key: 'db-password', Value: REDACTED }],
      unnamed: { value: 'kept', name: 42 },
    })
  })

  it('replaces the value of an object that names it with a secret name whatever its type, as a field of that name', () => {
    const named = [
      { name: 'password', value: 12345678 },
      { name: 'pin_password', value: 1234n },
      { Key: 'api_key', Value: ['sk-a', 'sk-b'] },
      { name: 'Authorization', value: { scheme: 'Bearer', credentials: 'Zq8vR2mKp4' } },
      { name: 'password', value: null },
      { name: 'port', value: 5432 },
    ]
    expect(redact({ env: named })).toEqual({
      env: [
        { name: 'password', value: REDACTED },
        { name: 'pin_password', value: REDACTED },
        { Key: 'api_key', Value: REDACTED },
        { name: 'Authorization', value: REDACTED },
        { name: 'password', value: null },
        { name: 'port', value: 5432 },
      ],
    })
    expect(redact({ password: 12345678 })).toEqual({ password: REDACTED })
  })

  it('replaces the value after a secret name in a list of pairs however the name or value is given: boxed, or by a getter read once', () => {
    let reads = 0
    const flipping = ['accept', 'abc']
    Object.defineProperty(flipping, 0, { get: () => (reads++ === 0 ? 'authorization' : 'accept'), enumerable: true })
    expect(redact({ rawHeaders: flipping })).toEqual({ rawHeaders: ['authorization', REDACTED] })
    expect(reads).toBe(1)
    expect(redact([[new String('cookie'), 'sid=1']])).toEqual([['cookie', REDACTED]])
    expect(redact({ headers: ['x-api-key', new String('k1')] })).toEqual({ headers: ['x-api-key', REDACTED] })
    expect(redact([['accept', new String('*/*')]])).toEqual([['accept', '*/*']])
  })

  it('replaces the values of fields named like the keys free text names: signing, encryption, account and shared access keys', () => {
    const input = {
      signingKey: 'k1',
      encryption_key: 'k2',
      AccountKey: 'k3',
      SharedAccessKey: 'k4',
      accountKeyword: 'x',
    }
    expect(redact(input)).toEqual({
      signingKey: REDACTED,
      encryption_key: REDACTED,
      AccountKey: REDACTED,
      SharedAccessKey: REDACTED,
      accountKeyword: 'x',
    })
  })

  it('keeps token counts, authors and missing keys readable', () => {
    const input = {
      usage: { prompt_tokens: 10, completion_tokens: 5, totalTokens: 15, tokenCount: 3, maxTokens: 100 },
      author: 'Jane',
      apiKey: undefined,
      token: null,
    }
    expect(redact(input)).toEqual(input)
  })

  it('returns a copy and leaves the input untouched', () => {
    const input = { apiKey: 'x', list: [1, { password: 'p' }] }
    const output = redact(input)
    expect(input).toEqual({ apiKey: 'x', list: [1, { password: 'p' }] })
    expect(output.list).not.toBe(input.list)
  })

  it('serialises errors with name, message, stack, own properties and cause, redacted', () => {
    const cause = new TypeError(`fetch failed for ${OPENAI_KEY}`)
    const error = Object.assign(new Error('Incorrect API key provided', { cause }), {
      status: 401,
      headers: { authorization: 'Bearer x' },
    })
    error.name = 'AuthenticationError'
    const copy = redact({ error }).error as unknown as Record<string, unknown>
    expect(copy).toMatchObject({
      name: 'AuthenticationError',
      message: 'Incorrect API key provided',
      status: 401,
      headers: { authorization: REDACTED },
      cause: { name: 'TypeError', message: `fetch failed for ${REDACTED}` },
    })
    expect(copy.stack).toContain('Incorrect API key provided')
    expect((copy.cause as Record<string, unknown>).stack).toContain(REDACTED)
    expect(JSON.stringify(copy)).not.toContain(OPENAI_KEY)
  })

  it('cuts the strings of an error at 1,000 characters, a 10 MB string that caused it included, and keeps its frames', () => {
    const huge = `${'x'.repeat(10_000_000)} ${OPENAI_KEY}`
    const error = Object.assign(new Error(`failed: ${'m'.repeat(5_000)}`, { cause: huge }), { body: huge, code: 'E1' })
    const copy = redact({ error }).error as unknown as Record<string, string>
    expect(JSON.stringify(copy).length).toBeLessThan(20_000)
    expect(copy.cause).toBe(`${'x'.repeat(1_000)}…`)
    expect(copy.body).toBe(`${'x'.repeat(1_000)}…`)
    expect(copy.code).toBe('E1')
    expect(copy.message).toBe(`failed: ${'m'.repeat(992)}…`)
    expect(copy.stack).toMatch(/^Error: failed: m{992}…\n\s+at /)
    // A name set after the error was made is quoted whole in its stack: the stack's first line is cut, its frames kept.
    class Named extends Error {}
    const named = new Named('short')
    named.name = 'N'.repeat(2_000_000)
    named.stack = `${named.name}: short ${OPENAI_KEY}\n    at first (file.js:1:1)\n    at second (file.js:2:2)`
    const namedCopy = redact(named) as unknown as Record<string, string>
    expect(namedCopy.name).toBe(`${'N'.repeat(1_000)}…`)
    expect(namedCopy.stack).toBe(`${'N'.repeat(2_100)}…\n    at first (file.js:1:1)\n    at second (file.js:2:2)`)
    // The secret is redacted before the cut, so no part of it is left at the end of what is kept.
    const nearEnd = redact(new Error('x', { cause: `${'y'.repeat(989)} ${OPENAI_KEY}` })) as unknown as {
      cause: string
    }
    expect(nearEnd.cause).toBe(`${'y'.repeat(989)} ${REDACTED}`)
  }, 60_000)

  it('cuts the frames of an error’s stack at 20,000 characters, so that a value holding it can be written as JSON', () => {
    // Each character of these frames is six in JSON: copied whole, the stack made a record or log line of an input
    // holding the error that JSON.stringify could not write ("Invalid string length").
    const frames = '\n    at first (file.js:1:1)\n    at '
    const error = new Error('short')
    error.stack = `Error: short${frames}${'\u0001'.repeat(2 ** 24)} ${OPENAI_KEY}`
    const copy = redact({ error, after: 'kept' }) as unknown as { error: { stack: string }; after: string }
    expect(copy.error.stack).toBe(`Error: short${frames}${'\u0001'.repeat(20_000 - frames.length)}…`)
    expect(copy.after).toBe('kept')
    // Each error's text counts against what one copy may take: a list of errors with such stacks is not copied whole.
    const deep = new Error('short')
    deep.stack = `Error: short${frames}${'\u0001'.repeat(100_000)}`
    const many = redact(Array.from({ length: 2_000 }, () => deep)) as unknown as unknown[]
    expect(JSON.stringify(many).length).toBeLessThan(100_000_000)
    expect(many.length).toBeLessThan(1_000)
    expect(many.at(-1)).toMatch(/^\[\d+ more items\]$/)
  }, 60_000)

  it('redactQuoted copies a value as redact does, every string in it cut at 1,000 characters however deep', () => {
    const long = 'z'.repeat(5_000_000)
    const quoted = redactQuoted({
      reason: { body: [long], token: 'sk-proj-abcdefghijklmnopqrstuvwxyz0123' },
      short: 'ok',
    })
    expect(quoted).toEqual({ reason: { body: [`${'z'.repeat(1_000)}…`], token: REDACTED }, short: 'ok' })
    // redact itself keeps a string whole outside an error.
    expect((redact({ body: long }) as { body: string }).body).toHaveLength(5_000_000)
  })

  it('redactQuoted cuts every string at the length it is given, a secret across the cut replaced whole', () => {
    const text = `${'z'.repeat(40)} sk-proj-abcdefghijklmnopqrstuvwxyz0123 ${'z'.repeat(1_000)}`
    expect(redactQuoted({ pages: [text, text], nested: { text } }, 51)).toEqual({
      pages: [`${'z'.repeat(40)} ${REDACTED}…`, `${'z'.repeat(40)} ${REDACTED}…`],
      nested: { text: `${'z'.repeat(40)} ${REDACTED}…` },
    })
    // An error inside keeps the shorter of its own cut and the one given.
    const error = redactQuoted({ error: new Error('failed', { cause: 'c'.repeat(500) }) }, 100) as {
      error: { cause: string }
    }
    expect(error.error.cause).toBe(`${'c'.repeat(100)}…`)
    for (const length of [-1, 1.5, Number.NaN, '50'])
      expect(() => redactQuoted({}, length as number)).toThrow(/^redactQuoted: maxLength must be an integer ≥ 0, got/)
  })

  it('cuts the strings an error holds deeper down too: an SDK error whose parsed body holds megabytes', () => {
    const huge = `${'x'.repeat(5_000_000)} ${OPENAI_KEY}`
    // As an SDK's API error keeps the error body it parsed, under a provider error that it caused.
    const sdkError = Object.assign(new Error('400 invalid request'), {
      status: 400,
      error: { message: huge, details: [huge, { more: huge }] },
    })
    const wrapped = new Error('openai: 400 invalid request', { cause: sdkError })
    const aggregate = new AggregateError([sdkError], 'all failed')
    for (const error of [sdkError, wrapped, aggregate]) {
      const json = JSON.stringify(redact({ error }))
      expect(json.length).toBeLessThan(30_000)
      expect(json).toContain(`${'x'.repeat(1_000)}…`)
      expect(json).not.toContain(OPENAI_KEY)
    }
    // A value that is no error keeps its strings whole, as before.
    expect((redact({ body: { text: 'y'.repeat(5_000) } }).body as { text: string }).text).toHaveLength(5_000)
  }, 60_000)

  it('serialises an error made in another realm, such as a node:vm context, as it does one of its own', () => {
    const foreign = runInNewContext(
      "const error = new TypeError('fetch failed for sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789'); error.code = 'ECONNRESET'; error",
    ) as Error
    expect(foreign instanceof Error).toBe(false)
    expect(redact({ error: foreign })).toEqual({
      error: {
        name: 'TypeError',
        message: `fetch failed for ${REDACTED}`,
        stack: expect.stringContaining(`TypeError: fetch failed for ${REDACTED}`),
        code: 'ECONNRESET',
      },
    })
  })

  it('serialises the errors of an AggregateError', () => {
    const copy = redact(new AggregateError([new Error('one'), new Error('two')], 'both failed')) as unknown as {
      errors: { message: string }[]
    }
    expect(copy.errors.map((error) => error.message)).toEqual(['one', 'two'])
  })

  it('survives cycles, bigints and values JSON cannot hold', () => {
    const node: Record<string, unknown> = { id: 1n }
    node.self = node
    node.list = [node]
    const shared = { x: 1 }
    const output = redact({
      node,
      shared: [shared, shared],
      when: new Date('2025-01-02T03:04:05.000Z'),
      map: new Map<unknown, unknown>([
        ['a', 1],
        [2, { password: 'p' }],
      ]),
      headers: new Headers({ authorization: 'Bearer x', 'x-request-id': 'req_1' }),
      set: new Set([1, 2]),
      bytes: new Uint8Array(3),
      fn: function namedFunction() {},
      symbol: Symbol('s'),
      pattern: /ab+c/i,
    })
    expect(output).toEqual({
      node: { id: '1', self: '[Circular]', list: ['[Circular]'] },
      shared: [{ x: 1 }, { x: 1 }],
      when: '2025-01-02T03:04:05.000Z',
      map: { a: 1, 2: { password: REDACTED } },
      headers: { authorization: REDACTED, 'x-request-id': 'req_1' },
      set: [1, 2],
      bytes: '[Uint8Array (3 bytes)]',
      fn: '[Function: namedFunction]',
      symbol: 'Symbol(s)',
      pattern: '/ab+c/i',
    })
    expect(() => JSON.stringify(output)).not.toThrow()
  })

  it('keeps every entry of a Map whose keys print alike, in a copy and in a logged line', () => {
    const map = new Map<unknown, unknown>([
      [{}, 'first'],
      [{}, 'second'],
      [1, 'number'],
      ['1', 'string'],
      ['[object Object] (2)', 'a key that reads like a renamed one'],
      ['sk-proj-Abc123Def456Ghi789Jkl012', 'one key'],
      ['sk-proj-Zyx987Wvu654Tsr321Qpo098', 'another key'],
      ['password', 'hunter2'],
    ])
    const copy = redact(map) as unknown as Record<string, unknown>
    expect(Object.values(copy).sort()).toEqual(
      [
        'first',
        'second',
        'number',
        'string',
        'a key that reads like a renamed one',
        'one key',
        'another key',
        REDACTED,
      ].sort(),
    )
    expect(copy['[object Object]']).toBe('first')
    expect(JSON.stringify(copy)).not.toContain('Abc123')
    const logger = createMemoryLogger()
    logger.info('map', { map })
    expect(Object.keys(logger.entries[0]?.fields.map as object)).toHaveLength(8)
    const alike = redact(new Map(Array.from({ length: 10_000 }, (_, index) => [{}, index])))
    expect(Object.values(alike)).toEqual(Array.from({ length: 10_000 }, (_, index) => index))
    expect(Object.keys(alike).at(-1)).toBe('[object Object] (10000)')
  })

  it('copies URLSearchParams and FormData by their entries, every value of a repeated name kept, secrets replaced', () => {
    const query = new URLSearchParams(
      'q=loans&page=2&page=3&password=hunter2&code=Zq8vR2mKp4Lx&X-Amz-Signature=abcdef0123456789&next=later',
    )
    const form = new FormData()
    form.append('user', 'ada')
    form.append('api_key', 'k1')
    form.append('note', `sent with ${OPENAI_KEY}`)
    form.append('upload', new File(['0123456789'], 'statement.pdf'))
    const output = redact({ query, form, blob: new Blob(['abc']) })
    expect(output).toEqual({
      query: {
        q: 'loans',
        page: ['2', '3'],
        password: REDACTED,
        // Named as a URL's query names a credential, and shaped like one: as in `?code=…` of a URL.
        code: REDACTED,
        'X-Amz-Signature': REDACTED,
        next: 'later',
      },
      form: { user: 'ada', api_key: REDACTED, note: `sent with ${REDACTED}`, upload: '[File (10 bytes)]' },
      blob: '[Blob (3 bytes)]',
    })
    const logger = createMemoryLogger()
    logger.info('request', { query })
    expect(logger.entries[0]?.fields).toEqual({ query: (output as { query: unknown }).query })
  })

  it('replaces a secret in the name a buffer or a Blob is written with, as its class or constructor gives it', () => {
    const secret = 'bufferclassnamesecret1234'
    const release = registerSecret(secret)
    try {
      const bytes = new Uint8Array(4)
      Object.defineProperty(bytes, 'constructor', { value: { name: `key ${secret}` } })
      const Named = { [secret]: class extends Uint8Array {} }[secret] as typeof Uint8Array
      const blob = new Blob(['abc'])
      Object.defineProperty(blob, 'constructor', { value: { name: OPENAI_KEY } })
      const output = redact({ bytes, named: new Named(2), blob })
      expect(output).toEqual({
        bytes: `[key ${REDACTED} (4 bytes)]`,
        named: `[${REDACTED} (2 bytes)]`,
        blob: `[${REDACTED} (3 bytes)]`,
      })
      const logger = createMemoryLogger()
      logger.info('bytes', { bytes, named: new Named(2), blob })
      expect(JSON.stringify(logger.entries)).not.toContain(secret)
      expect(JSON.stringify(logger.entries)).not.toContain(OPENAI_KEY)
    } finally {
      release()
    }
  })

  it('cuts very deep structures instead of overflowing the stack', () => {
    let deep: Record<string, unknown> = {}
    const root = deep
    for (let depth = 0; depth < 10_000; depth++) {
      const next = {}
      deep.next = next
      deep = next
    }
    expect(JSON.stringify(redact(root))).toContain('[Truncated]')
  })

  it('keeps 64 levels of nesting, objects and arrays alike, and writes the 65th "[Truncated]"', () => {
    /** How many objects (or arrays) deep the copy goes, and what stands where it stops. */
    const levels = (copy: unknown, step: (level: never) => unknown): [number, unknown] => {
      let count = 0
      let level = copy
      while (typeof level === 'object' && level !== null) {
        level = step(level as never)
        count += 1
      }
      return [count, level]
    }
    const objects: Record<string, unknown> = {}
    const lists: unknown[] = []
    let object = objects
    let list = lists
    for (let depth = 1; depth < 100; depth++) {
      object.next = {}
      object = object.next as Record<string, unknown>
      list.push([])
      list = list[0] as unknown[]
    }
    expect(levels(redact(objects), (level: Record<string, unknown>) => level.next)).toEqual([64, '[Truncated]'])
    expect(levels(redact(lists), (level: unknown[]) => level[0])).toEqual([64, '[Truncated]'])
  })

  it('copies a sparse array of length 2³²−1 in time proportional to 10,000 items, not to its length', () => {
    const sparse: number[] = []
    sparse[4_294_967_294] = 1
    const started = performance.now()
    const copy = redact({ output: sparse })
    const json = JSON.stringify(copy)
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(copy.output).toHaveLength(10_001)
    expect(copy.output[10_000]).toBe('[4294957295 more items]')
    expect(json.length).toBeLessThan(100_000)
  })

  it('keeps the first 10,000 entries of an array, object, Map or Set and counts the rest', () => {
    const entries = Array.from({ length: 10_003 }, (_, index) => [`k${index}`, index] as const)
    const copy = redact({
      array: entries.map(([, value]) => value),
      object: Object.fromEntries(entries),
      map: new Map(entries),
      set: new Set(entries.map(([, value]) => value)),
      small: [1, 2, 3],
    }) as unknown as Record<string, unknown[] & Record<string, unknown>>
    expect(copy.array).toHaveLength(10_001)
    expect(copy.array?.at(-1)).toBe('[3 more items]')
    expect(copy.set?.at(-1)).toBe('[3 more items]')
    for (const object of [copy.object, copy.map]) {
      expect(Object.keys(object ?? {})).toHaveLength(10_001)
      expect(object?.k9999).toBe(9999)
      expect(object?.['…']).toBe('[3 more keys]')
    }
    expect(copy.small).toEqual([1, 2, 3])
  })

  it('copies at most 1,000,000 entries in all, however often a value shares one array', () => {
    const row = new Array<string>(10_000).fill('x')
    const table = new Array<string[]>(10_000).fill(row)
    const copy = redact(new Array<string[][]>(10_000).fill(table))
    const json = JSON.stringify(copy)
    expect(json.split('"x"').length - 1).toBeLessThanOrEqual(1_000_000)
    expect(json).toContain('more items]')
  })

  it('copies at most 10,000,000 characters of text in all, however often a value shares long strings', () => {
    // 10 MB in memory, shared twelve times: 120 MB of text written out, which a log line or a record must not become.
    const page = new Array<string>(10_000).fill('x'.repeat(1_000))
    const copy = redact({ label: 'pages', pages: new Array<string[]>(12).fill(page) })
    const json = JSON.stringify(copy)
    expect(json.length).toBeLessThan(10_100_000)
    expect(copy.label).toBe('pages')
    expect(copy.pages[0]?.[0]).toBe('x'.repeat(1_000))
    expect(json).toContain('more items]')
  })

  it('writes one string longer than 2²⁶ characters "[Truncated]" and copies what is beside it, a 10 MB string whole', () => {
    const tenMegabytes = 'x'.repeat(10 * 1024 * 1024)
    const copy = redact({ document: 'x'.repeat(2 ** 26 + 1), pages: 3, title: tenMegabytes })
    expect(copy).toEqual({ document: '[Truncated]', pages: 3, title: tenMegabytes })
    expect(redact('x'.repeat(2 ** 26))).toHaveLength(2 ** 26)
  })

  it('writes a key longer than 2²⁶ characters "[Truncated]", keeping its value, so that the copy’s JSON can be written', () => {
    // Each character of this is six in JSON: a record or log line of such a key threw "Invalid string length".
    const control = '\u0001'.repeat(2 ** 26)
    const copy = redact({ [`${control}x`]: 1, [`${control}y`]: 2, pages: 3 })
    expect(copy).toEqual({ '[Truncated]': 1, '[Truncated] (2)': 2, pages: 3 })
    expect(redact(new Map([[`${control}z`, 1]]))).toEqual({ '[Truncated]': 1 })
  })

  it('writes "[Truncated]" a key beside a value that took the copy 2²⁶ characters past its limit, keeping the value', () => {
    // A key and its value of 2²⁶ characters each, copied whole, made JSON no string can hold. Here the copy may take one
    // character more, and the value and key take 2²⁶ + 2.
    const budget = createRedactBudget()
    budget.characters = 1
    const half = 'x'.repeat(2 ** 25 + 1)
    const copy = redactWithin({ [half]: half }, budget)
    expect(Object.keys(copy)).toEqual(['[Truncated]'])
    expect(copy['[Truncated]']).toBe(half)
  }, 60_000)

  it('keeps the fields and items beside one whose reading throws, in a log line too', () => {
    const entity = {
      id: 7,
      get owner(): never {
        throw new Error('lazy relation not loaded')
      },
      status: 'open',
    }
    const list = new Proxy(['first', 'second', 'third'], {
      get(target, key) {
        if (key === '1') throw new Error('no second')
        return Reflect.get(target, key)
      },
    })
    expect(redact({ entity, list, after: 2 })).toEqual({
      entity: { id: 7, owner: '[Unserializable]', status: 'open' },
      list: ['first', '[Unserializable]', 'third'],
      after: 2,
    })
    const unnamed = Object.defineProperty(() => {}, 'name', {
      get() {
        throw new Error('no name')
      },
    })
    expect(redact(unnamed)).toBe('[Function]')
    const error = Object.defineProperty(new Error('lookup failed'), 'cause', {
      get() {
        throw new Error('cause not loaded')
      },
    })
    expect(redact({ error })).toMatchObject({
      error: { name: 'Error', message: 'lookup failed', cause: '[Unserializable]' },
    })
    expect(redact({ handler: unnamed, id: 7 })).toEqual({ handler: '[Function]', id: 7 })
    const logger = createMemoryLogger()
    logger.child({ runId: 'r1' }).info('saved', entity)
    logger.child(entity).info('saved', { tenant: 't7' })
    expect(logger.entries.map((entry) => entry.fields)).toEqual([
      { runId: 'r1', id: 7, owner: '[Unserializable]', status: 'open' },
      { id: 7, owner: '[Unserializable]', status: 'open', tenant: 't7' },
    ])
  })

  it('copies a function or an error whose name or message is not text, and cannot be made text, beside the rest', () => {
    // A name or message that reads fine but throws when made a string (an object without a prototype, a Proxy).
    const untextable = Object.create(null) as object
    const handler = Object.defineProperty(() => {}, 'name', { value: untextable })
    expect(redact(handler)).toBe('[Function]')
    expect(redact({ handler, id: 7 })).toEqual({ handler: '[Function]', id: 7 })
    const misnamed = Object.defineProperty(new Error('lookup failed'), 'name', { value: untextable })
    expect(redact({ error: misnamed, id: 7 })).toMatchObject({
      error: { name: '[Unserializable]', message: 'lookup failed' },
      id: 7,
    })
    const error = Object.defineProperty(new Error('x'), 'message', { value: untextable })
    expect(redact({ error, id: 7 })).toMatchObject({ error: { name: 'Error', message: '[Unserializable]' }, id: 7 })
    const logger = createMemoryLogger()
    logger.info('saved', { handler, tenant: 't7' })
    expect(logger.entries[0]?.fields).toEqual({ handler: '[Function]', tenant: 't7' })
  })

  it('does not throw on a throwing getter and copies __proto__ as a field', () => {
    const hostile = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('no')
      },
    })
    const parsed = JSON.parse('{"__proto__": {"polluted": true}}') as object
    expect(redact({ hostile })).toEqual({ hostile: { boom: '[Unserializable]' } })
    const copy = redact(parsed)
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
    expect(Object.hasOwn(copy, '__proto__')).toBe(true)
  })
})
