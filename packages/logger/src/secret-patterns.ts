/**
 * What looks like a secret. Precision matters as much as recall: a redactor that eats ordinary words (token counts,
 * "password reset", "task-based") makes logs useless, so every pattern is anchored on a known key prefix or an explicit
 * `name=value` shape.
 */

/**
 * Field names whose values are secrets, case-insensitive. `token` must end the name so that `accessToken`,
 * `refresh_token` and `x-auth-token` match while `tokens`, `maxTokens` and `tokenCount` (LLM usage) do not. The keys
 * free text names (`signingKey`, `encryption_key`, Azure's `AccountKey` and `SharedAccessKey`) end the name too, so
 * that `accountKeyword` stays.
 */
export const SECRET_KEY_PATTERN =
  /api[-_]?key|subscription[-_]?key|authori[sz]ation|passw(?:or)?d|passphrase|secret|cookie|credential|private[-_]?key|(?:signing|encryption|account|shared[-_]?access)[-_]?key$|token$/i

/**
 * Not preceded by a character that would make the match the tail of a longer word — except the end of an escape: a
 * letter (`\n`, `\t`…), as when text holding a line break and then a key was escaped into JSON, and the digits of a
 * percent-encoded character (`%20`, `%3D` in a URL encoded into another's query) or of a JSON `\u0020`.
 */
const START = String.raw`(?:(?<![A-Za-z0-9_-])|(?<=\\[bfnrt]|%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}))`

/** One parameter of a `Digest` credential: a name, `=` and a value, quoted (at any depth of escaping) or not. */
const DIGEST_PARAMETER = String.raw`[A-Za-z0-9_-]+=(?:\\*"[^"\\\n]*\\*"|[^\s,"\\]*)`

/** The parameters of a `Digest` credential, separated by commas. */
const DIGEST_PARAMETERS = String.raw`${DIGEST_PARAMETER}(?:[ \t]*,[ \t]*${DIGEST_PARAMETER})*`

/** What a credential holds and a word does not: a digit, base64 punctuation (`+/=_~`) or a capital after the first. */
const CREDENTIAL_MARK = `[A-Za-z0-9._~+/-]*[0-9_~+/=]|[A-Za-z0-9._~+/-]+[A-Z]`

/**
 * `word` in any case (`[Bb][Ee]…`), as HTTP reads a header's name and an authorization scheme (`BEARER`, `ntlm`), for
 * patterns joined into one without the `i` flag.
 */
function anyCase(word: string): string {
  return word.replace(/[a-z]/g, (letter) => `[${letter.toUpperCase()}${letter}]`)
}

/** The schemes of an `Authorization` header whose credential goes, in any case: see `AUTHORIZATION_SCHEME`. */
const AUTHORIZATION_SCHEMES = ['bearer', 'basic', 'token', 'digest', 'ntlm', 'negotiate', 'apikey']
  .map(anyCase)
  .join('|')

/** A slash of a URL as text may hold it: plain, escaped into JSON (at any depth, `\/`) or percent-encoded (`%2F`). */
const URL_SLASH = String.raw`(?:\\{0,7}/|%2[Ff])`

/** A Slack webhook URL's host and the kind of hook, in any case: `hooks.slack.com/services`. */
const SLACK_HOOK_PATH = [
  String.raw`${anyCase('hooks')}\.${anyCase('slack')}\.${anyCase('com')}`,
  `(?:${['services', 'workflows', 'triggers'].map(anyCase).join('|')})`,
].join(URL_SLASH)

/** A Discord webhook URL's host and path up to the hook's id, in any case: `discord.com/api/v10/webhooks`. */
const DISCORD_HOOK_PATH = [
  String.raw`${anyCase('discord')}(?:${anyCase('app')})?\.${anyCase('com')}`,
  anyCase('api'),
  `(?:[Vv][0-9]{1,3}${URL_SLASH})?${anyCase('webhooks')}`,
].join(URL_SLASH)

