import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type BrowserContext, chromium, type Page } from 'playwright-core'

/** Debian's Chromium; `.ci/run` installs it when it is missing. */
export const chromiumPath = '/usr/bin/chromium'

/** A headless Chromium with a fresh profile, and the report pages it opens. */
export interface ReportBrowser {
  /** Opens `html` from a file; `requests` lists every URL the page asked for, `violations` what its policy blocked. */
  open(
    html: string,
    name: string,
  ): Promise<{ page: Page; url: string; requests: string[]; violations: () => Promise<string[]> }>
  close(): Promise<void>
}

export async function launchReportBrowser(): Promise<ReportBrowser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium is not installed at ${chromiumPath}; the report's browser tests need it: apt-get install -y chromium (.ci/run installs it)`,
    )
  }
  const folder = await mkdtemp(join(tmpdir(), 'tinyllm-report-'))
  const context: BrowserContext = await chromium.launchPersistentContext(join(folder, 'profile'), {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1400, height: 1600 },
    deviceScaleFactor: 1,
  })
  return {
    async open(html, name) {
      const file = join(folder, `${name}.html`)
      await writeFile(file, html, 'utf8')
      const url = pathToFileURL(file).href
      const page = await context.newPage()
      const requests: string[] = []
      page.on('request', (request) => {
        requests.push(request.url())
      })
      await page.addInitScript(() => {
        const violations: string[] = []
        ;(globalThis as { __violations?: string[] }).__violations = violations
        const page = globalThis as unknown as { document: EventTarget }
        page.document.addEventListener('securitypolicyviolation', (event) => {
          const violation = event as Event & { violatedDirective: string; blockedURI: string }
          violations.push(`${violation.violatedDirective} ${violation.blockedURI}`)
        })
      })
      await page.goto(url, { waitUntil: 'load' })
      return {
        page,
        url,
        requests,
        violations: () => page.evaluate(() => (globalThis as { __violations?: string[] }).__violations ?? []),
      }
    },
    async close() {
      await context.close()
      await rm(folder, { recursive: true, force: true })
    },
  }
}
