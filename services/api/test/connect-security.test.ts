/**
 * The connect flow as an attacker tries it (issue 9): a stateless code sent to a browser that is
 * connecting (login CSRF), a connect link used twice, and a marketplace install claimed without
 * the code its installer was shown. Each runs the real flow against the sandbox HighLevel.
 */
import t from 'tap'
import type { Test } from 'tap'
import type { CrmEventType } from '@ghl-connect/db'
import {
  approve, authorizeWith, CALLBACK_URL, claimCodeOn, connect, createLink, HARBOR, marketplaceInstall, pathOf, setup, startFlow, SUNRISE,
} from './connect-flow.ts'
import type { TestApiWithSandbox } from './helper.ts'

/** With a CRM webhook configured the api records events in the events outbox; no worker runs here, so they wait there. */
const WITH_CRM_EVENTS = { CRM_WEBHOOK_URL: 'http://127.0.0.1:9/crm-events', CRM_WEBHOOK_SECRET: 'crm-webhook-secret-for-tests-0123456789' }

async function crmEvents (api: TestApiWithSandbox, type: CrmEventType): Promise<Array<{ id: string, data: Record<string, unknown> }>> {
  const rows = await api.db.sql<Array<{ id: string, payload: Record<string, unknown> }>>`select id, payload from crm_events where type = ${type} order by created_at`
  return rows.map((r) => ({ id: r.id, data: r.payload }))
}

const statusOf = async (api: TestApiWithSandbox, clientId: string) =>
  (await api.app.inject({ url: `/api/ghl-oauth/status/${clientId}`, headers: api.auth })).json()

const exchanges = (api: TestApiWithSandbox) => api.sandbox.control.stats().codeExchanges

async function claim (api: TestApiWithSandbox, payload: Record<string, string>) {
  return api.app.inject({ method: 'POST', url: '/api/ghl-oauth/claims', headers: api.auth, payload })
}

t.test('login CSRF: a code without state, sent to a browser holding a state cookie, is refused and never bound to its client', async (t) => {
  const api = await setup(t)
  await connect(api, 'victim', SUNRISE)
  t.equal(exchanges(api), 1)

  // The victim starts reconnecting (live state cookie); the attacker's page sends this browser to
  // the callback with a code for the attacker's own location and no state.
  const victim = await startFlow(api, 'victim')
  const attackerCode = api.sandbox.control.createAuthCode({ locationId: HARBOR, redirectUri: CALLBACK_URL })
  const attack = await api.app.inject({ url: `/api/ghl-oauth/callback?code=${encodeURIComponent(attackerCode)}`, headers: { cookie: victim.cookie } })
  t.equal(attack.statusCode, 403)
  t.match(attack.headers['content-type'], 'text/html')
  t.match(attack.body, '<code id="code">state_missing</code>')
  t.match(attack.body, 'This approval did not come from your connection')
  t.match(attack.body, 'nothing was connected')
  t.notOk(attack.headers['set-cookie'], "the browser's own connection attempt is left alone")

  t.match(await statusOf(api, 'victim'), { connected: true, integration: { locationId: SUNRISE } }, 'still connected to its own location')
  t.equal(exchanges(api), 1, "the attacker's code was not spent")
  const [held] = await api.db.sql`select count(*)::int as n from ghl_integrations where location_id = ${HARBOR}`
  t.equal(held!.n, 0, "the attacker's location is not kept, not even unclaimed")

  const forged = await api.app.inject({ url: `/api/ghl-oauth/callback?code=${encodeURIComponent(attackerCode)}`, headers: { cookie: 'ghl_oauth=not-signed' } })
  t.equal(forged.statusCode, 403, 'a cookie that fails its signature still counts as a flow in progress')
  t.match(forged.body, 'state_missing')

  const fresh = await startFlow(api, 'fresh-victim')
  await api.app.inject({ url: `/api/ghl-oauth/callback?code=${encodeURIComponent(attackerCode)}`, headers: { cookie: fresh.cookie } })
  t.same(await statusOf(api, 'fresh-victim'), { connected: false, integration: null }, 'a client that was connecting stays unconnected')

  const own = await api.app.inject({ url: pathOf(await approve(victim.chooseLocationUrl, SUNRISE)), headers: { cookie: victim.cookie } })
  t.equal(own.statusCode, 200, "the victim's own flow still completes afterwards")
  t.equal(exchanges(api), 2)
})

