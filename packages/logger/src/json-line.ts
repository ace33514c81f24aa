import type { WritableLevel } from './log-level.js'

/** Keys the line itself owns; a field with one of these names is written as `fields.<name>` instead of replacing it. */
const RESERVED_KEYS = ['time', 'level', 'msg'] as const

/**
 * What `JSON.stringify` writes raw and a line must not hold: DEL and the C1 controls (U+009B is an 8-bit CSI that
 * terminals read as `ESC [`, U+0085 a next-line), and U+2028 and U+2029, which end a line for some readers. C0 controls
 * it escapes itself.
 */
const RAW_CONTROLS = /[\u007f-\u009f\u2028\u2029]/g

function escapeRawControl(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/** `JSON.stringify(value)` with the characters of {@link RAW_CONTROLS} escaped too; the JSON means the same. */
function stringify(value: unknown): string {
  return JSON.stringify(value).replace(RAW_CONTROLS, escapeRawControl)
}

/**
 * One JSON line: `{"time":...,"level":"info","msg":...,...fields}` and a newline. `message` and `fields` must already
 * be redacted (and so JSON-safe).
 */
export function formatJsonLine(
  time: Date,
  level: WritableLevel,
  message: string,
  fields: Record<string, unknown>,
): string {
  for (const key of RESERVED_KEYS) {
    if (Object.hasOwn(fields, key)) {
      fields[`fields.${key}`] = fields[key]
      delete fields[key]
    }
  }
  const head = `{"time":"${time.toISOString()}","level":"${level}","msg":${stringify(message)}`
  const rest = stringify(fields)
  return rest === '{}' ? `${head}}\n` : `${head},${rest.slice(1)}\n`
}
