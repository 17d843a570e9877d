/**
 * One location, one client (issue 19): a location an active client holds is not connected to a
 * second client, a marketplace re-install of it renews its holder (whose replies keep arriving),
 * and a /connect page link connects once. Each runs the real flow against the sandbox HighLevel.
 */
import t from 'tap'
import { approve, authorizeWith, connect, createLink, HARBOR, marketplaceInstall, pathOf, setup, startFlow, SUNRISE } from './connect-flow.ts'
import type { TestApiWithSandbox } from './helper.ts'
import { CLIENT, JANE, twoWay } from './two-way.ts'

const statusOf = async (api: TestApiWithSandbox, clientId: string) =>
  (await api.app.inject({ url: `/api/ghl-oauth/status/${clientId}`, headers: api.auth })).json()

const holdersOf = async (api: TestApiWithSandbox, locationId: string) =>
  (await api.db.sql`select client_id from ghl_integrations where location_id = ${locationId} and is_active order by client_id`).map((r) => r.client_id as string)

/** The authorize link a rendering of the /connect page carries (absent once the page link is spent). */
const widgetLink = (page: string) => /id="connect-link" href="([^"]+)"/.exec(page)?.[1]?.replace(/&amp;/g, '&')

t.test('client B connecting a location client A holds gets the location_taken page (409) and stays unconnected; its link works again for another location', async (t) => {
  const api = await setup(t)
  await connect(api, 'client-a', SUNRISE)
  const link = await createLink(api, 'client-b')
  const flow = await authorizeWith(api, link.url)
  const page = await api.app.inject({ url: pathOf(await approve(flow.chooseLocationUrl, SUNRISE)), headers: { cookie: flow.cookie } })
  t.equal(page.statusCode, 409)
  t.match(page.headers['content-type'], 'text/html')
  t.match(page.body, '<code id="code">location_taken</code>')
  t.match(page.body, 'This sub-account is connected to another account')
  t.match(page.body, 'Disconnect it from the other account first')
  t.notMatch(page.body, 'client-a', 'the other account is not named')

  t.same(await statusOf(api, 'client-b'), { connected: false, integration: null })
  t.match(await statusOf(api, 'client-a'), { connected: true, integration: { locationId: SUNRISE } })
  t.same(await holdersOf(api, SUNRISE), ['client-a'])

  const retry = await authorizeWith(api, link.url)
  const retried = await api.app.inject({ url: pathOf(await approve(retry.chooseLocationUrl, HARBOR)), headers: { cookie: retry.cookie } })
  t.equal(retried.statusCode, 200, 'the link was given back')
  t.match(await statusOf(api, 'client-b'), { connected: true, integration: { locationId: HARBOR } })
})

t.test('two clients\' callbacks for one location at once: one holds it, the other gets location_taken, never a 500', async (t) => {
  const api = await setup(t)
  const flows = await Promise.all(['client-x', 'client-y', 'client-z'].map((clientId) => startFlow(api, clientId)))
  const callbacks = await Promise.all(flows.map((f) => approve(f.chooseLocationUrl, SUNRISE)))
  const pages = await Promise.all(callbacks.map((url, i) => api.app.inject({ url: pathOf(url), headers: { cookie: flows[i]!.cookie } })))
  t.same(pages.map((p) => p.statusCode).sort(), [200, 409, 409])
  t.ok(pages.filter((p) => p.statusCode === 409).every((p) => p.body.includes('<code id="code">location_taken</code>')))
  t.equal((await holdersOf(api, SUNRISE)).length, 1, 'one holder')
})