t.test('a marketplace install (no state, no cookie) still arrives as an unclaimed install', async (t) => {
  const api = await setup(t)
  const page = await marketplaceInstall(api, HARBOR)
  t.equal(page.statusCode, 200)
  t.match(page.body, 'Return to your CRM to finish connecting')
  const [row] = await api.db.sql`select client_id, is_active from ghl_integrations where location_id = ${HARBOR}`
  t.same({ ...row }, { client_id: '', is_active: true })
})

t.test('a connect link that has connected a client is refused, before HighLevel and at the callback; the connection is unchanged', async (t) => {
  const api = await setup(t)
  const link = await createLink(api, 'client-once')
  // Two browsers (or one, twice) open the same link before either finishes.
  const first = await authorizeWith(api, link.url)
  const second = await authorizeWith(api, link.url)
  const connected = await api.app.inject({ url: pathOf(await approve(first.chooseLocationUrl, SUNRISE)), headers: { cookie: first.cookie } })
  t.equal(connected.statusCode, 200)

  const reopened = await api.app.inject({ url: pathOf(link.url) })
  t.equal(reopened.statusCode, 403)
  t.match(reopened.body, '<h1 class="bad" id="result">This connect link was already used</h1>')
  t.match(reopened.body, '<code id="code">link_used</code>')
  t.match(reopened.body, 'Ask your CRM for a new')
  t.notOk(reopened.headers.location, 'not sent to HighLevel')
  t.notOk(reopened.headers['set-cookie'])

  const late = await api.app.inject({ url: pathOf(await approve(second.chooseLocationUrl, HARBOR)), headers: { cookie: second.cookie } })
  t.equal(late.statusCode, 403)
  t.match(late.body, 'link_used')
  t.match(await statusOf(api, 'client-once'), { connected: true, integration: { locationId: SUNRISE } }, 'the connection is unchanged')
  t.equal(exchanges(api), 1, 'the refused callback spent no code')

  const [used] = await api.db.sql`select link_hash, client_id from used_connect_links`
  t.equal(used!.client_id, 'client-once')
  t.notMatch(link.url, used!.link_hash, 'the link itself is not stored')
})

t.test('two concurrent uses of one link: exactly one connects', async (t) => {
  const api = await setup(t)
  const link = await createLink(api, 'client-race')
  const flows = await Promise.all([authorizeWith(api, link.url), authorizeWith(api, link.url)])
  const callbacks = await Promise.all([approve(flows[0]!.chooseLocationUrl, SUNRISE), approve(flows[1]!.chooseLocationUrl, HARBOR)])
  const pages = await Promise.all(callbacks.map((url, i) => api.app.inject({ url: pathOf(url), headers: { cookie: flows[i]!.cookie } })))
  t.same(pages.map((p) => p.statusCode).sort(), [200, 403])
  t.match(pages.find((p) => p.statusCode === 403)!.body, 'link_used')
  t.equal(exchanges(api), 1, 'the loser never exchanged its code')
  const rows = await api.db.sql`select location_id from ghl_integrations where client_id = 'client-race' and is_active`
  t.equal(rows.length, 1)
})

