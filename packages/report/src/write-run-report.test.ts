import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigurationError, defineFunction } from '@tinyllm/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { renderRunReport } from './render-run-report.js'
import { writeRunReport } from './write-run-report.js'

let folder: string | undefined
afterEach(async () => {
  if (folder !== undefined) await rm(folder, { recursive: true, force: true })
})

describe('writeRunReport', () => {
  it('writes the rendered page, creating its folder, and resolves with the absolute path', async () => {
    folder = await mkdtemp(join(tmpdir(), 'tinyllm-report-'))
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    const path = await writeRunReport(record, join(folder, 'nested', 'report.html'), { title: 'One step' })
    expect(path).toBe(join(folder, 'nested', 'report.html'))
    const html = await readFile(path, 'utf8')
    expect(html).toContain('<title>One step · tinyllm run report</title>')
    expect(html.length).toBe(renderRunReport(record, { title: 'One step' }).length)
    expect(await readdir(join(folder, 'nested'))).toEqual(['report.html'])
  })

  it('leaves no partial file behind when the page cannot be moved into place', async () => {
    folder = await mkdtemp(join(tmpdir(), 'tinyllm-report-'))
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    // A folder where the file should go: the page is written beside it, and the move fails.
    await mkdir(join(folder, 'report.html'))
    await expect(writeRunReport(record, join(folder, 'report.html'))).rejects.toThrow(/report\.html/)
    expect(await readdir(folder)).toEqual(['report.html'])
  })

  it('writes to a file whose name is as long as the file system takes, leaving nothing else beside it', async () => {
    folder = await mkdtemp(join(tmpdir(), 'tinyllm-report-'))
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    // 250 characters: a name the file system takes (255 at most), but not with 45 more added to it.
    const name = `${'r'.repeat(245)}.html`
    const path = await writeRunReport(record, join(folder, name))
    expect(path).toBe(join(folder, name))
    expect((await readFile(path, 'utf8')).length).toBe(renderRunReport(record).length)
    expect(await readdir(folder)).toEqual([name])
  })

  it('writes two reports to one path at the same moment, each whole, without a failure', async () => {
    folder = await mkdtemp(join(tmpdir(), 'tinyllm-report-'))
    const first = await defineFunction({ name: 'First', run: () => 'one' }).trace(undefined)
    const second = await defineFunction({ name: 'Second', run: () => 'two' }).trace(undefined)
    const path = join(folder, 'report.html')
    // The same millisecond for both: their partial files must still be two.
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      await Promise.all([writeRunReport(first, path), writeRunReport(second, path)])
    } finally {
      vi.useRealTimers()
    }
    expect([renderRunReport(first).length, renderRunReport(second).length]).toContain(
      (await readFile(path, 'utf8')).length,
    )
    expect(await readdir(folder)).toEqual(['report.html'])
  })

  // `mkdir` with `recursive` never settles under /proc, where no folder can be made though /proc exists.
  it.skipIf(!existsSync('/proc/self'))(
    'rejects with the error of the folder it cannot make under /proc, instead of never settling',
    async () => {
      const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
      await expect(writeRunReport(record, '/proc/tinyllm-report/runs/report.html')).rejects.toMatchObject({
        code: 'ENOENT',
        path: '/proc/tinyllm-report',
      })
      await expect(writeRunReport(record, '/proc/self/report.html')).rejects.toMatchObject({ code: 'ENOENT' })
    },
  )

  it('refuses a path that is not a string with a ConfigurationError', async () => {
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    for (const path of [undefined, null, 5, ''] as never[]) {
      await expect(writeRunReport(record, path)).rejects.toThrow(ConfigurationError)
    }
  })

  it('refuses a path holding a NUL character with a ConfigurationError, and makes no folder', async () => {
    folder = await mkdtemp(join(tmpdir(), 'tinyllm-report-'))
    const record = await defineFunction({ name: 'Step', run: () => 'done' }).trace(undefined)
    for (const path of [join(folder, 'report\0.html'), join(folder, 'in\0side', 'report.html')]) {
      await expect(writeRunReport(record, path)).rejects.toThrow(ConfigurationError)
    }
    expect(await readdir(folder)).toEqual([])
  })
})
