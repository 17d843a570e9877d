import t, { type Test } from 'tap'
import type { AddressInfo } from 'node:net'
import { AGENCY, CALLBACK_URL, connect, setup } from './connect-flow.ts'
import { eventually, type TestApiWithSandbox } from './helper.ts'

const COMPANY = 'sbxCompany0000000002'

/** The seeded agency location plus two more sub-accounts with the app installed, and one without it. */
function agencyOfThree (api: TestApiWithSandbox) {
  const { control } = api.sandbox
  const east = control.addCompanyLocation(COMPANY, { name: 'Northwind East', agencyInstall: true })
  const west = control.addCompanyLocation(COMPANY, { name: 'Northwind West', agencyInstall: true })
  const bare = control.addCompanyLocation(COMPANY, { name: 'Northwind Without The App', agencyInstall: false })
  return { east: east.id, west: west.id, bare: bare.id, all: [AGENCY, east.id, west.id] }
}

/** What the picker page offers: its pick token and the sub-accounts, by their buttons. */
function pickerOf (html: string) {
  const pick = /name="pick" value="([^"]+)"/.exec(html)?.[1]
  const offered = [...html.matchAll(/id="pick-([A-Za-z0-9]+)"/g)].map((m) => m[1]!)
  const codes = Object.fromEntries([...html.matchAll(/data-location-id="([A-Za-z0-9]+)">[^<]*<code class="claim-code">([^<]+)<\/code>/g)].map((m) => [m[1]!, m[2]!]))
  return { pick, offered, codes }
}

const pickLocation = (api: TestApiWithSandbox, pick: string, locationId: string) => api.app.inject({
  method: 'POST', url: '/api/ghl-oauth/agency-pick', headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams({ pick, locationId }).toString(),
})

/** Whether HighLevel (the sandbox) takes this access token for the location. */
async function works (api: TestApiWithSandbox, locationId: string, accessToken: string | null | undefined): Promise<boolean> {
  if (!accessToken) return false
  const res = await fetch(`${api.sandbox.url}/locations/${locationId}`, { headers: { authorization: `Bearer ${accessToken}`, version: '2021-07-28' } })
  return res.status === 200
}

/** A client connected to the location by its own consent (a refresh token of its own, expired access token), which HighLevel then revokes. */
async function connectedByItsOwnConsentThenRevoked (api: TestApiWithSandbox, clientId: string, locationId: string) {
  const own = api.sandbox.control.issueTokens({ locationId, userType: 'Location' })
  await api.app.runtime.integrations.replaceActive(clientId, {
    locationId, companyId: COMPANY, locationName: 'Northwind West', userType: 'Location', scopes: String(own.scope).split(' '),
    accessToken: own.access_token, refreshToken: String(own.refresh_token), expiresAt: new Date(Date.now() - 60_000),
  })
  api.sandbox.control.revokeTokens(locationId, { refreshTokens: true })
}

async function listen (t: Test, api: TestApiWithSandbox): Promise<string> {
  await api.app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => api.app.close())
  return `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}/api/ghl-oauth/webhooks`
}