t.test('a marketplace re-install of a held location renews its holder: one active row, no claim code, and a reply reaches the CRM as one sms.received naming the holder', async (t) => {
  const api = await twoWay(t)
  const worker = api.startWorker()
  const before = await api.app.runtime.integrations.findByClient(CLIENT)

  const page = await marketplaceInstall(api, SUNRISE)
  t.equal(page.statusCode, 200)
  t.match(page.body, 'GoHighLevel is still connected for Sunrise Dental')
  t.notMatch(page.body, 'claim-code')
  t.same(await holdersOf(api, SUNRISE), [CLIENT], 'no unclaimed twin')
  const after = await api.app.runtime.integrations.findByClient(CLIENT)
  t.equal(after?.id, before?.id, 'the same connection...')
  t.not(after?.accessToken, before?.accessToken, '...with the re-install\'s tokens')
  t.equal(after?.status, 'active')
  const [pending] = await api.db.sql`select count(*)::int as n from crm_events where type = 'install.pending'`
  t.equal(pending?.n, 0, 'nothing waits to be claimed')

  const { message, delivery } = await api.control.contactReplies({ contactId: JANE, body: 'Is 3pm free?' })
  t.same(JSON.parse((delivery as { responseBody: string }).responseBody), { status: 'processed' })
  await api.delivered(`sms.received-${message.messageId}`)
  const posts = api.crm.received.filter((r) => r.event.type === 'sms.received')
  t.equal(posts.length, 1)
  t.match(posts[0]?.event.data, { clientId: CLIENT, contactId: JANE, messageId: message.messageId })
  t.equal(await worker.stop(), 0)
})

t.test('a /connect page link connects once: opened again it shows the status and asks for a new link; its other authorize links are refused; a new page link reconnects after needs_reauth', async (t) => {
  const api = await setup(t)
  const link = await createLink(api, 'client-page')
  const first = widgetLink((await api.app.inject({ url: pathOf(link.connectPageUrl) })).body)!
  const second = widgetLink((await api.app.inject({ url: pathOf(link.connectPageUrl) })).body)!
  const third = widgetLink((await api.app.inject({ url: pathOf(link.connectPageUrl) })).body)!
  // A flow begun from another rendering before the first one connects.
  const early = await authorizeWith(api, third)
  const flow = await authorizeWith(api, first)
  t.equal((await api.app.inject({ url: pathOf(await approve(flow.chooseLocationUrl, SUNRISE)), headers: { cookie: flow.cookie } })).statusCode, 200)

  const reopened = await api.app.inject({ url: pathOf(link.connectPageUrl) })
  t.equal(reopened.statusCode, 200)
  t.match(reopened.body, 'Connected to Sunrise Dental')
  t.match(reopened.body, 'ask your CRM for a new')
  t.equal(widgetLink(reopened.body), undefined, 'no authorize link any more')

  const refused = await api.app.inject({ url: pathOf(second) })
  t.equal(refused.statusCode, 403, 'the second authorize is refused')
  t.match(refused.body, '<code id="code">link_used</code>')
  t.match(refused.body, 'This page link already connected GoHighLevel')
  t.notOk(refused.headers.location, 'not sent to HighLevel')
  const late = await api.app.inject({ url: pathOf(await approve(early.chooseLocationUrl, HARBOR)), headers: { cookie: early.cookie } })
  t.equal(late.statusCode, 403, 'a flow begun before is refused at its callback')
  t.match(late.body, 'link_used')
  t.match(await statusOf(api, 'client-page'), { connected: true, integration: { locationId: SUNRISE } }, 'the client stays on its first location')
  t.equal(api.sandbox.control.stats().codeExchanges, 1)

  api.sandbox.control.revokeTokens(SUNRISE, { refreshTokens: true })
  t.equal((await api.app.inject({ method: 'POST', url: '/api/ghl-oauth/refresh/client-page', headers: api.auth })).statusCode, 409)
  const fresh = await createLink(api, 'client-page')
  const widget = await api.app.inject({ url: pathOf(fresh.connectPageUrl) })
  t.match(widget.body, 'needs reauth')
  const again = await authorizeWith(api, widgetLink(widget.body)!)
  t.equal((await api.app.inject({ url: pathOf(await approve(again.chooseLocationUrl, SUNRISE)), headers: { cookie: again.cookie } })).statusCode, 200)
  t.match(await statusOf(api, 'client-page'), { connected: true, integration: { locationId: SUNRISE, status: 'active' } }, 'a new page link reconnects')
})
