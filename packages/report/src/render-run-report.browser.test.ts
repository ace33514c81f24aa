import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { defineFunction } from '@tinyllm/core'
import { Chain, Parallel } from '@tinyllm/flow'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchReportBrowser, type ReportBrowser } from './__fixtures__/browser.js'
import { closeColors, colorAt, decodePng, distinctColors } from './__fixtures__/png.js'
import { batchRecord, creditRecords } from './__fixtures__/records.js'
import { outcomeColors } from './outcome-colors.js'
import { renderRunReport } from './render-run-report.js'
import type { ShapeOutcome } from './run-shape.js'

// These tests need Debian's Chromium at /usr/bin/chromium and fail, saying so, when it is absent.
let browser: ReportBrowser
beforeAll(async () => {
  browser = await launchReportBrowser()
})
afterAll(async () => {
  await browser?.close()
})

/** Every node and group of the graph: name, outcome, and the point inside it where its fill shows. */
async function graphNodes(page: Page) {
  return page.$$eval('.run-graph [data-shape]', (elements) =>
    elements.map((element) => {
      const swatch = element.querySelector('.swatch')!.getBoundingClientRect()
      return {
        name: element.getAttribute('data-name')!,
        kind: element.getAttribute('data-kind')!,
        outcome: element.getAttribute('data-outcome')!,
        runs: Number(element.getAttribute('data-runs')),
        group: element.classList.contains('group'),
        x: swatch.left + 8,
        y: swatch.top + swatch.height / 2,
      }
    }),
  )
}

/**
 * Takes a screenshot of the page and checks it: not blank, and at each node of the graph the fill of the outcome the
 * node claims. Returns the PNG.
 */
async function checkScreenshot(page: Page, nodes: Awaited<ReturnType<typeof graphNodes>>): Promise<Buffer> {
  const png = await page.screenshot({ fullPage: false })
  const bitmap = decodePng(png)
  expect(bitmap.width).toBeGreaterThan(0)
  expect(distinctColors(bitmap)).toBeGreaterThan(50)
  const checked = nodes.filter((node) => node.x < bitmap.width && node.y < bitmap.height)
  expect(checked.length).toBeGreaterThan(0)
  for (const node of checked) {
    const expected = outcomeColors[node.outcome as ShapeOutcome].fill
    const seen = colorAt(bitmap, node.x, node.y)
    expect(closeColors(seen, expected), `${node.name}: ${seen} where ${expected} (${node.outcome}) belongs`).toBe(true)
  }
  return png
}

async function expectNoNetwork(opened: Awaited<ReturnType<ReportBrowser['open']>>): Promise<void> {
  expect(opened.requests.filter((url) => url !== opened.url)).toEqual([])
  expect(await opened.violations()).toEqual([])
}

