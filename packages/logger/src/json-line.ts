import type { WritableLevel } from './log-level.js'

/** Keys the line itself owns; a field with one of these names is written as `fields.<name>` instead of replacing it. */
const RESERVED_KEYS = ['time', 'level', 'msg'] as const

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
  const head = `{"time":"${time.toISOString()}","level":"${level}","msg":${JSON.stringify(message)}`
  const rest = JSON.stringify(fields)
  return rest === '{}' ? `${head}}\n` : `${head},${rest.slice(1)}\n`
}
