import { randomUUID } from 'node:crypto'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { optionError, type RunRecord } from '@tinyllm/core'
import { type RunReportOptions, renderRunReport } from './render-run-report.js'

/**
 * Writes the report of {@link renderRunReport} to `path` (its folder is created if missing) and resolves with the
 * file's absolute path, ready to print or open. The file is written whole and then moved into place, so a reader (or
 * another process writing the same report) never sees half of one; when that fails (`path` is a folder, the disk is
 * full), the partial file is removed; where the folder cannot be made (under `/proc`, say), it rejects with the
 * error of the folder it could not make. A `path` that is not a string, or holds a NUL character, is a
 * `ConfigurationError`.
 *
 * @example
 * const path = await writeRunReport(await pipeline.trace(input), 'reports/run.html')
 * console.log(`Run report: ${path}`)
 */
export async function writeRunReport(
  records: RunRecord | ReadonlyArray<RunRecord>,
  path: string,
  options?: RunReportOptions,
): Promise<string> {
  // The file system takes no name holding a NUL character: Node would throw a TypeError naming the partial file.
  if (typeof path !== 'string' || path === '' || path.includes('\0'))
    throw optionError('path', 'a file path (without a NUL character)', path, 'writeRunReport')
  const html = renderRunReport(records, options)
  const absolute = resolve(path)
  await makeFolder(dirname(absolute))
  // A name of its own for every write, even two of one process in the same millisecond: each moves its own file. It is
  // beside the report (a move stays on one file system) but not named after it: a report's name may be as long as the
  // file system takes, and one with a suffix added would not be.
  const partial = join(dirname(absolute), `.tinyllm-report-${randomUUID()}.partial`)
  try {
    await writeFile(partial, html, 'utf8')
    await rename(partial, absolute)
  } catch (error) {
    await rm(partial, { force: true })
    throw error
  }
  return absolute
}

/**
 * Makes `folder` and the folders it is in that are missing, one at a time: `mkdir` with `recursive` never settles
 * where a folder cannot be made though its parent exists (it takes the `ENOENT` of `/proc/x` for a missing `/proc`
 * and tries again, forever). Here the folder is tried again once, after its parent is made.
 */
async function makeFolder(folder: string): Promise<void> {
  try {
    await mkdir(folder)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return
    const parent = dirname(folder)
    if (code !== 'ENOENT' || parent === folder) throw error
    await makeFolder(parent)
    await mkdir(folder).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST') throw again
    })
  }
}
