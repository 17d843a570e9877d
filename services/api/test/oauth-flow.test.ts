import t from 'tap'
import { AGENCY, approve, claimCodeOn, connect, HARBOR, marketplaceInstall, pathOf, setup, startFlow, SUNRISE } from './connect-flow.ts'

t.test('the whole flow connects a client; status shows the location and no token; the database holds only ciphertext', async (t) => {
  const api = await setup(t)
  const { page } = await connect(api, 'client-1')
  t.equal(page.statusCode, 200)
  t.match(page.body, 'GoHighLevel connected to Sunrise Dental')
  t.match(page.headers['content-security-policy'], /script-src 'nonce-/)
  t.match(page.body, /postMessage\(message, origin\)/)

  const status = await api.app.inject({ url: '/api/ghl-oauth/status/client-1', headers: api.auth })
  const body = status.json()
  t.match(body, { connected: true, integration: { locationId: SUNRISE, locationName: 'Sunrise Dental', status: 'active', needsRefresh: false } })
  t.ok(body.integration.scopes.includes('conversations/message.write'))
  t.ok(Date.parse(body.integration.expiresAt) > Date.now() + 86_000_000, 'expires in about a day')
  t.notMatch(status.body, /access|refresh_?token/i)

  const token = await api.app.inject({ url: '/api/ghl-oauth/token/client-1', headers: api.auth })
  t.equal(token.statusCode, 200)
  const { accessToken } = token.json()
  const [raw] = await api.db.sql`select access_token, refresh_token from ghl_integrations where client_id = 'client-1' and is_active`
  t.notMatch(raw!.access_token, accessToken)
  t.match(raw!.access_token, /^v1\.k1\./)
  t.match(raw!.refresh_token, /^v1\.k1\./)
  t.equal(api.sandbox.control.stats().codeExchanges, 1)
})

t.test('connecting again replaces the active integration; disconnect erases the tokens', async (t) => {
  const api = await setup(t)
  await connect(api, 'client-2', SUNRISE)
  const again = await connect(api, 'client-2', HARBOR)
  t.match(again.page.body, 'GoHighLevel connected to Harbor Plumbing')
  const rows = await api.db.sql`select location_id, is_active, access_token is null as erased from ghl_integrations where client_id = 'client-2' order by created_at`
  t.same(rows.map((r) => ({ ...r })), [
    { location_id: SUNRISE, is_active: false, erased: true },
    { location_id: HARBOR, is_active: true, erased: false },
  ])
  const gone = await api.app.inject({ method: 'DELETE', url: '/api/ghl-oauth/integrations/client-2', headers: api.auth })
  t.equal(gone.statusCode, 204)
  const [left] = await api.db.sql`select count(*)::int as n from ghl_integrations where client_id = 'client-2' and (access_token is not null or refresh_token is not null)`
  t.equal(left!.n, 0)
  t.same((await api.app.inject({ url: '/api/ghl-oauth/status/client-2', headers: api.auth })).json(), { connected: false, integration: null })
})

t.test('a replayed state, an unknown state, a missing cookie and another browser\'s cookie are refused', async (t) => {
  const api = await setup(t)
  const first = await connect(api, 'client-3')
  t.equal(first.page.statusCode, 200)
  const replay = await api.app.inject({ url: pathOf(first.callbackUrl), headers: { cookie: first.cookie } })
  t.equal(replay.statusCode, 400)
  t.match(replay.body, 'already used or has expired')
  t.match(replay.body, 'state_invalid')

  const unknown = await api.app.inject({ url: '/api/ghl-oauth/callback?code=abc&state=AAAAAAAAAAAAAAAAAAAAAAAA', headers: { cookie: first.cookie } })
  t.equal(unknown.statusCode, 400)
  t.match(unknown.body, 'state_invalid')

  const a = await startFlow(api, 'client-3')
  const noCookie = await api.app.inject({ url: pathOf(await approve(a.chooseLocationUrl, SUNRISE)) })
  t.equal(noCookie.statusCode, 400)
  t.match(noCookie.body, 'cookie_missing')

  const b = await startFlow(api, 'client-3')
  const c = await startFlow(api, 'client-3')
  const crossed = await api.app.inject({ url: pathOf(await approve(b.chooseLocationUrl, SUNRISE)), headers: { cookie: c.cookie } })
  t.equal(crossed.statusCode, 403)
  t.match(crossed.body, 'started in another browser')

  const d = await startFlow(api, 'client-3')
  const forged = await api.app.inject({ url: pathOf(await approve(d.chooseLocationUrl, SUNRISE)), headers: { cookie: `${d.cookie}x` } })
  t.equal(forged.statusCode, 403, 'a cookie with a broken signature is foreign')
  t.equal(api.sandbox.control.stats().codeExchanges, 1, 'no refused callback spent a code')
})

t.test('a reused authorization code is refused with a page saying so', async (t) => {
  const api = await setup(t)
  const first = await connect(api, 'client-4')
  const code = new URL(first.callbackUrl).searchParams.get('code')!
  const fresh = await startFlow(api, 'client-4')
  const state = new URL(await approve(fresh.chooseLocationUrl, SUNRISE)).searchParams.get('state')!
  const reused = await api.app.inject({ url: `/api/ghl-oauth/callback?code=${encodeURIComponent(code)}&state=${state}`, headers: { cookie: fresh.cookie } })
  t.equal(reused.statusCode, 400)
  t.match(reused.body, 'This approval was already used or has expired')
})

t.test('declining in HighLevel, an agency token and a missing scope each get a page a person can act on', async (t) => {
  const api = await setup(t)
  const flow = await startFlow(api, 'client-5')
  const state = new URL(flow.chooseLocationUrl).searchParams.get('state')!
  const denied = await api.app.inject({ url: `/api/ghl-oauth/callback?error=access_denied&state=${state}`, headers: { cookie: flow.cookie } })
  t.equal(denied.statusCode, 400)
  t.match(denied.body, 'You declined access in HighLevel')

  // An app without the agency scopes cannot act for an agency (agency installs: agency-installs.test.ts).
  const noAgencyScopes = await setup(t, { GHL_SCOPES: 'conversations/message.write conversations/message.readonly contacts.readonly contacts.write locations.readonly' })
  const agency = await connect(noAgencyScopes, 'client-5', AGENCY)
  t.equal(agency.page.statusCode, 400)
  t.match(agency.page.body, 'Choose a sub-account, not the agency')

  const narrow = await setup(t, { GHL_SCOPES: 'contacts.readonly locations.readonly' })
  const scoped = await connect(narrow, 'client-5')
  t.equal(scoped.page.statusCode, 400)
  t.match(scoped.page.body, 'granted access without conversations/message.write')
  t.same((await narrow.app.inject({ url: '/api/ghl-oauth/status/client-5', headers: narrow.auth })).json(), { connected: false, integration: null })
})

t.test('wrong client credentials and an unregistered redirect URI are explained', async (t) => {
  const api = await setup(t, { GHL_CLIENT_SECRET: 'not-the-sandbox-secret' })
  const badClient = await connect(api, 'client-6')
  t.equal(badClient.page.statusCode, 400)
  t.match(badClient.page.body, 'GHL_CLIENT_ID or GHL_CLIENT_SECRET does not match')

  const other = await setup(t)
  const flow = await startFlow(other, 'client-6')
  const callbackUrl = await approve(flow.chooseLocationUrl, SUNRISE)
  other.sandbox.control.configure({ redirectUris: ['https://crm.example/registered'] })
  const page = await other.app.inject({ url: pathOf(callbackUrl), headers: { cookie: flow.cookie } })
  t.equal(page.statusCode, 400)
  t.match(page.body, 'must equal GHL_REDIRECT_URI exactly')
})

t.test('an install from the marketplace (no state) stays unclaimed until the CRM claims it with the claim code', async (t) => {
  const api = await setup(t)
  const page = await marketplaceInstall(api, HARBOR)
  t.equal(page.statusCode, 200)
  t.match(page.body, 'Return to your CRM to finish connecting')
  t.match(page.body, 'Harbor Plumbing')
  const claimCode = claimCodeOn(page.body)

  const claim = (locationId: string) => api.app.inject({ method: 'POST', url: '/api/ghl-oauth/claims', headers: api.auth, payload: { clientId: 'client-7', locationId, claimCode } })
  t.equal((await claim('unknownLocation')).statusCode, 404)
  const claimed = await claim(HARBOR)
  t.equal(claimed.statusCode, 200)
  t.match(claimed.json(), { connected: true, integration: { locationId: HARBOR, locationName: 'Harbor Plumbing' } })
  t.equal((await api.app.inject({ url: '/api/ghl-oauth/token/client-7', headers: api.auth })).statusCode, 200)
})

t.test('twenty concurrent manual refreshes of an expired token: one refresh reaches HighLevel, all answer the new expiry', async (t) => {
  const api = await setup(t)
  await connect(api, 'client-8')
  await api.db.sql`update ghl_integrations set expires_at = now() - interval '1 minute' where client_id = 'client-8'`
  const before = api.sandbox.control.stats().refreshes
  const answers = await Promise.all(Array.from({ length: 20 }, () =>
    api.app.inject({ method: 'POST', url: '/api/ghl-oauth/refresh/client-8', headers: api.auth })))
  t.same([...new Set(answers.map((a) => a.statusCode))], [200])
  const expiries = new Set(answers.map((a) => a.json().integration.expiresAt))
  t.equal(expiries.size, 1, 'every caller sees the same new expiry')
  t.ok(Date.parse([...expiries][0]) > Date.now() + 86_000_000)
  t.equal(api.sandbox.control.stats().refreshes - before, 1)
  t.equal(api.sandbox.control.stats().invalidGrants, 0)
})

t.test('the token route refreshes an expiring token through the locked path and never hands out the refresh token', async (t) => {
  const api = await setup(t)
  await connect(api, 'client-9')
  await api.db.sql`update ghl_integrations set expires_at = now() + interval '1 minute' where client_id = 'client-9'`
  const answers = await Promise.all(Array.from({ length: 5 }, () => api.app.inject({ url: '/api/ghl-oauth/token/client-9', headers: api.auth })))
  t.equal(new Set(answers.map((a) => a.json().accessToken)).size, 1)
  t.same(Object.keys(answers[0]!.json()).sort(), ['accessToken', 'expiresAt', 'locationId'])
  t.equal(api.sandbox.control.stats().refreshes, 1)
})

t.test('a dead refresh token marks the client needs_reauth; a paused location keeps its token and backs off', async (t) => {
  const api = await setup(t)
  await connect(api, 'client-10', SUNRISE)
  api.sandbox.control.revokeTokens(SUNRISE, { refreshTokens: true })
  const dead = await api.app.inject({ method: 'POST', url: '/api/ghl-oauth/refresh/client-10', headers: api.auth })
  t.equal(dead.statusCode, 409)
  t.match(dead.json(), { error: 'needs_reauth', message: /reconnect GoHighLevel/ })
  t.match((await api.app.inject({ url: '/api/ghl-oauth/status/client-10', headers: api.auth })).json(),
    { connected: false, integration: { status: 'needs_reauth' } })

  await connect(api, 'client-11', HARBOR)
  api.sandbox.control.setLocationActive(HARBOR, false)
  const paused = await api.app.inject({ method: 'POST', url: '/api/ghl-oauth/refresh/client-11', headers: api.auth })
  t.equal(paused.statusCode, 409)
  t.match(paused.json(), { error: 'location_inactive' })
  t.ok(Number(paused.headers['retry-after']) > 0)
  const again = await api.app.inject({ method: 'POST', url: '/api/ghl-oauth/refresh/client-11', headers: api.auth })
  t.equal(again.statusCode, 503, 'while cooling down HighLevel is not called again')
  t.equal(api.sandbox.control.stats().locationInactive, 1)
  const [row] = await api.db.sql`select status, refresh_token is not null as kept from ghl_integrations where client_id = 'client-11' and is_active`
  t.same({ ...row }, { status: 'location_inactive', kept: true })
})

t.test('an UNINSTALL webhook from the sandbox deactivates that location\'s integration', async (t) => {
  const api = await setup(t)
  await connect(api, 'client-12', SUNRISE)
  const address = await api.app.listen({ host: '127.0.0.1', port: 0 })
  const delivered = await api.sandbox.control.sendWebhook({ url: `${address}/api/ghl-oauth/webhooks`, type: 'UNINSTALL', locationId: SUNRISE })
  t.match(delivered, { status: 200 })
  const [row] = await api.db.sql`select is_active, access_token from ghl_integrations where client_id = 'client-12'`
  t.same({ ...row }, { is_active: false, access_token: null })
})

t.test('a browser route answers a page, not JSON, when PostgreSQL is down', async (t) => {
  const api = await setup(t, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' })
  const link = (await api.app.inject({ method: 'POST', url: '/api/ghl-oauth/connect-links', headers: api.auth, payload: { clientId: 'client-13' } })).json()
  const page = await api.app.inject({ url: pathOf(link.connectPageUrl) })
  t.equal(page.statusCode, 503)
  t.match(page.headers['content-type'], 'text/html')
  t.match(page.body, 'service_unavailable')
  t.notMatch(page.body, /at .+\.ts:\d+/, 'no stack trace')
  const status = await api.app.inject({ url: '/api/ghl-oauth/status/client-13', headers: api.auth })
  t.equal(status.statusCode, 503)
  t.match(status.json(), { error: 'service_unavailable' })
})