const KEY_PATTERNS = [
  // The credential of an `Authorization` header in free text, however short, under the schemes `Bearer`, `Basic`,
  // `Token` (as Django REST Framework spells it), `NTLM`, `Negotiate` (Kerberos) and `ApiKey` (Elasticsearch):
  // `Authorization: Token 9944b0…`, `"Authorization":"Basic YTpi"`, `Authorization: NTLM TlRMTVNT…`; but
  // "Authorization: Token expired" stays. Header name and scheme are read in any case, as HTTP reads them
  // (`AUTHORIZATION: BEARER …`, `authorization: ntlm …`). The lookbehind is bounded, so a long run of spaces or
  // backslashes costs linear time.
  // Under `Digest` its parameters go whole (`username="ada", response="6629fa…"`), quoted as they are or escaped into
  // JSON (`\"ada\"`); "Authorization: Digest required" stays.
  String.raw`(?<=\b${anyCase('authorization')}(?:\\{0,7}["'])?[ \t]{0,8}[:=][ \t]{0,8}(?:\\{0,7}["'])?)(${AUTHORIZATION_SCHEMES})[ \t]+(?:${DIGEST_PARAMETERS}|(?=${CREDENTIAL_MARK})[A-Za-z0-9._~+/-]+=*)`,
  // The value of a `Cookie` or `Set-Cookie` header in free text, to the end of its line or quote: the name and value of
  // every cookie in it, and the attributes after them. A value is a cookie's `name=value`, so "cookie: none" stays. A
  // quote right after an `=` opens a cookie's quoted value (`sid="…"`, escaped into JSON or not), read to its close or,
  // cut before it, as far as it runs.
  // The name stops at a colon, so that a long run of `cookie:` is read in linear time.
  String.raw`(?<=\b[Cc][Oo][Oo][Kk][Ii][Ee](?:\\{0,7}["'])?[ \t]{0,8}:[ \t]{0,8}(?:\\{0,7}["'])?)[^\s=;,:"'\\]+=(?:(?<==)(?:\\*"[^"\\\r\n]*(?:\\*")?|'[^'\\\r\n]*'?)|[^\r\n"'\\])*`,
  // `Bearer <token>`: the scheme and the space after it are kept, the token goes. At least 8 characters with a digit,
  // base64 punctuation (`+/=_~`) or a capital after the first, so that "Bearer authentication" and "Bearer token-based
  // auth." stay readable. The space may be percent-encoded (`Bearer%20…` in a URL, `Bearer+…` in a form-encoded query)
  // or a JSON escape (`Bearer\u0020…`).
  String.raw`\b([Bb]earer(?:\s|\+|%20|\\u0020)+)(?=${CREDENTIAL_MARK})[A-Za-z0-9._~+/-]{8,}=*`,
  // `Basic <credentials>`: the scheme is kept, the credentials go when they are what the scheme sends, a user and
  // password in base64 (group 4, see `isBasicCredentials`), so that "basic 10-minute setup", "basic HTTP/1.1" and
  // "basic user/password login" stay readable.
  String.raw`\b([Bb]asic)\s+((?:[A-Za-z0-9+/]{4}){2,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)(?![A-Za-z0-9._~+/=-])`,
  // OpenAI (sk-..., sk-proj-..., sk-svcacct-...) and Anthropic (sk-ant-api03-...). A digit or capital is required so
  // that "sk-learn-compatible-pipeline" stays.
  `${START}sk-(?=[A-Za-z0-9_-]*[0-9A-Z])[A-Za-z0-9_-]{20,}`,
  // Stripe secret and restricted keys.
  `${START}(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}`,
  // AWS access key ids.
  `${START}(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA)[A-Z0-9]{16}(?![A-Za-z0-9])`,
  // GitHub tokens.
  `${START}(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})`,
  // Slack tokens.
  `${START}xox[abposre]-[A-Za-z0-9-]{10,}`,
  // Google API keys.
  `${START}AIza[A-Za-z0-9_-]{30,}`,
  // Hugging Face, GitLab, Groq, xAI, Perplexity.
  `${START}(?:hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20,}|gsk_[A-Za-z0-9]{20,}|xai-[A-Za-z0-9]{20,}|pplx-[A-Za-z0-9]{20,})`,
  // The path of a Slack or Discord webhook URL, which is the whole of its credential: whoever has it can post. The host
  // and the kind of hook are kept (`https://hooks.slack.com/services/[REDACTED]`), in Discord's versioned API too
  // (`/api/v10/webhooks/…`), its slashes escaped into JSON (`\/`) or percent-encoded (`%2F`) as URLs are elsewhere.
  // The host is read in any case, as DNS reads it (`https://HOOKS.SLACK.COM/…`, `https://Discord.com/…`), and so is
  // the path before the credential.
  String.raw`(?<=(?:\b|%2[Ff])${SLACK_HOOK_PATH}${URL_SLASH})(?:[A-Za-z0-9_-]|${URL_SLASH})+|(?<=(?:\b|%2[Ff])${DISCORD_HOOK_PATH}${URL_SLASH}[0-9]{1,25}${URL_SLASH})[A-Za-z0-9_-]+`,
  // npm, PyPI, Replicate, LangSmith, Pinecone and Databricks tokens, and Google OAuth access tokens: prefixes no word
  // has, so that npm's own variables (`npm_config_cache`, `npm_package_version`) stay.
  `${START}(?:npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])|pypi-AgE[A-Za-z0-9_-]{50,}|r8_[A-Za-z0-9]{30,}|lsv2_(?:pt|sk)_[A-Za-z0-9_]{20,}|pcsk_[A-Za-z0-9_]{20,}|dapi[a-f0-9]{32}(?![A-Za-z0-9])|ya29\\.[A-Za-z0-9_-]{20,})`,
  // JSON Web Tokens, an unsecured one (`alg: none`) included, whose signature is empty.
  String.raw`${START}eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`,
  // A PEM private key, its lines broken or escaped into JSON (`\n`), with the headers of an encrypted one
  // (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: AES-128-CBC,…`), and without its END line when it was cut: from BEGIN as far
  // as base64 and headers run. A `-` is read only where it does not start the next armour line, so the search from
  // one BEGIN stops where its body does, in time linear in the text.
  String.raw`-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[A-Za-z0-9+/=\s\\:,]|-(?!----))*(?:-----END [A-Z ]*PRIVATE KEY-----)?`,
]