t.test('an agency approves three sub-accounts from a client\'s link: the client gets the one picked, the others are claimable, all three work, and an INSTALL for a fourth mints its token', async (t) => {
  const api = await setup(t)
  const { east, west, bare, all } = agencyOfThree(api)

  const { page } = await connect(api, 'client-a', AGENCY)
  t.equal(page.statusCode, 200, 'an agency approval is no longer refused')
  const picker = pickerOf(page.body)
  t.ok(picker.pick, 'the page carries its pick token')
  t.same(picker.offered.sort(), [...all].sort(), 'every sub-account the app is installed on, and only those, is offered')
  t.notOk(picker.offered.includes(bare))
  t.equal(api.sandbox.control.stats().locationTokens, 3, 'one location token minted per sub-account')

  const picked = await pickLocation(api, picker.pick!, east)
  t.equal(picked.statusCode, 200)
  t.match(picked.body, 'GoHighLevel connected to Northwind East')
  const status = (await api.app.inject({ url: '/api/ghl-oauth/status/client-a', headers: api.auth })).json()
  t.match(status, { connected: true, integration: { locationId: east, locationName: 'Northwind East', status: 'active' } })
  t.equal((await pickLocation(api, picker.pick!, west)).statusCode, 400, 'a pick is made once')

  const claim = await api.app.inject({
    method: 'POST', url: '/api/ghl-oauth/claims', headers: api.auth, payload: { clientId: 'client-b', locationId: west, claimCode: picker.codes[west] },
  })
  t.equal(claim.statusCode, 200, 'another sub-account is claimed with the code the page showed')
  t.match(claim.json(), { connected: true, integration: { locationId: west } })
  const unclaimed = await api.app.runtime.integrations.findByLocationId(AGENCY)
  t.equal(unclaimed?.clientId, '', 'the third waits, unclaimed')

  const tokenOf = async (clientId: string) => (await api.app.inject({ url: `/api/ghl-oauth/token/${clientId}`, headers: api.auth })).json().accessToken as string
  t.ok(await works(api, east, await tokenOf('client-a')), 'the picked sub-account\'s token works')
  t.ok(await works(api, west, await tokenOf('client-b')), 'the claimed one\'s works')
  t.ok(await works(api, AGENCY, unclaimed?.accessToken), 'the unclaimed one\'s works')

  const url = await listen(t, api)
  const south = api.sandbox.control.addCompanyLocation(COMPANY, { name: 'Northwind South', agencyInstall: true })
  const delivered = await api.sandbox.control.sendWebhook({ url, type: 'INSTALL', locationId: south.id })
  t.equal(delivered.status, 200)
  t.same(JSON.parse(delivered.responseBody), { status: 'processed' })
  const minted = await api.app.runtime.integrations.findByLocationId(south.id)
  t.match(minted, { clientId: '', companyId: COMPANY, locationName: 'Northwind South', isActive: true })
  t.ok(await works(api, south.id, minted?.accessToken), 'the fourth sub-account has a working token')

  // An agency that installs to future locations: HighLevel's INSTALL for such a location may name no company.
  const north = api.sandbox.control.addCompanyLocation(COMPANY, { name: 'Northwind North', agencyInstall: true })
  const withoutCompany = await api.sandbox.control.sendWebhook({ url, type: 'INSTALL', locationId: north.id, overrides: { companyId: undefined, userId: undefined } })
  t.notOk('companyId' in withoutCompany.payload)
  t.same(JSON.parse(withoutCompany.responseBody), { status: 'processed' })
  t.ok(await works(api, north.id, (await api.app.runtime.integrations.findByLocationId(north.id))?.accessToken))

  const foreign = api.sandbox.control.addLocation({ name: 'Someone Else', companyId: 'sbxCompanyElsewhere01' })
  const notOurs = await api.sandbox.control.sendWebhook({ url, type: 'INSTALL', locationId: foreign.id })
  t.same(JSON.parse(notOurs.responseBody), { status: 'recorded' }, 'a location of an agency we do not hold is recorded only')
  t.equal(await api.app.runtime.integrations.findByLocationId(foreign.id), null)
})

t.test('a sub-account minted through its agency renews its expired token by minting again, with no refresh token', async (t) => {
  const api = await setup(t)
  const { east } = agencyOfThree(api)
  const picker = pickerOf((await connect(api, 'client-m', AGENCY)).page.body)
  t.equal((await pickLocation(api, picker.pick!, east)).statusCode, 200)
  const before = await api.app.runtime.integrations.findByClient('client-m')
  t.equal(before?.refreshToken, null, 'HighLevel gives a minted location token no refresh token')
  await api.db.sql`update ghl_integrations set expires_at = now() - interval '1 minute' where client_id = 'client-m'`
  const minted = api.sandbox.control.stats().locationTokens
  const refreshes = api.sandbox.control.stats().refreshes

  const res = await api.app.inject({ url: '/api/ghl-oauth/token/client-m', headers: api.auth })
  t.equal(res.statusCode, 200)
  t.not(res.json().accessToken, before?.accessToken)
  t.ok(await works(api, east, res.json().accessToken))
  t.equal(api.sandbox.control.stats().locationTokens, minted + 1, 'minted again')
  t.ok(api.sandbox.control.stats().refreshes <= refreshes + 1, 'at most the agency\'s own token was refreshed')
  t.match(await api.app.runtime.integrations.findByClient('client-m'), { status: 'active', refreshToken: null })
})

