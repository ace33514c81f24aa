import { checkKnownOptions, optionError, unreadableOption } from '@tinyllm/core'

const owner = 'describeChatModelConformance'

const adapterKeys: ReadonlySet<string> = new Set([
  'name',
  'chatPath',
  'startServer',
  'createModel',
  'readRequest',
  'multipleChoices',
  'sdk',
])
const sdkKeys: ReadonlySet<string> = new Set(['packageName', 'installedFrom', 'createModel'])

/**
 * Refuses an adapter the suite cannot run on, before any test is declared, with a ConfigurationError naming the field:
 * a misspelt field (`multipleChoice`) would otherwise be ignored and the wrong branch of a case run, a missing function
 * or an empty name would fail every test with an error that says nothing of the adapter, and a getter that throws
 * would do so in each.
 */
export function checkAdapter(adapter: unknown): void {
  if (typeof adapter !== 'object' || adapter === null) throw optionError('adapter', 'an object', adapter, owner)
  try {
    checkKnownOptions(adapter, adapterKeys, owner)
    const { name, chatPath, startServer, createModel, readRequest, multipleChoices, sdk } = adapter as Record<
      string,
      unknown
    >
    if (typeof name !== 'string' || name === '') throw optionError('name', 'a non-empty string', name, owner)
    if (typeof chatPath !== 'string' || !chatPath.startsWith('/')) {
      throw optionError('chatPath', 'a path starting with /', chatPath, owner)
    }
    for (const [field, value] of Object.entries({ startServer, createModel, readRequest })) {
      if (typeof value !== 'function') throw optionError(field, 'a function', value, owner)
    }
    if (typeof multipleChoices !== 'boolean') throw optionError('multipleChoices', 'a boolean', multipleChoices, owner)
    if (sdk === undefined) return
    checkKnownOptions(sdk as object, sdkKeys, owner, 'sdk')
    const copy = sdk as Record<string, unknown>
    for (const field of ['packageName', 'installedFrom'] as const) {
      if (typeof copy[field] !== 'string' || copy[field] === '') {
        throw optionError(`sdk.${field}`, 'a non-empty string', copy[field], owner)
      }
    }
    if (typeof copy.createModel !== 'function')
      throw optionError('sdk.createModel', 'a function', copy.createModel, owner)
  } catch (error) {
    throw unreadableOption(error, 'adapter', owner)
  }
}