t.test('a link whose connection failed is not spent; each /connect page mints links of its own', async (t) => {
  // Without the agency scopes, picking the agency fails the connection.
  const api = await setup(t, { GHL_SCOPES: 'conversations/message.write conversations/message.readonly contacts.readonly contacts.write locations.readonly' })
  const link = await createLink(api, 'client-retry')
  const agency = await authorizeWith(api, link.url)
  const wrongChoice = await api.app.inject({ url: pathOf(await approve(agency.chooseLocationUrl, 'sbxAgencyLoc00000001')), headers: { cookie: agency.cookie } })
  t.equal(wrongChoice.statusCode, 400, 'the agency was picked: nothing connected')
  const retry = await authorizeWith(api, link.url)
  const retried = await api.app.inject({ url: pathOf(await approve(retry.chooseLocationUrl, SUNRISE)), headers: { cookie: retry.cookie } })
  t.equal(retried.statusCode, 200, 'the same link works for the retry')

  const widgetLink = (page: string) => /id="connect-link" href="([^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&')
  const page1 = widgetLink((await api.app.inject({ url: pathOf(link.connectPageUrl) })).body)
  const page2 = widgetLink((await api.app.inject({ url: pathOf(link.connectPageUrl) })).body)
  t.not(page1, page2)
  const viaPage = await authorizeWith(api, page1)
  t.equal((await api.app.inject({ url: pathOf(await approve(viaPage.chooseLocationUrl, HARBOR)), headers: { cookie: viaPage.cookie } })).statusCode, 200)
  t.equal((await api.app.inject({ url: pathOf(page1) })).statusCode, 403, "the page's link is spent")
  t.equal((await api.app.inject({ url: pathOf(page2) })).statusCode, 403, 'and so is the page link that minted it: a page link connects once (location-holder.test.ts)')
})

t.test('a link made before links carried a nonce still works, once', async (t) => {
  const api = await setup(t)
  const { createHmac } = await import('node:crypto')
  const exp = Math.floor(Date.now() / 1000) + 600
  const sig = createHmac('sha256', api.env.CONNECT_LINK_SECRET!).update(JSON.stringify(['authorize', 'client-old', exp, ''])).digest('base64url')
  const url = `/api/ghl-oauth/authorize?clientId=client-old&exp=${exp}&sig=${sig}`
  const flow = await authorizeWith(api, `http://localhost:3000${url}`)
  t.equal((await api.app.inject({ url: pathOf(await approve(flow.chooseLocationUrl, SUNRISE)), headers: { cookie: flow.cookie } })).statusCode, 200)
  t.match((await api.app.inject({ url })).body, 'link_used')
})

t.test('replacing a connection with another location tells the CRM (connection.replaced); reconnecting the same one does not', async (t) => {
  const api = await setup(t, WITH_CRM_EVENTS)
  await connect(api, 'client-moves', SUNRISE)
  await connect(api, 'client-moves', SUNRISE)
  t.same(await crmEvents(api, 'connection.replaced'), [], 'a first connection and a reconnection of the same location are no news')

  await connect(api, 'client-moves', HARBOR)
  const events = await crmEvents(api, 'connection.replaced')
  t.equal(events.length, 1)
  t.same(events[0]!.data, { clientId: 'client-moves', previousLocationId: SUNRISE, locationId: HARBOR })
  const harbor = await api.app.runtime.integrations.findByClient('client-moves')
  t.equal(events[0]!.id, `connection.replaced-${harbor!.id}`, 'the id names the new connection: a repeat is dropped by id')

  // A claim that moves a connected client to another location is a replacement too.
  const install = await marketplaceInstall(api, SUNRISE)
  t.equal((await claim(api, { clientId: 'client-moves', locationId: SUNRISE, claimCode: claimCodeOn(install.body) })).statusCode, 200)
  t.same((await crmEvents(api, 'connection.replaced')).map((e) => e.data).find((d) => d.previousLocationId === HARBOR),
    { clientId: 'client-moves', previousLocationId: HARBOR, locationId: SUNRISE })
})

async function installed (t: Test, locationId = HARBOR) {
  const api = await setup(t, WITH_CRM_EVENTS)
  const page = await marketplaceInstall(api, locationId)
  return { api, claimCode: claimCodeOn(page.body) }
}

