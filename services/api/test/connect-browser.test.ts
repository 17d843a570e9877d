/**
 * The connect flow as a person does it, in headless Chromium: open the Connect page, click
 * Connect, approve in the sandbox's popup, and see the opener say where it is connected.
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import { freePort } from '@ghl-connect/testing'
import { buildTestApiWithSandbox } from './helper.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

t.test('open /connect, click Connect, approve in the popup: the opener shows "Connected to Sunrise Dental"', { skip: !process.env.CI && !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, async (t) => {
  const port = await freePort()
  const appUrl = `http://127.0.0.1:${port}`
  const api = await buildTestApiWithSandbox(t, { APP_URL: appUrl, CRM_ORIGIN: appUrl, PORT: String(port) })
  await api.app.listen({ host: '127.0.0.1', port })

  const link = (await api.app.inject({ method: 'POST', url: '/api/ghl-oauth/connect-links', headers: api.auth, payload: { clientId: 'browser-client' } })).json()
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  await page.goto(link.connectPageUrl)
  t.equal(await page.textContent('#status'), 'Not connected')

  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#connect')])
  await popup.waitForSelector('[data-testid="allow-sbxLocation000000001"]')
  await popup.click('[data-testid="allow-sbxLocation000000001"]')
  await page.waitForSelector('#status[data-connected="true"]', { timeout: 15_000 })
  t.equal(await page.textContent('#status'), 'Connected to Sunrise Dental')
  await popup.waitForEvent('close', { timeout: 5000 }).catch(() => {})
  t.ok(popup.isClosed(), 'the popup closed itself')

  const reloaded = await browser.newPage()
  await reloaded.goto(link.connectPageUrl)
  t.equal(await reloaded.textContent('#status'), 'Connected to Sunrise Dental', 'the page shows the stored status on load')

  const [row] = await api.db.sql`select access_token, refresh_token from ghl_integrations where client_id = 'browser-client' and is_active`
  const token = (await api.app.inject({ url: '/api/ghl-oauth/token/browser-client', headers: api.auth })).json().accessToken
  t.match(row!.access_token, /^v1\.k1\./)
  t.notMatch(row!.access_token, token)
  t.match(row!.refresh_token, /^v1\.k1\./)
})
