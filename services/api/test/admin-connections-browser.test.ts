/**
 * The connections page as ops use it, in headless Chromium: log in with the admin credentials,
 * filter to the clients that must reconnect, and follow the link to Bull Board and back.
 * Screenshots are kept in test-output/ (gitignored); docs/images/admin-connections.png is a copy.
 */
import t from 'tap'
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { buildTestApi } from './helper.ts'
import { HOSTILE_NAME, seedConnections } from './connections-fixture.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const OUTPUT = fileURLToPath(new URL('../../../test-output/', import.meta.url))

t.test('log in with basic auth, filter to needs reauth: only the broken client is listed; Bull Board links back and forth', { skip: !process.env.CI && !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, async (t) => {
  const api = await buildTestApi(t)
  const seeded = await seedConnections(api)
  const address = await api.app.listen({ host: '127.0.0.1', port: 0 })
  mkdirSync(OUTPUT, { recursive: true })

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  })
  t.teardown(() => browser.close())

  const stranger = await browser.newContext()
  t.equal((await stranger.request.get(`${address}/admin/connections`)).status(), 401, 'no credentials, no page')

  const context = await browser.newContext({
    httpCredentials: { username: api.env.ADMIN_USER ?? 'admin', password: api.env.ADMIN_PASSWORD! },
    viewport: { width: 1440, height: 900 },
  })
  const page = await context.newPage()
  const scriptErrors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') scriptErrors.push(m.text()) })
  page.on('dialog', (d) => { scriptErrors.push(`dialog: ${d.message()}`); void d.dismiss() })

  await page.goto(`${address}/admin/connections`)
  const rows = () => page.$$eval('#connections tbody tr[data-client-id]', (trs) => trs.map((tr) => tr.getAttribute('data-client-id')))
  t.same(await rows(), seeded.order, 'every connection, broken first')
  t.equal(await page.textContent('#count-needs_reauth .n'), '1')
  t.match(await page.textContent('#connections'), HOSTILE_NAME, 'the hostile name reads as text')
  await page.screenshot({ path: `${OUTPUT}admin-connections.png`, fullPage: true })

  await page.selectOption('#status', 'needs_reauth')
  await Promise.all([page.waitForURL(/status=needs_reauth/), page.click('#filter button[type="submit"]')])
  t.same(await rows(), ['client-reauth'])
  t.match(await page.textContent('#showing'), 'Showing 1–1 of 1 (needs reauth)')
  const cells = await page.$$eval('#connections tbody tr td', (tds) => tds.map((td) => td.textContent?.trim()))
  t.match(cells, ['client-reauth', /client-reauth Clinic\s*loc-client-reauth/, 'Needs reauth', /^in \d+ h/, 'never', '2', /invalid_grant.*Invalid grant: refresh token is invalid/s])
  await page.screenshot({ path: `${OUTPUT}admin-connections-needs-reauth.png`, fullPage: true })

  await page.fill('#q', 'nobody-by-this-id')
  await Promise.all([page.waitForURL(/q=nobody/), page.click('#filter button[type="submit"]')])
  t.match(await page.textContent('#connections tbody'), 'No connection matches this filter.')

  t.same(scriptErrors, [], 'no console error on the page (a CSP violation would be one), no dialog')

  await Promise.all([page.waitForURL(/\/admin\/queues/), page.click('#queues-link')])
  // Bull Board lists its misc links in the menu behind its header's last button.
  await page.locator('button[aria-haspopup="menu"]').last().click()
  await Promise.all([page.waitForURL(/\/admin\/connections$/), page.getByText('Connections', { exact: true }).click()])
  t.same(await rows(), seeded.order, 'Bull Board\'s menu leads back to the connections page')
})