/**
 * Known key shapes anywhere in a string. Groups 1, 2 and 3 are the authorization scheme, which is kept (group 2, of
 * `Bearer`, with the space after it); group 4 the base64 after `Basic`, which goes only when {@link isBasicCredentials}
 * says so.
 */
export const SECRET_VALUE_PATTERN = new RegExp(KEY_PATTERNS.join('|'), 'g')

/** A user id (without a colon), a colon and a password, none of them holding a control character (RFC 7617). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: a credential must hold none, so they are looked for.
const USER_AND_PASSWORD = /^[^\x00-\x1F\x7F:]*:[^\x00-\x1F\x7F]*$/

/**
 * Whether `base64`, read after `Basic` in free text, is the credentials of the Basic scheme: a user and password
 * joined by a colon, in base64. A word that merely uses base64's letters (`authentication/authorization`) decodes to
 * no such text.
 */
export function isBasicCredentials(base64: string): boolean {
  try {
    return USER_AND_PASSWORD.test(atob(base64))
  } catch {
    return false
  }
}

/**
 * What joins the words of a secret's name (`api_key`, `api-key`), percent-encoded too (`api%5Fkey`, `api%2Dkey`), as
 * an encoder that escapes every character but letters and digits writes it.
 */
const NAME_JOINER = '(?:[-_]|%5[Ff]|%2[Dd])'

/** A joiner of a name written percent-encoded, which {@link isSecretAssignment} reads as the character it stands for. */
const ENCODED_NAME_JOINER = /%(?:5F|2D)/gi

/**
 * The names of query parameters whose values are credentials: names ending in `key`, `sig`, `signature`, `token`,
 * `secret`, `password`, `passwd`, `passphrase`, `credential` or `credentials` (`api-key`, `subscription-key`,
 * `x-goog-api-key`, `X-Amz-Signature`, `X-Amz-Security-Token`, `X-Amz-Credential`, `access_token`), and `auth`,
 * `authorization`, `jwt` and `code` (an Azure Functions key, an OAuth code): the names free text reads as secret too.
 */
const SECRET_QUERY_NAME =
  '(?:[A-Za-z0-9_.-]|%5[Ff]|%2[DdEe])*(?:key|sig|signature|token|secret|passw(?:or)?d|passphrase|credentials?)|auth|authori[sz]ation|jwt|code'