t.test('a marketplace install shows a one-time claim code; only its hash is stored; the CRM hears install.pending without it', async (t) => {
  const { api, claimCode } = await installed(t)
  t.match(claimCode, /^[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}$/, 'ten characters without 0/O or 1/I, in two groups')
  const [row] = await api.db.sql`select code_hash, extract(epoch from expires_at - now()) / 3600 as hours_left from install_claim_codes where location_id = ${HARBOR}`
  t.notMatch(row!.code_hash, claimCode.replace('-', ''))
  const hoursLeft = Number(row!.hours_left)
  t.ok(hoursLeft > 23.9 && hoursLeft <= 24, 'valid 24 hours')

  const events = await crmEvents(api, 'install.pending')
  t.equal(events.length, 1)
  t.same(events[0]!.data, { locationId: HARBOR, locationName: 'Harbor Plumbing' })
  t.match(events[0]!.id, /^install\.pending-[0-9a-f-]{36}$/, 'the id names the install')
  const sent = JSON.stringify(events[0])
  t.notMatch(sent, claimCode)
  t.notMatch(sent, claimCode.replace('-', ''))
})

t.test('a claim without the claim code, or with a wrong one, is refused; the right one claims once', async (t) => {
  const { api, claimCode } = await installed(t)
  const missing = await claim(api, { clientId: 'client-c', locationId: HARBOR })
  t.equal(missing.statusCode, 400)
  t.same(missing.json(), { error: 'invalid_request', message: 'body.claimCode is required.' })

  const wrong = await claim(api, { clientId: 'client-c', locationId: HARBOR, claimCode: 'AAAAA-AAAAA' })
  t.equal(wrong.statusCode, 403)
  t.match(wrong.json(), { error: 'invalid_claim_code', message: /4 attempts left/ })
  t.same(await statusOf(api, 'client-c'), { connected: false, integration: null })

  // typed by a person: lower case, a space instead of the dash
  const right = await claim(api, { clientId: 'client-c', locationId: HARBOR, claimCode: claimCode.toLowerCase().replace('-', ' ') })
  t.equal(right.statusCode, 200)
  t.match(right.json(), { connected: true, integration: { locationId: HARBOR } })

  const reused = await claim(api, { clientId: 'client-thief', locationId: HARBOR, claimCode })
  t.equal(reused.statusCode, 404, 'the code was consumed')
  t.match(reused.json(), { error: 'no_unclaimed_install' })
  t.same(await statusOf(api, 'client-thief'), { connected: false, integration: null })
})

t.test('five wrong claim codes kill the code; a new install of the location gets a new one', async (t) => {
  const { api, claimCode } = await installed(t)
  const answers = []
  for (let i = 0; i < 5; i++) answers.push(await claim(api, { clientId: 'client-guess', locationId: HARBOR, claimCode: `WRONG-GUES${'ABCDE'[i]}` }))
  t.same(answers.map((a) => a.json().error), ['invalid_claim_code', 'invalid_claim_code', 'invalid_claim_code', 'invalid_claim_code', 'claim_code_exhausted'])
  t.same(answers.slice(0, 4).map((a) => /(\d) attempts? left/.exec(a.json().message)![1]), ['4', '3', '2', '1'])
  t.ok(answers.every((a) => a.statusCode === 403))
  t.match(answers[4]!.json().message, 'Install the app again')

  const tooLate = await claim(api, { clientId: 'client-guess', locationId: HARBOR, claimCode })
  t.equal(tooLate.statusCode, 403)
  t.match(tooLate.json(), { error: 'claim_code_exhausted' }, 'the right code no longer works either')
  t.same(await statusOf(api, 'client-guess'), { connected: false, integration: null })

  const again = claimCodeOn((await marketplaceInstall(api, HARBOR)).body)
  t.not(again, claimCode)
  t.equal((await claim(api, { clientId: 'client-guess', locationId: HARBOR, claimCode })).statusCode, 403, 'the old code is replaced')
  t.equal((await claim(api, { clientId: 'client-guess', locationId: HARBOR, claimCode: again })).statusCode, 200)
})

t.test('an expired claim code is refused with a code saying so', async (t) => {
  const { api, claimCode } = await installed(t)
  await api.db.sql`update install_claim_codes set expires_at = now() - interval '1 minute'`
  const expired = await claim(api, { clientId: 'client-late', locationId: HARBOR, claimCode })
  t.equal(expired.statusCode, 403)
  t.match(expired.json(), { error: 'claim_code_expired', message: /valid 24 hours/ })
})
