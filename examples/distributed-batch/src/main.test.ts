import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { generateApplications, underwrite } from './applications.ts'
import { readCommandLine, UsageError } from './command-line.ts'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))
const run = promisify(execFile)

function figure(output: string, label: string): number {
  const match = new RegExp(`^${label}: +([\\d,]+)`, 'm').exec(output)
  if (!match) throw new Error(`no "${label}" line in:\n${output}`)
  return Number(match[1]!.replaceAll(',', ''))
}

describe('the distributed-batch example', () => {
  it('runs from nothing — its own redis-server, model server and workers — and survives a killed worker', async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      [main, '--count', '300', '--workers', '2', '--concurrency', '16', '--kill-a-worker'],
      { encoding: 'utf8', timeout: 270_000 },
    ).catch((error: Error & { stdout?: string }) => {
      // The summary (stdout) says what went wrong; the error alone shows only the progress lines.
      throw new Error(`${error.message}\n--- stdout ---\n${error.stdout ?? ''}`)
    })
    expect(stdout).toContain('Distributed batch: 300 loan applications on 2 worker processes (seed 42)')
    expect(stdout).toMatch(/^Accounted: +300 \+ 0 = 300 of 300 ✔$/m)
    expect(figure(stdout, 'Completed')).toBe(300)
    expect(stdout).toMatch(/^Emails: +[\d,]+ sent for [\d,]+ referred applications ✔ none twice$/m)
    expect(stdout).toMatch(/^Calls: +[\d,]+ model calls for 300 applications: \d+ duplicated/m)
    expect(stdout).toMatch(/^Cost: +\$\d+\.\d{4} for [\d,]+ tokens/m)
    expect(stderr).toContain('✖ kill -9 of worker 1')
    expect(stderr).toContain('progress: 300/300 done, 0 failed')
  }, 300_000)

  it('refuses options it cannot run', async () => {
    const error = await run(process.execPath, [main, '--workers', '1', '--kill-a-worker']).catch(
      (caught: unknown) => caught,
    )
    expect(error).toMatchObject({ code: 2 })
    expect((error as { stderr: string }).stderr).toContain('--kill-a-worker needs --workers 2 or more')
  })

  it('stops its redis-server and removes its data directory when it is interrupted mid-batch', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'distributed-interrupted-'))
    let child: ReturnType<typeof spawn> | undefined
    try {
      child = spawn(process.execPath, [main, '--count', '20000', '--workers', '1'], {
        env: { ...process.env, TMPDIR: scratch },
        stdio: ['ignore', 'pipe', 'ignore'],
      })
      const exited = once(child, 'exit')
      let port: number | undefined
      for await (const line of createInterface({ input: child.stdout! })) {
        const redisUrl = /redis:\/\/127\.0\.0\.1:(\d+)/.exec(line)
        if (redisUrl) port = Number(redisUrl[1])
        if (line === '') break // the header is printed: the workers are serving
      }
      expect(port).toBeGreaterThan(0)
      child.kill('SIGTERM')
      expect(await exited).toEqual([128 + 15, null])
      const refused = await new Promise((resolve) => {
        const socket = connect(port!, '127.0.0.1')
        socket.once('connect', () => {
          socket.destroy()
          resolve(false)
        })
        socket.once('error', () => resolve(true))
      })
      expect(refused).toBe(true)
      expect(readdirSync(scratch)).toEqual([])
    } finally {
      // A failed expectation above must not leave the batch (and its redis-server) running.
      if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      rmSync(scratch, { recursive: true, force: true })
    }
    // Generous: starting redis-server and a worker can take long on a busy machine.
  }, 300_000)

  it('says redis-server must be installed, with no stack, when there is none on the PATH', async () => {
    const emptyPath = mkdtempSync(join(tmpdir(), 'distributed-no-redis-'))
    try {
      const error = await run(process.execPath, [main, '--count', '3', '--workers', '1'], {
        env: { ...process.env, PATH: emptyPath },
      }).catch((caught: unknown) => caught)
      expect(error).toMatchObject({ code: 2 })
      expect((error as { stderr: string }).stderr).toBe(
        'could not start redis-server: spawn redis-server ENOENT\n' +
          'pnpm distributed starts a private redis-server on 127.0.0.1: install Redis 6.2 or later so that ' +
          'redis-server is on the PATH (apt-get install redis-server, brew install redis).\n',
      )
    } finally {
      rmSync(emptyPath, { recursive: true, force: true })
    }
  })

  it('refuses an option given no number instead of reading it as 0', async () => {
    const error = await run(process.execPath, [main, '--seed=']).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: 2 })
    expect((error as { stderr: string }).stderr).toContain('--seed must be an integer from 0 to 4294967295, got ""')
  })

  it('refuses a seed the loopback server cannot honour, above 32 bits', () => {
    expect(() => readCommandLine(['--seed', '4294967296'])).toThrow(
      new UsageError('--seed must be an integer from 0 to 4294967295, got "4294967296"'),
    )
    expect(readCommandLine(['--seed', '4294967295'])?.seed).toBe(4_294_967_295)
  })

  it('refuses more worker processes than it starts, before starting any', () => {
    // Read as the example reads it, so that nothing is started even if the check were gone.
    expect(() => readCommandLine(['--workers', '100000'])).toThrow(
      new UsageError('--workers must be an integer from 1 to 64, got "100000"'),
    )
    expect(readCommandLine(['--workers', '64'])?.workers).toBe(64)
  })

  it('refuses more applications than it can hold, before generating any', () => {
    expect(() => readCommandLine(['--count', '100000000000'])).toThrow(
      new UsageError('--count must be an integer from 1 to 1000000, got "100000000000"'),
    )
    expect(readCommandLine(['--count', '1000000'])?.count).toBe(1_000_000)
  })
})

describe('the generated applications and the offline model', () => {
  it('are a pure function of the seed, and the model answers from the application', () => {
    expect(generateApplications(20, 3)).toEqual(generateApplications(20, 3))
    const ask = (text: string) => underwrite({ messages: [{ role: 'user', content: text }] })
    expect(ask('credit score 760, debt-to-income 20%, 0 missed payments')).toBe('Good.')
    expect(ask('credit score 600, debt-to-income 20%, 0 missed payments')).toBe('bad')
  })
})