/**
 * Of those, the names read as secret before `=` in free text too, wherever they stand (`auth=…` in a message, a header
 * value): they name nothing else. A name merely ending in `key` (`monkey=`) or `code` (`exit code=…`) does not.
 */
const SECRET_PAIR_NAME = String.raw`(?:auth|jwt|sig|signature|pass)(?=\s*(?:=|%3[Dd]))`

const SECRET_QUERY_NAME_PATTERN = new RegExp(`^(?:${SECRET_QUERY_NAME})$`, 'i')

/**
 * Whether the values of a URL's query parameter with this name are credentials, case-insensitively: a name that ends
 * in `key`, `sig`, `signature`, `token`, `secret`, `password`, `passwd`, `passphrase`, `credential` or `credentials`,
 * or is `auth`, `authorization`, `jwt` or `code`. `redactString` uses the same rule for `?name=value` in free text.
 *
 * @example
 * ```ts
 * isSecretQueryName('subscription-key') // true
 * isSecretQueryName('X-Amz-Signature') // true
 * isSecretQueryName('api-version') // false
 * ```
 */
export function isSecretQueryName(name: string): boolean {
  return SECRET_QUERY_NAME_PATTERN.test(name)
}

/**
 * The closing quote of a double-quoted value whose opening quote came after the backslashes captured as `open`: as
 * many backslashes and a quote, after any number of escaped backslashes of the same depth (`open` twice and two more).
 */
const CLOSING_QUOTE = String.raw`(?:\k<open>\k<open>\\\\)*\k<open>"`

/**
 * A quoted value up to its closing quote, escaped quotes inside it included. Double quotes are read at whatever depth
 * JSON was escaped into strings: the opening quote comes after `2^d - 1` backslashes (none in JSON, `\"` in JSON
 * escaped once, `\\\"` twice), and a quote inside the value after more (`\"` in JSON, `\\\"` escaped once,
 * `\\\\\\\"` twice), so the value runs to the first quote after as many backslashes as the opening one, escaped
 * backslashes aside. Single quotes, which JSON does not escape, end at a quote after no backslash or an escaped one;
 * any other quoting (`\"a"`) at the next quote.
 */
const QUOTED_VALUE = [
  String.raw`(?<open>\\*)"(?:[^"\\\n]|\\+[^"\\\n]|(?!${CLOSING_QUOTE})\\*")*${CLOSING_QUOTE}`,
  String.raw`'(?:[^'\\\n]|\\.)*'`,
  String.raw`\\*"[^"\n]*"`,
  String.raw`\\*'[^'\n]*'`,
].join('|')

/**
 * Names of keys that are secrets, as configuration files, environment variables, headers and connection strings spell
 * them: `secret_key`, `aws_secret_access_key`, `secretKey`, `private_key`, `signing_key`, `encryption-key`,
 * `Ocp-Apim-Subscription-Key` (Azure API Management), `AccountKey` and `SharedAccessKey` (Azure connection strings).
 */
const SECRET_KEY_NAME = `(?:secret(?:${NAME_JOINER}?access)?|private|signing|encryption|subscription|account|shared${NAME_JOINER}?access)${NAME_JOINER}?key`

/**
 * A YAML list, replaced whole under a secret's name: in brackets on one line (`apiKey: [k1, k2]`; cut before its `]`,
 * as far as the line runs), or a block of items on the lines after the name, each at the indentation of the first
 * (`apiKey:⏎  - k1⏎  - k2`), so that an outer list's next item stays. An item is read only where a `-` and a space
 * stand, so the lookbehind to the line's start runs once per assignment and the search stays linear in the text.
 */
const YAML_LIST = String.raw`\[[^[\]\r\n]*\]?|(?=-[ \t])(?<=\n(?<indent>[ \t]*))-[ \t][^\r\n]*(?:\r?\n\k<indent>-[ \t][^\r\n]*)*`

/** The items of a {@link YAML_LIST}, without brackets or dashes, as {@link isSecretAssignment} judges them. */
export function yamlListItems(list: string): string | undefined {
  if (list.startsWith('[')) return list.slice(1, list.endsWith(']') ? -1 : undefined).trim()
  return list.startsWith('- ') || list.startsWith('-\t') ? list.replace(YAML_ITEM_DASH, '').trim() : undefined
}

