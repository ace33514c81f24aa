/**
 * What looks like a secret. Precision matters as much as recall: a redactor that eats ordinary words (token counts,
 * "password reset", "task-based") makes logs useless, so every pattern is anchored on a known key prefix or an explicit
 * `name=value` shape.
 */

/**
 * Field names whose values are secrets, case-insensitive. `token` must end the name so that `accessToken`,
 * `refresh_token` and `x-auth-token` match while `tokens`, `maxTokens` and `tokenCount` (LLM usage) do not.
 */
export const SECRET_KEY_PATTERN =
  /api[-_]?key|authori[sz]ation|passw(?:or)?d|secret|cookie|credential|private[-_]?key|token$/i

/** Not preceded by a character that would make the match the tail of a longer word. */
const START = '(?<![A-Za-z0-9_-])'

const KEY_PATTERNS = [
  // `Bearer <token>` and `Basic <credentials>`: the scheme is kept, the credential goes. A digit is required so that
  // "Bearer authentication" stays readable.
  String.raw`\b([Bb]earer|[Bb]asic)\s+(?=[A-Za-z0-9._~+/-]*[0-9])[A-Za-z0-9._~+/-]{16,}=*`,
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
  // JSON Web Tokens.
  String.raw`${START}eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`,
]

/** Known key shapes anywhere in a string. Group 1 is the authorization scheme, which is kept. */
export const SECRET_VALUE_PATTERN = new RegExp(KEY_PATTERNS.join('|'), 'g')

/**
 * `api_key=...`, `"password": "..."`, `?access_token=...`, `?key=...` (after `?` or `&` only, so that `monkey=` and a
 * sentence's "key=value" stay) inside free text such as a URL or an echoed request body.
 * Group 1 (the name and separator) is kept; group 2 is the value, at least 8 characters: up to the closing quote when
 * quoted, else up to a delimiter.
 */
export const SECRET_ASSIGNMENT_PATTERN =
  /(?<![A-Za-z0-9])((?:(?<=[?&])(?:key|sig|signature)|api[-_]?key|(?:access|refresh|auth|id)[-_]?token|token|password|passwd|client[-_]?secret|secret)["']?\s*[=:]\s*)("[^"\n]{8,}"|'[^'\n]{8,}'|[^\s"'&,;()[\]{}<>]{8,})/gi

/**
 * The user information of a URL (`https://user:password@host`, `https://token@host`): group 1, the scheme, is kept, and
 * the host after the `@`.
 */
export const URL_CREDENTIALS_PATTERN = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/g

/** A value in an assignment is only taken for a secret when it holds a digit or a capital: "token: undefined" stays. */
export const SECRET_LIKE_VALUE = /[0-9A-Z]/

/** No match of either pattern is shorter than this, so shorter strings skip the regular expressions. */
export const SHORTEST_PATTERN_MATCH = 14