describe('the run report in Chromium', () => {
  it('shows the demo: every run in the graph and the timeline, coloured by how it ended, details on click', async () => {
    const html = renderRunReport(await creditRecords(), { title: 'Credit analysis' })
    const opened = await browser.open(html, 'demo')
    const { page } = opened

    expect(await page.title()).toBe('Credit analysis · tinyllm run report')
    const nodes = await graphNodes(page)
    expect(
      nodes
        .filter((node) => !node.group)
        .map((node) => node.name)
        .sort(),
    ).toEqual(
      ['Application', 'Approval', 'EmailNotification', 'FurtherAnalysis', 'Outcome', 'Role', 'openai_chat'].sort(),
    )
    expect(
      nodes
        .filter((node) => node.group)
        .map((node) => node.name)
        .sort(),
    ).toEqual(['Bad credit analysis', 'Credit analysis', 'CreditClassification', 'Loan Classifier Template'].sort())
    for (const node of nodes) expect(node.outcome, node.name).toBe('complete')
    expect(nodes.find((node) => node.name === 'openai_chat')?.runs).toBe(2)
    expect(await page.locator('.run-graph .group[data-name="CreditClassification"] text').textContent()).toContain(
      'good ×1, bad ×1',
    )
    expect(await page.locator('.run-graph .edge').count()).toBeGreaterThanOrEqual(6)

    // Two trees of 8 and 10 runs: a row each, in tree order, all complete.
    const rows = page.locator('.timeline .row')
    expect(await rows.count()).toBe(18)
    expect(await page.locator('.timeline .row[data-status="complete"]').count()).toBe(18)
    expect(await rows.nth(0).locator('.name').textContent()).toBe('Credit analysis')
    expect(await rows.nth(1).locator('.name').textContent()).toBe('CreditClassification')
    for (let index = 0; index < 18; index++) {
      const width = await rows
        .nth(index)
        .locator('.bar')
        .evaluate((bar) => bar.getBoundingClientRect().width)
      expect(width).toBeGreaterThan(0)
    }

    await page.locator('.timeline .row', { hasText: 'openai_chat' }).first().click()
    const details = page.locator('.details-body')
    expect(await details.locator('h2').textContent()).toBe('openai_chat')
    expect(await details.textContent()).toContain('tokens53 (in 52, out 1) in 1 call')
    expect(await details.locator('h3:text-is("Input") + pre').textContent()).toContain('"messages"')
    expect(await details.locator('h3:text-is("Output") + pre').textContent()).toBe('good')
    expect(await details.locator('ol li').allTextContents()).toEqual([
      expect.stringMatching(/^init /),
      expect.stringMatching(/^input_validation /),
      expect.stringMatching(/^running .*\(attempt 1\)$/),
      expect.stringMatching(/^output_validation /),
      expect.stringMatching(/^processing_output /),
      expect.stringMatching(/^complete /),
    ])

    // A node of the graph selects its runs.
    await page.locator('.run-graph .node[data-name="Approval"]').click()
    expect(await page.locator('.timeline .row:visible').count()).toBe(1)
    expect(await details.locator('h2').textContent()).toBe('Approval')

    await page.locator('.toolbar button[data-filter="all"]').click()
    const png = await checkScreenshot(page, nodes)
    if (process.env.TINYLLM_UPDATE_SCREENSHOT === '1') {
      await writeFile(fileURLToPath(new URL('../../../docs/run-report.png', import.meta.url)), png)
    }
    await expectNoNetwork(opened)
    await page.close()
  })

  it('shows a 1,000-run batch: folded nodes with counts, every run a row, retries with their reasons', async () => {
    const record = await batchRecord(1000)
    const opened = await browser.open(renderRunReport(record), 'batch')
    const { page } = opened

    const nodes = await graphNodes(page)
    const byName = (name: string) => nodes.find((node) => node.name === name)!
    expect(nodes.map((node) => node.name).sort()).toEqual(
      ['Classify all', 'ClassifyApplication', 'Label', 'Underwriting prompt', 'openai_chat'].sort(),
    )
    expect(byName('openai_chat')).toMatchObject({ runs: 1000, outcome: 'complete' })
    expect(byName('Label')).toMatchObject({ runs: 1000, outcome: 'mixed' })
    expect(byName('ClassifyApplication')).toMatchObject({ runs: 1000, outcome: 'mixed', group: true })
    expect(byName('Classify all')).toMatchObject({ runs: 1, outcome: 'complete' })
    expect(
      await page.locator('.run-graph .node[data-name="openai_chat"] .swatch').getAttribute('stroke-dasharray'),
    ).not.toBeNull()

    // 1 + 1,000 × (chain, prompt, call, label) rows; 10 applications fail in their Decision, 40 calls are retried.
    expect(await page.locator('.timeline .row').count()).toBe(4001)
    expect(await page.locator('.timeline .row[data-status="failed"]').count()).toBe(20)
    expect(await page.locator('.timeline .row[data-retried]').count()).toBe(40)
    const waits = page.locator('.timeline .wait')
    expect(await waits.count()).toBe(40)
    expect(await waits.first().getAttribute('title')).toMatch(/^attempt 1 failed: ProviderCallError.*server overloaded/)

    await page.locator('.toolbar button[data-filter="failed"]').click()
    expect(await page.locator('.timeline .row:visible').count()).toBe(20)
    await page.locator('.timeline .row:visible[data-status="failed"]', { hasText: 'Label' }).first().click()
    const details = page.locator('.details-body')
    expect(await details.locator('.error').textContent()).toMatch(
      /^DecisionError in running: .*"perhaps" is not one of the choices \[good, review, bad\]/,
    )
    await page.locator('.toolbar button[data-filter="retried"]').click()
    await page.locator('.timeline .row:visible', { hasText: 'openai_chat' }).first().click()
    expect(await details.textContent()).toContain('attempt 1 failed; waited')

    await page.locator('.toolbar button[data-filter="all"]').click()
    await checkScreenshot(page, nodes)
    await expectNoNetwork(opened)
    await page.close()
  })

  it('opens a trace too big for the graph: a note in its place, the timeline and details work', async () => {
    const record = await new Chain({
      name: 'Long',
      children: Array.from({ length: 1_000 }, (_, index) =>
        defineFunction({ name: `Step ${index}`, run: (value: number) => value + 1 }),
      ),
    }).trace(0)
    const opened = await browser.open(renderRunReport(record), 'graph-omitted')
    const { page } = opened

    expect(await page.locator('.run-graph').count()).toBe(0)
    expect(await page.locator('.graph-omitted').textContent()).toMatch(/^Graph omitted: 1,001 nodes, more than /)
    expect(await page.locator('.timeline .row').count()).toBe(1001)
    expect(await page.locator('.details-body h2').textContent()).toBe('Long')
    await page.locator('.timeline .row[data-index="500"]').click()
    const details = page.locator('.details-body')
    expect(await details.locator('h2').textContent()).toBe('Step 499')
    expect(await details.locator('h3:text-is("Output") + pre').textContent()).toBe('500')
    await expectNoNetwork(opened)
    await page.close()
  })

  it('lists the first and last states and retries of a run retried a thousand times, saying how many are between', async () => {
    const record = await defineFunction({
      name: 'Stubborn',
      run: () => {
        throw new Error('socket closed')
      },
      retry: { attempts: 1_000, initialDelayMs: 0, maxDelayMs: 0, jitter: 0, retryable: () => true },
    }).trace(undefined)
    const opened = await browser.open(renderRunReport(record), 'many-attempts')
    const { page } = opened
    const details = page.locator('.details-body')
    expect(await details.locator('h2').textContent()).toBe('Stubborn')
    const states = await details.locator('h3:text-is("States") + ol > li').allTextContents()
    expect(states).toHaveLength(101)
    expect(states[50]).toBe(`… ${record.states.length - 100} more states`)
    expect(states.at(-1)).toMatch(/^failed \+/)
    const retries = await details.locator('h3:text-is("Retries") + ol > li').allTextContents()
    expect(retries).toHaveLength(51)
    expect(retries[25]).toBe('… 949 more retries')
    expect(retries.at(-1)).toMatch(/^attempt 999 failed/)
    await expectNoNetwork(opened)
    await page.close()
  })

  it('opens a report of 10,000 runs: a row each, one node counting them, the failed filter and the node select theirs', async () => {
    const step = defineFunction({
      name: 'Step',
      run: (value: number) => {
        if (value % 1_000 === 7) throw new Error(`no ${value}`)
        return value
      },
    })
    const records = []
    for (let index = 0; index < 10_000; index++) records.push(await step.trace(index))
    const opened = await browser.open(renderRunReport(records), 'ten-thousand')
    const { page } = opened

    expect(await page.locator('header .summary').textContent()).toContain('10,000 runs')
    const nodes = await graphNodes(page)
    expect(nodes).toHaveLength(1)
    expect(nodes[0]).toMatchObject({ name: 'Step', runs: 10_000, outcome: 'mixed' })
    expect(await page.locator('.timeline .row').count()).toBe(10_000)
    // The page opens on a failed run.
    expect(await page.locator('.details-body .error').textContent()).toMatch(/^FunctionError in running: .*no 7/)
    await page.locator('.toolbar button[data-filter="failed"]').click()
    expect(await page.locator('.timeline .row:visible').count()).toBe(10)
    await page.locator('.run-graph .node[data-name="Step"]').click()
    expect(await page.locator('.timeline .row:visible').count()).toBe(10_000)
    await expectNoNetwork(opened)
    await page.close()
  })

  it('says how many runs of a selected node maxRows left out of the timeline, all of them or some', async () => {
    const record = await new Chain({
      name: 'Pipeline',
      children: [
        new Parallel({ name: 'Many', map: defineFunction({ name: 'One', run: (n: number) => n }) }),
        defineFunction({ name: 'Last', run: (list: number[]) => list.length }),
      ],
    }).trace(Array.from({ length: 30 }, (_, index) => index))
    const opened = await browser.open(renderRunReport(record, { maxRows: 10 }), 'past-max-rows')
    const { page } = opened
    const note = page.locator('.timeline-section .shape-note')
    expect(await note.isVisible()).toBe(false)
    await page.locator('.run-graph [data-name="Last"]').click()
    expect(await page.locator('.timeline .row:visible').count()).toBe(0)
    expect(await note.textContent()).toBe('The 1 run of Last is past maxRows (10): the timeline lists none of it.')
    await page.locator('.run-graph [data-name="One"]').click()
    expect(await page.locator('.timeline .row:visible').count()).toBe(8)
    expect(await note.textContent()).toBe('22 of the 30 runs of One are past maxRows (10): the timeline lists 8.')
    // A group's corner: its middle is its children's.
    await page.locator('.run-graph [data-name="Pipeline"]').click({ position: { x: 4, y: 4 } })
    expect(await page.locator('.timeline .row:visible').count()).toBe(1)
    expect(await note.isVisible()).toBe(false)
    await page.locator('.run-graph [data-name="Last"]').click()
    await page.locator('.toolbar button[data-filter="all"]').click()
    expect(await note.isVisible()).toBe(false)
    expect(await page.locator('.timeline .row:visible').count()).toBe(10)
    await expectNoNetwork(opened)
    await page.close()
  })

  it('notices a page that does make a request (the check above is not vacuous)', async () => {
    const opened = await browser.open('<!doctype html><img src="http://127.0.0.1:9/pixel.png">', 'leaky')
    expect(opened.requests).toContain('http://127.0.0.1:9/pixel.png')
    await opened.page.close()
  })

  it('paints a failed run red, in the graph and in the timeline', async () => {
    const records = await creditRecords({ failing: true })
    const opened = await browser.open(renderRunReport(records[1]!), 'failed')
    const { page } = opened
    const nodes = await graphNodes(page)
    expect(nodes.find((node) => node.name === 'openai_chat')?.outcome).toBe('failed')
    expect(nodes.find((node) => node.name === 'Credit analysis')?.outcome).toBe('failed')
    expect(nodes.find((node) => node.name === 'Role')?.outcome).toBe('complete')
    expect(await page.locator('.timeline .row[data-status="failed"]').count()).toBe(3)
    expect(await page.locator('.details-body h2').textContent()).toBe('Credit analysis')
    await checkScreenshot(page, nodes)
    await expectNoNetwork(opened)
    await page.close()
  })
})