t.test('a location whose refresh token HighLevel revoked recovers through a live agency token: no reconnect, connection.recovered', async (t) => {
  const api = await setup(t, { CRM_WEBHOOK_URL: 'http://127.0.0.1:9/events', CRM_WEBHOOK_SECRET: 'x'.repeat(32) })
  const { west } = agencyOfThree(api)
  // The agency's install (from the marketplace: everything unclaimed) gives us its token.
  const code = api.sandbox.control.createAuthCode({ locationId: AGENCY, redirectUri: CALLBACK_URL, scopes: [...api.app.runtime.config.ghl.scopes] })
  const installed = await api.app.inject({ url: `/api/ghl-oauth/callback?code=${encodeURIComponent(code)}` })
  t.equal(installed.statusCode, 200)
  t.match(installed.body, 'HighLevel installed the app for 3 sub-accounts')
  // The client connected West by its own consent, with a refresh token of its own.
  await connectedByItsOwnConsentThenRevoked(api, 'client-r', west)

  const res = await api.app.inject({ method: 'POST', url: '/api/ghl-oauth/refresh/client-r', headers: api.auth })
  t.equal(res.statusCode, 200, 'no needs_reauth')
  t.match(res.json(), { connected: true, integration: { locationId: west, status: 'active' } })
  const token = (await api.app.inject({ url: '/api/ghl-oauth/token/client-r', headers: api.auth })).json().accessToken
  t.ok(await works(api, west, token))
  const [row] = await api.db.sql`select count(*)::int as broken from ghl_integrations where status = 'needs_reauth'`
  t.equal(row?.broken, 0)
  const events = await api.db.sql`select type from crm_events where payload->'data'->>'clientId' = 'client-r' or payload->>'clientId' = 'client-r'`
  t.same(events.map((e) => e.type), ['connection.recovered'])
})

t.test('without a working agency token, a revoked location still needs its user to reconnect', async (t) => {
  const api = await setup(t)
  const { west } = agencyOfThree(api)
  await connectedByItsOwnConsentThenRevoked(api, 'client-x', west)
  const res = await api.app.inject({ method: 'POST', url: '/api/ghl-oauth/refresh/client-x', headers: api.auth })
  t.equal(res.statusCode, 409)
  t.match(res.json(), { error: 'needs_reauth' })
})

t.test('an agency approval without the oauth scopes is refused with what to add', async (t) => {
  const api = await setup(t, { GHL_SCOPES: 'conversations/message.write conversations/message.readonly contacts.readonly contacts.write locations.readonly' })
  const { page } = await connect(api, 'client-n', AGENCY)
  t.equal(page.statusCode, 400)
  t.match(page.body, 'oauth.readonly and oauth.write')
  t.equal(api.sandbox.control.stats().locationTokens, 0)
})

t.test('a stale, foreign or replayed pick is refused with a page; nothing is bound', async (t) => {
  const api = await setup(t)
  const { east, bare } = agencyOfThree(api)
  const picker = pickerOf((await connect(api, 'client-p', AGENCY)).page.body)
  const wrong = await pickLocation(api, picker.pick!, bare)
  t.equal(wrong.statusCode, 400)
  t.match(wrong.body, 'location_not_offered')
  t.equal((await pickLocation(api, picker.pick!, east)).statusCode, 400, 'the token was spent by the wrong pick')
  const forged = await pickLocation(api, 'A'.repeat(32), east)
  t.equal(forged.statusCode, 400)
  t.match(forged.body, 'expired')
  const junk = await api.app.inject({ method: 'POST', url: '/api/ghl-oauth/agency-pick', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'pick=&locationId=../x' })
  t.equal(junk.statusCode, 400)
  t.equal(await api.app.runtime.integrations.findByClient('client-p'), null)
})

t.test('an agency install that mints a location a client holds renews the holder: the same connection, a new working token, its own refresh token kept, no claim code', async (t) => {
  const api = await setup(t)
  const { west } = agencyOfThree(api)
  const own = api.sandbox.control.issueTokens({ locationId: west, userType: 'Location' })
  const before = await api.app.runtime.integrations.replaceActive('client-w', {
    locationId: west, companyId: COMPANY, locationName: 'Northwind West', userType: 'Location', scopes: String(own.scope).split(' '),
    accessToken: own.access_token, refreshToken: String(own.refresh_token), expiresAt: new Date(Date.now() + 3_600_000),
  })
  const code = api.sandbox.control.createAuthCode({ locationId: AGENCY, redirectUri: CALLBACK_URL, scopes: [...api.app.runtime.config.ghl.scopes] })
  const installed = await api.app.inject({ url: `/api/ghl-oauth/callback?code=${encodeURIComponent(code)}` })
  t.equal(installed.statusCode, 200)
  t.notMatch(installed.body, `data-location-id="${west}"`, 'the held location is not offered to be claimed')

  const rows = await api.db.sql`select client_id from ghl_integrations where location_id = ${west} and is_active`
  t.same(rows.map((r) => r.client_id), ['client-w'], 'no unclaimed twin')
  const after = await api.app.runtime.integrations.findByClient('client-w')
  t.equal(after?.id, before.id)
  t.not(after?.accessToken, before.accessToken, 'renewed with the minted token')
  t.ok(await works(api, west, after?.accessToken))
  t.equal(after?.refreshToken, own.refresh_token, 'its own refresh token stays')
})

