/*
 * The investigation page in a real headless browser (Debian's chromium, driven by playwright-core;
 * nothing is downloaded): against paritygate in front of the demo's v1 and v2, the page shows the
 * verdict and routes, follows traffic without a reload, opens a mismatch with both bodies and the
 * differing path highlighted, stops mirroring with the kill switch, and opens a deep link to a
 * sample. It takes the README's screenshots on the way: into docs/images with UPDATE_SCREENSHOTS=1,
 * otherwise into a temporary folder (a test run leaves the checkout as it was).
 */
import { ok, strictEqual } from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { chromium, type Page } from 'playwright-core'
import { request } from 'undici'
import { startDemoService } from '../../src/demo/services.ts'
import { eventually, metric } from '../mirror/helpers.ts'
import { ROOT } from '../helpers/cli.ts'
import { startProxy } from '../helpers/proxy.ts'

const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs/images') : join(tmpdir(), `paritygate-shots-${process.pid}`)

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

test('the page should show the verdict and routes, follow traffic, open a mismatch side by side, stop mirroring and open a deep link', { timeout: 60_000 }, async (t) => {
  ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-chromium.sh (apt-get install chromium) to run the page's browser test`)
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-ui.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' })
  strictEqual(built.status, 0, `the page's bundle: ${built.stderr}`)

  const v1 = await startDemoService(false)
  const v2 = await startDemoService(true)
  t.after(() => { for (const s of [v1, v2]) { s.server.closeAllConnections(); s.server.close() } })
  const proxy = await startProxy(t, {
    primary: { url: v1.url },
    candidate: { url: v2.url },
    mirror: { percent: 100 },
    noise: { percent: 20 },
    gate: { window: '5m', minLatencySamples: 20 },
    routes: [{ name: 'get-order', match: 'GET /orders/:id', compare: { unordered: ['$.items'] } }]
  })

  // The page is small, self-contained and served with a strict policy.
  let size = 0
  for (const path of ['/', '/ui/app.js', '/ui/app.css']) {
    const res = await request(`${proxy.admin}${path}`)
    const body = await res.body.text()
    strictEqual(res.statusCode, 200, path)
    ok(String(res.headers['content-security-policy']).includes("default-src 'none'"), path)
    ok(!/https?:\/\/(?!127\.0\.0\.1)[a-z]/i.test(body.replace(/http:\/\/www\.w3\.org\/[^"']*/g, '')), `${path} loads nothing from elsewhere`)
    size += body.length
  }
  ok(size < 500 * 1024, `${size} bytes`)

  const profile = mkdtempSync(join(tmpdir(), 'paritygate-chromium-'))
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, viewport: { width: 1360, height: 900 }, colorScheme: 'light' })
  t.after(async () => {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  })
  const problems: string[] = []
  const watch = (page: Page) => {
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`) })
    page.on('pageerror', (err) => problems.push(`page: ${err.message}`))
  }
  const page = context.pages()[0] ?? await context.newPage()
  watch(page)
  await page.goto(`${proxy.admin}/#/?w=5m`)
  await page.getByText('Verdict over 5m').waitFor({ timeout: 5000 })
  await page.getByText('No traffic in the window yet.').waitFor({ timeout: 5000 })

  // Traffic arrives: the open page follows it (no reload).
  const drive = async (from: number, count: number) => {
    for (let i = from; i < from + count; i++) {
      await (await request(`${proxy.url}/orders/${i}`)).body.dump()
      if (i % 4 === 0) await (await request(`${proxy.url}/users/${1000 + i}`)).body.dump()
    }
  }
  await drive(1, 60)
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="get-order",outcome="mismatch"}') + await metric(proxy, 'paritygate_comparisons_total{route="get-order",outcome="noise"}') === 60, 5000))
  await page.locator('table.routes').getByRole('link', { name: 'get-order' }).waitFor({ timeout: 5000 })
  await page.locator('table.routes').getByRole('link', { name: 'GET /users/:id' }).waitFor({ timeout: 5000 })
  await page.locator('.check').first().waitFor()
  await page.waitForTimeout(2500) // one more refresh: the charts hold the new buckets
  mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true })

  // A route's fields: $.total is a real difference; its path opens a sample with both bodies.
  await page.locator('table.routes').getByRole('link', { name: 'get-order' }).click()
  const total = page.locator('table.fields').getByRole('link', { name: '.total' })
  await total.waitFor({ timeout: 5000 })
  await total.click()
  await page.getByText('Differing path').waitFor({ timeout: 5000 })
  ok(page.url().includes('#/sample/'), page.url())
  for (const side of ['Primary (v1) body', 'Candidate (v2) body']) {
    const line = page.getByLabel(side).locator('.line.diff[data-path="$.total"]')
    strictEqual(await line.count(), 1, `${side}: $.total highlighted`)
  }
  const row = page.locator('table.diffs tr', { hasText: '$.total' })
  const cells = await row.locator('td').allInnerTexts()
  ok(/^\d+(\.\d+)?$/.test(cells[2]) && /^\d+(\.\d+)?$/.test(cells[3]) && cells[2] !== cells[3], `both values: ${cells.join(' | ')}`)
  const v1Line = await page.getByLabel('Primary (v1) body').locator('.line.diff[data-path="$.total"]').innerText()
  ok(v1Line.includes(cells[2]), `${v1Line} shows ${cells[2]}`)
  await page.screenshot({ path: join(SHOTS, 'sample.png'), fullPage: true })

  // The deep link survives a reload and a new tab.
  const link = page.url()
  const other = await context.newPage()
  watch(other)
  await other.goto(link)
  await other.getByText('Differing path').waitFor({ timeout: 5000 })
  strictEqual(await other.getByLabel('Candidate (v2) body').locator('.line.diff[data-path="$.total"]').count(), 1)
  await other.close()

  // The kill switch stops mirroring: the next requests are decided `disabled`, none mirrored.
  await page.goto(`${proxy.admin}/#/?w=5m`)
  await page.getByRole('button', { name: /kill switch/ }).click()
  await page.locator('[data-testid="mirror-state"]', { hasText: 'OFF' }).waitFor({ timeout: 5000 })
  strictEqual(proxy.app.proxyState.mirror?.state.enabled, false)
  const mirrored = await metric(proxy, 'paritygate_mirror_decisions_total{route="get-order",decision="mirrored"}')
  await drive(100, 10)
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="get-order",decision="mirrored"}'), mirrored)
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="get-order",decision="disabled"}'), 10)

  strictEqual(problems.length, 0, problems.join('\n'))
})