const YAML_ITEM_DASH = /^[ \t]*-[ \t]/gm

/** An `=` or a `:` percent-encoded, as in a URL written into another's query. */
const ENCODED_SEPARATOR = '%3[DdAa]'

const ENCODED_SEPARATOR_AT_END = /%3[DA]$/i
const ENCODED_VALUE_END = /%(?:26|23)/i

/**
 * Where the value of an assignment ends, when the assignment (its name and separator) was percent-encoded
 * (`api_key%3D…`, `api_key%3A…`): at the encoded `&` or `#` after it (`%26`, `%23`), which start the next parameter
 * or the fragment of the encoded URL; otherwise at the value's end.
 */
export function encodedValueEnd(assignment: string, value: string): number {
  if (!ENCODED_SEPARATOR_AT_END.test(assignment)) return value.length
  const end = value.search(ENCODED_VALUE_END)
  return end === -1 ? value.length : end
}

/**
 * `api_key=...`, `"password": "..."`, `auth=...`, `?access_token=...`, `?subscription-key=...` (query names after `?`
 * or `&` only but for those of `SECRET_PAIR_NAME`, so that `monkey=` and a sentence's "key=value" stay; any name that
 * ends in `token`, `password`, `passwd`, `passphrase` or `secret`, as a field's name is read: `dbPassword`,
 * `sessionToken`; and `authorization`, `credential` and `credentials`) inside free text such as a URL, an echoed
 * request body or JSON escaped into a string (`{\"password\":\"...\"}`), after `=`, `:`, `=>` (a Ruby or PHP hash) or
 * `:=`; and percent-encoded, as in a URL that is the value of another's query parameter
 * (`?next=%2Fcallback%3Fapi_key%3D…`): after `%3D` or `%3A`, the query's names after `%3F` or `%26` too, and a name
 * whose `_` or `-` is encoded (`?api%5Fkey=…`, see `NAME_JOINER`). Group 1 (the name and separator) is kept, group 2
 * is the name and group 3 the value: up to the closing quote when quoted (see `QUOTED_VALUE`), a YAML list whole (see
 * `YAML_LIST`), else up to a delimiter (after `%3D` or `%3A`, up to the encoded `&` or `#` that ends it, see
 * `encodedValueEnd`). Whether the value is a secret is for `isSecretAssignment` to say.
 */
export const SECRET_ASSIGNMENT_PATTERN = new RegExp(
  String.raw`(?:(?<![A-Za-z0-9])|(?<=%[0-9A-F]{2}))(((?<=[?&]|%3F|%26)(?:${SECRET_QUERY_NAME})|${SECRET_PAIR_NAME}|authori[sz]ation|credentials?|api${NAME_JOINER}?key|(?:access|refresh|auth|id)${NAME_JOINER}?token|pwd(?=\s*(?:=|%3D))|client${NAME_JOINER}?secret|${SECRET_KEY_NAME}|[A-Za-z0-9]*(?:token|passw(?:or)?d|passphrase|secret))(?:\\*["'])?\s*(?:=>|:=|[=:]|${ENCODED_SEPARATOR})\s*)(${QUOTED_VALUE}|${YAML_LIST}|[^\s"'\\&,;()[\]{}<>]+)`,
  'gi',
)

/**
 * A member of JSON (or of a Python or JavaScript literal, single-quoted) written in free text, up to its value: its
 * name quoted (`"apiKey": `), or a name and value pair that names it (`{"name": "apiKey", "value": `, as HAR and a
 * request collection write a header), or an entry of a list of them (`[["x-api-key", `, as `Object.entries(headers)`
 * and fetch's `HeadersInit` write headers: a list of two items, itself an item of a list). The quotes are read at
 * whatever depth JSON was escaped into strings (`\"apiKey\":`): group 1 is the backslashes before a quote, group 2 the
 * quote, group 3 the name a pair gives, groups 4, 5 and 6 the same of a member, or groups 7, 8 and 9 of an entry. The
 * name comes before the value, on the same line or, as JSON is pretty-printed, on the line before; a pair that names
 * its value after it is a member named `value`, whose name is read after its value (see `NAME_AFTER_VALUE_PATTERN`).
 * The value is read after the match, as far as it runs (see `redactString`). The name is at most 128 characters, and a run of backslashes is read from its start only, so the
 * search is linear in the text.
 */