t.test('an install storm: an agency approves 24 sub-accounts while their INSTALL webhooks race the callback; each is minted once, paced by the company\'s limit, none refused', async (t) => {
  // HighLevel's company limit scaled down (20 per 2 s) so the storm outruns it, and ours 14 per 2 s:
  // on a loaded machine a call can reach HighLevel a few hundred ms after taking its slot, so the
  // margin is kept wide for a 2 s window (production's 90 of 100 per 10 s has a 10 s window to absorb it).
  const api = await setup(t, { GHL_RATE_LIMIT_MAX: '14', GHL_RATE_LIMIT_INTERVAL_MS: '2000' })
  api.sandbox.control.setRateLimit({ max: 20, intervalMs: 2000 })
  const url = await listen(t, api)
  const added = Array.from({ length: 23 }, (_, i) => api.sandbox.control.addCompanyLocation(COMPANY, { name: `Storm ${i}`, agencyInstall: true }).id)
  const all = [AGENCY, ...added]

  // Approved from HighLevel's marketplace (no state), with the scopes the app asks for.
  const code = api.sandbox.control.createAuthCode({ locationId: AGENCY, redirectUri: CALLBACK_URL, scopes: [...api.app.runtime.config.ghl.scopes] })
  const callback = api.app.inject({ url: `/api/ghl-oauth/callback?code=${encodeURIComponent(code)}` }).then((r) => r)
  await eventually('the agency connection kept', () => api.app.runtime.integrations.findAgency(COMPANY).then((a) => a ?? undefined))
  // The sandbox gives up on an answer after 10 s (on a loaded machine a webhook's answer may come later): null.
  const webhooks = await Promise.all(all.map((locationId) => api.sandbox.control.sendWebhook({ url, type: 'INSTALL', locationId }).catch(() => null)))
  const page = await callback
  t.equal(page.statusCode, 200, 'the agency install completes')
  const deferred = all.filter((_, i) => webhooks[i]?.status === 429)
  t.ok(webhooks.every((w) => w === null || w.status === 200 || w.status === 429), `each webhook processed or deferred (${deferred.length} answered 429)`)
  // HighLevel delivers a 429'd webhook again (while the install minted, its webhooks waited): by then the location is held.
  const retried = await Promise.all(deferred.map((locationId) => api.sandbox.control.sendWebhook({ url, type: 'INSTALL', locationId }).catch(() => null)))
  t.ok(retried.every((w) => w === null || w.status === 200), 'a redelivered INSTALL is processed')
  // Wait for webhooks still being handled (their answer given up on) before counting.
  await eventually('every sub-account held', async () => (await Promise.all(all.map((l) => api.app.runtime.integrations.findByLocationId(l)))).every(Boolean) || undefined)
  const stats = api.sandbox.control.stats()
  t.equal(stats.locationTokens, all.length, 'one location token per sub-account')
  t.equal(stats.locationTokensRepeated, 0, 'none minted twice')
  t.equal(stats.companyRateLimited, 0, 'HighLevel refused none of the agency\'s calls')
  const codes = [...page.body.matchAll(/data-location-id="([A-Za-z0-9]+)">[^<]*<code class="claim-code">([^<]+)<\/code>/g)].map((m) => m[1]!)
  t.same(codes.sort(), [...all].sort(), 'the page shows a claim code for every sub-account, those the webhooks minted included')
  for (const locationId of all) {
    const held = await api.app.runtime.integrations.findByLocationId(locationId)
    t.ok(await works(api, locationId, held?.accessToken), `${locationId}'s token works`)
  }
})