export const JSON_MEMBER_PATTERN = new RegExp(
  [
    String.raw`(?<!\\)(\\{0,15})(["'])(?:name|Name|key|Key)\1\2[ \t]{0,16}:[ \t]{0,16}\1\2([^"'\\\r\n]{1,128})\1\2\s{0,64},\s{0,64}\1\2(?:value|Value)\1\2[ \t]{0,16}:[ \t]{0,16}`,
    String.raw`(?<!\\)(\\{0,15})(["'])([^"'\\\r\n]{1,128})\4\5[ \t]{0,16}:[ \t]{0,16}`,
    String.raw`(?<=[[,]\s{0,64})\[\s{0,64}(\\{0,15})(["'])([^"'\\\r\n]{1,128})\7\8\s{0,64},\s{0,64}`,
  ].join('|'),
  'g',
)

/**
 * The name of a name and value pair written value first (`{"value": "…", "name": "apiKey"}`), read right after the
 * value's closing quote: group 1 is the backslashes before its quotes, group 2 the quote, group 3 the name, at most 128
 * characters, so the read is short whatever follows.
 */
export const NAME_AFTER_VALUE_PATTERN =
  /\s{0,64},\s{0,64}(\\{0,15})(["'])(?:name|Name|key|Key)\1\2[ \t]{0,16}:[ \t]{0,16}\1\2([^"'\\\r\n]{1,128})\1\2/y

/**
 * An XML element in free text (a SOAP body, a config file an error quotes) and its text up to its closing tag:
 * `<password>…</password>`, `<ns:ApiKey type="x">…</ns:ApiKey>`. Group 1 is the opening tag, group 2 the element's
 * name, group 3 that name without its namespace prefix, group 4 the text, group 5 the closing tag. Whether the name is
 * a secret's is for `isSecretFieldName` to say. The text runs to the next `<`, so the search is linear in the text.
 */
export const XML_ELEMENT_PATTERN =
  /(<((?:[A-Za-z_][\w.-]{0,63}:)?([A-Za-z_][\w.-]{0,127}))(?:\s[^<>]{0,1024})?>)([^<]+)(<\/\2\s*>)/g

/**
 * The name of a command-line flag whose value is a secret, as an assignment's name is read: `--password`, `--api-key`,
 * `--client-secret`, `--github-token`, `--db-passphrase`, `--signing-key`; not `--max-tokens` or `--key`.
 */
const SECRET_FLAG_NAME = `(?:[A-Za-z0-9]+[-_])*(?:api[-_]?key|client[-_]?secret|${SECRET_KEY_NAME}|[A-Za-z0-9]*(?:token|passw(?:or)?d|passphrase|secret)|credentials?)`

/**
 * A flag named like a secret and the value after it on a command line (`psql --password hunter2`, `--api-key 'k 1'`):
 * group 1 (the flag and the space after it) is kept, group 2 is the name and group 3 the value, quoted or up to a
 * space, never a flag of its own (`--password --user ada` holds no password). As for an assignment,
 * `isSecretAssignment` says whether the value is a secret.
 */
export const SECRET_FLAG_PATTERN = new RegExp(
  String.raw`(?<![A-Za-z0-9_-])(--?(${SECRET_FLAG_NAME})[ \t]+)(?!-)(${QUOTED_VALUE}|[^\s"'\\]+)`,
  'gi',
)

const SECRET_FLAG = new RegExp(`^--?(${SECRET_FLAG_NAME})$`, 'i')

/** The name of a flag named like a secret, as an argument list holds it (`'--password'`), or `undefined`. */
export function secretFlagName(argument: string): string | undefined {
  return argument.startsWith('-') ? SECRET_FLAG.exec(argument)?.[1] : undefined
}

/**
 * curl's flags for a user and password: `-u` and `--user`, and `-U` and `--proxy-user` for a proxy; a short one also
 * after other short options run together with it (`-sSu`), as curl reads them.
 */
const USER_FLAG = '-[A-Za-z]{0,8}[uU]|--(?:proxy-)?user'

/**
 * A user and password after curl's `-u` or `--user` (`curl -u alice:hunter2`), or `-U` or `--proxy-user`: after spaces,
 * after `=` (`--user=alice:hunter2`) or glued to `-u` (`-ualice:hunter2`). Group 1 (the flag and what joins it to its
 * value) is kept, group 2 is the value, quoted or up to a space, never a flag of its own (`-u --user ada` holds no
 * password), nor a Windows path (`python -u C:\tools\run.py`), which an unquoted value, ending at a backslash, would
 * otherwise cut to `C:`. Whether the value is a user and password is for `isUserAndPassword` to say. The whole value
 * goes, the user too: a key is often sent as the user (`curl -u sk_test_…:`), as in a URL's user information.
 */
export const USER_FLAG_PATTERN = new RegExp(
  String.raw`(?<![A-Za-z0-9_-])((?:${USER_FLAG})(?:[ \t]+|=)|-[uU])(?!-)(${QUOTED_VALUE}|(?![^\s"'\\:]*:\\)[^\s"'\\]+)`,
  'g',
)

const USER_FLAG_ARGUMENT = new RegExp(`^(?:${USER_FLAG})$`)

/** Whether an argument of an argument list (`'-u'`, `'--user'`) is one of curl's flags for a user and password. */
export function isUserFlag(argument: string): boolean {
  return USER_FLAG_ARGUMENT.test(argument)
}

/**
 * How what follows the colon starts in a path or a URL (`host:/srv`, `host:~/src`, `C:\tools`, `https://…`, as after
 * rsync's, Python's or a scanner's `-u`), where it is no password.
 */
const NOT_A_PASSWORD = /^(?:[\\/]|~\/)/

/**
 * Whether `value` (unquoted), after curl's `-u` or `--user`, is a user and password: a colon and anything beside it
 * (`alice:hunter2`, a key as the user with no password, `sk_test_…:`, or a token with no user, `:token`). A user alone
 * (`-u alice`), a path or a URL (see `NOT_A_PASSWORD`) and a date format (`date -u +%H:%M`) are not.
 */
export function isUserAndPassword(value: string): boolean {
  const colon = value.indexOf(':')
  return colon !== -1 && value.length > 1 && !value.startsWith('+') && !NOT_A_PASSWORD.test(value.slice(colon + 1))
}

/** Names whose value is a secret whatever it looks like, so that `password=correcthorsebatterystaple` goes. */
const STRONG_SECRET_NAME = new RegExp(
  `(?:api[-_]?key|passw(?:or)?d|passphrase|pwd|secret|(?:access|refresh|auth)[-_]?token|${SECRET_KEY_NAME})$`,
  'i',
)

/** What stands in for a value that is not there: `password: undefined`, `"secret": ""`, `api_key=***` stay. */
const PLACEHOLDER_VALUE = /^(?:undefined|null|none|true|false|\[REDACTED\]|\**)$/i

/** Whether `value` under `name` is the shell's working directory (`PWD=/home/ada` in an environment), not a password. */
function isWorkingDirectory(name: string, value: string): boolean {
  return /^pwd$/i.test(name) && /^[/~]/.test(value)
}

/**
 * Field names whose values are secrets when they are strings: `auth` (`http.request` takes `auth: 'user:password'`; an
 * `auth` object keeps its structure), `pass` and `pwd` (a `pass` count stays). A `pwd` that is a path is the working
 * directory, and stays.
 */
const SECRET_STRING_KEY_PATTERN = /^(?:auth|pass|pwd)$/i

/** Whether the string `value` of the field `name` is a secret, though the name alone does not say so (`auth`, `pass`). */
export function isSecretStringField(name: string, value: string): boolean {
  return SECRET_STRING_KEY_PATTERN.test(name) && !isWorkingDirectory(name, value)
}

/**
 * Under any other name (`token`, `?key=`, `&sig=`), a value is only taken for a secret when it has at least 8
 * characters and holds a digit or a capital: "token: undefined" and "the key=value pairs" stay.
 */
const SECRET_LIKE_VALUE = /[0-9A-Z]/
const SHORTEST_WEAK_SECRET = 8

/**
 * Whether `value` (unquoted, or the items of a YAML list), assigned to the field `writtenName` in free text (`api_key`,
 * or `api%5Fkey` percent-encoded), is a secret: under a strong name (`password`, `passwd`, `passphrase`, `pwd`,
 * `secret`, `client_secret`, `api_key`, `access_token`, `refresh_token`, `auth_token`) any value but a placeholder (an
 * empty list too); under `authorization`, a bare credential (see `AUTHORIZATION_SCHEME`); under any other, one of at
 * least 8 characters with a digit or a capital.
 */
export function isSecretAssignment(writtenName: string, value: string): boolean {
  // Read as the name it encodes: `api%5Fkey` is `api_key`.
  const name = writtenName.replace(ENCODED_NAME_JOINER, decodeURIComponent)
  if (STRONG_SECRET_NAME.test(name)) return !PLACEHOLDER_VALUE.test(value) && !isWorkingDirectory(name, value)
  if (AUTHORIZATION_NAME.test(name)) {
    return !AUTHORIZATION_SCHEME.test(value) && value.length >= SHORTEST_WEAK_SECRET && CREDENTIAL_LIKE.test(value)
  }
  return value.length >= SHORTEST_WEAK_SECRET && SECRET_LIKE_VALUE.test(value)
}

/**
 * Under `authorization`, a value that starts with a scheme is left to the patterns of `KEY_PATTERNS`, which keep the
 * scheme ("Authorization: Bearer [REDACTED]"), and so is a scheme and an escaped space alone: what followed them was
 * replaced already (`authorization=Bearer%20[REDACTED]`); any other is a bare credential when it looks like one: a
 * digit, base64 punctuation or a capital after the first character, so that "Authorization: Forbidden" stays.
 */
const AUTHORIZATION_NAME = /authori[sz]ation$/i
const AUTHORIZATION_SCHEME = /^(?:bearer|basic|token|digest|ntlm|negotiate|apikey)(?:\s|$|(?:%20|\+|\\u0020)$)/i
const CREDENTIAL_LIKE = new RegExp(CREDENTIAL_MARK)

/**
 * The user information of a URL (`https://user:password@host`, `https://token@host`): group 1, the scheme, is kept, and
 * the host after the `@`. The user information runs to the last `@` before the host's `/`, `?`, `#` or whitespace, as
 * a password may hold an `@` (`https://user:p@ss@host` is a valid URL).
 *
 * The scheme is read as at most 32 characters, from wherever they start: an unbounded scheme made each word of a long
 * run such as `a.b.c.d…://host` scan to its end, quadratic in the run's length (a 40 kB log line took over a second).
 * A longer scheme is matched by its last 32 characters, and the credentials after it still go.
 *
 * A URL is also read as JSON writes it with its slashes escaped (`https:\/\/user:pw@host`, as PHP does) and
 * percent-encoded as a whole, as in a query parameter that holds a URL (`?next=https%3A%2F%2Fuser%3Apw%40host`): there
 * the user information runs to the last `%40` before the host's `%2F`, `%3F` or `%23`, as it runs to the last `@`.
 * Groups 1 and 2 are the scheme and the `@` of the first form, groups 3 and 4 of the encoded one.
 */
export const URL_CREDENTIALS_PATTERN =
  /([A-Za-z][A-Za-z0-9+.-]{0,31}:(?:\\*\/){2})[^\s/?#"'<>]+(@)|([A-Za-z][A-Za-z0-9+.-]{0,31}%3[Aa]%2[Ff]%2[Ff])(?:[^\s/?#"'<>%&]|%(?!2[Ff]|3[Ff]|23)[0-9A-Fa-f]{2})+(%40)/g

/** Whether a text may hold a URL in one of the forms {@link URL_CREDENTIALS_PATTERN} reads: cheaper than the pattern. */
export function mayHoldUrl(text: string): boolean {
  return text.includes(':/') || text.includes(':\\/') || text.includes('%2F') || text.includes('%2f')
}

/**
 * No key shape is shorter than this (`Basic ` and 8 characters), so shorter strings skip the regular expressions unless
 * they may hold an assignment.
 */
export const SHORTEST_PATTERN_MATCH = 14

/** The shortest assignment that is redacted, `pwd=x`: shorter strings skip the regular expressions. */
export const SHORTEST_ASSIGNMENT_MATCH = 5
