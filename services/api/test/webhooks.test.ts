import t, { type Test } from 'tap'
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { connect as connectTcp, createServer, type AddressInfo, type Socket } from 'node:net'
import { createTestDatabase, TEST_POSTGRES_URL, TEST_REDIS_URL } from '@ghl-connect/testing'
import type { StartedSandbox } from 'ghl-sandbox/testing'
import { buildTestApi, buildTestApiWithSandbox, type TestApi } from './helper.ts'

// HighLevel's key is not ours to sign with; this file signs with a pair of its own.
const { publicKey, privateKey } = generateKeyPairSync('ed25519')
const publicKeyBase64 = publicKey.export({ format: 'der', type: 'spki' }).toString('base64')
const signed = (body: string) => sign(null, Buffer.from(body), privateKey).toString('base64')

t.test('webhooks: only signed, fresh, first-time events of this app are accepted', async (t) => {
  const { app } = await buildTestApi(t, { GHL_WEBHOOK_PUBLIC_KEY: publicKeyBase64, GHL_APP_ID: 'app-123' })
  const event = (overrides: Record<string, unknown> = {}) => JSON.stringify({
    type: 'INSTALL', appId: 'app-123', locationId: 'loc-1', companyId: 'co-1', timestamp: new Date().toISOString(), webhookId: randomUUID(), ...overrides,
  })
  const post = (body: string, signature?: string) => app.inject({
    method: 'POST', url: '/api/ghl-oauth/webhooks', payload: body,
    headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-ghl-signature': signature }) },
  })

  const body = event()
  const ok = await post(body, signed(body))
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { status: 'recorded' })

  t.match((await post(body, signed(body))).json(), { error: 'duplicate_webhook' }, 'a repeated webhookId is refused')
  t.equal((await post(body, signed(body))).statusCode, 409)

  const missing = await post(event())
  t.equal(missing.statusCode, 401)
  t.match(missing.json(), { error: 'missing_signature' })

  const other = event()
  const bad = await post(other, signed(event()))
  t.equal(bad.statusCode, 401)
  t.match(bad.json(), { error: 'invalid_signature' })

  const reserialised = event()
  const spaced = JSON.stringify(JSON.parse(reserialised), null, 2)
  t.equal((await post(spaced, signed(reserialised))).statusCode, 401, 'the signature covers the raw bytes, not the JSON meaning')

  const stale = event({ timestamp: new Date(Date.now() - 6 * 60_000).toISOString() })
  t.match((await post(stale, signed(stale))).json(), { error: 'stale_webhook' })

  const foreign = event({ appId: 'someone-else' })
  const refused = await post(foreign, signed(foreign))
  t.equal(refused.statusCode, 403)
  t.match(refused.json(), { error: 'foreign_app' })

  const notJson = 'not json at all'
  t.match((await post(notJson, signed(notJson))).json(), { error: 'invalid_json' })
  t.equal((await post('', 'garbage')).statusCode, 401)
})

// HighLevel's side of the tests below is the sandbox: it signs and sends INSTALL / UNINSTALL as
// HighLevel documents them. The CRM is configured, so the api queues the events it is told.
const SUNRISE = 'sbxLocation000000001'
const HARBOR = 'sbxLocation000000002'
const COMPANY = 'sbxCompany0000000001'
const OTHER_COMPANY = 'sbxCompany0000000002'
type WebhookRequest = Parameters<StartedSandbox['control']['sendWebhook']>[0]
const CRM = { CRM_WEBHOOK_URL: 'http://127.0.0.1:9/crm-events', CRM_WEBHOOK_SECRET: 'x'.repeat(32) }

async function listeningApi (t: Test, overrides: Record<string, string> = {}) {
  const api = await buildTestApiWithSandbox(t, { ...CRM, ...overrides })
  const address = await api.app.listen({ host: '127.0.0.1', port: 0 })
  const url = `${address}/api/ghl-oauth/webhooks`
  const send = (request: Omit<WebhookRequest, 'url'>) => api.sandbox.control.sendWebhook({ url, ...request })
  return { ...api, url, send }
}

function connection (locationId: string, companyId: string) {
  return {
    locationId, companyId, locationName: 'Sandbox location', userType: 'Location', scopes: ['conversations/message.write'],
    accessToken: `access-${randomUUID()}`, refreshToken: `refresh-${randomUUID()}`, expiresAt: new Date(Date.now() + 86_399_000),
  }
}

/** The connection events the api recorded for the CRM (the events outbox), as `[type, clientId, locationId, reason]`. */
async function crmEvents (api: { db: Pick<TestApi['db'], 'sql'> }) {
  const rows = await api.db.sql<Array<{ type: string, payload: Record<string, string> }>>`select type, payload from crm_events`
  return rows.map((r) => [r.type, r.payload.clientId, r.payload.locationId, r.payload.reason]).sort()
}

/** The events whose delivery is queued in Redis, by event id. */
async function queuedEvents (api: TestApi) {
  const jobs = await api.app.runtime.queues.crmEvents.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])
  return jobs.map((j) => j.data.eventId).sort()
}

/** HighLevel retrying until the api answers other than 429 (Redis reconnects in the background). */
async function eventually<T> (attempt: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await attempt()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('still 429 after Redis came back')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

const activeClients = async (api: TestApi) =>
  (await api.db.sql`select client_id from ghl_integrations where is_active order by client_id`).map((r) => r.client_id)

/**
 * A TCP relay to PostgreSQL or Redis: the api under test reaches the server only through it, so
 * closing it is, for the api, the server stopped (connections dropped, new ones refused), for
 * this test only; listening again on the same port is the server back.
 */
async function relayTo (t: Test, serverUrl: string, defaultPort: number) {
  const target = new URL(serverUrl)
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connectTcp(Number(target.port || defaultPort), target.hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => { client.destroy(); upstream.destroy() })
    }
    client.pipe(upstream).pipe(client)
  })
  const listen = (port: number) => new Promise<number>((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
  const port = await listen(0)
  const stop = () => new Promise<void>((resolve) => {
    server.close(() => resolve())
    for (const s of sockets) s.destroy()
  })
  t.teardown(() => server.listening ? stop() : undefined)
  return {
    urlFor: (url: string) => { const u = new URL(url); u.hostname = '127.0.0.1'; u.port = String(port); return u.toString() },
    stop,
    start: async () => { await listen(port) },
  }
}

const postgresRelay = (t: Test) => relayTo(t, TEST_POSTGRES_URL, 5432)

t.test('a verified webhook that arrives while PostgreSQL is down answers 429 with Retry-After, and the same delivery succeeds once it is back', async (t) => {
  const db = await createTestDatabase()
  t.teardown(db.drop)
  const relay = await postgresRelay(t)
  const api = await listeningApi(t, { DATABASE_URL: relay.urlFor(db.url) })
  await api.app.runtime.integrations.replaceActive('client-down', connection(SUNRISE, COMPANY))

  await relay.stop()
  const delivered = await api.send({ type: 'UNINSTALL', locationId: SUNRISE })
  t.equal(delivered.status, 429, 'the one answer HighLevel delivers again')
  t.match(JSON.parse(delivered.responseBody), { error: 'retry_later', message: /deliver it again later/ })
  const [row] = await db.sql`select is_active from ghl_integrations where client_id = 'client-down'`
  t.equal(row?.is_active, true, 'nothing was done')

  const unverified = await api.send({ type: 'UNINSTALL', locationId: SUNRISE, signature: 'AAAA' })
  t.equal(unverified.status, 401, 'an unverified webhook keeps its 4xx, PostgreSQL or not')
  const stale = await api.send({ type: 'UNINSTALL', locationId: SUNRISE, overrides: { timestamp: new Date(Date.now() - 6 * 60_000).toISOString() } })
  t.equal(stale.status, 400)

  await relay.start()
  // HighLevel's retry: the same bytes, the same signature.
  const again = await fetch(api.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-ghl-signature': delivered.signature }, body: delivered.rawBody })
  t.equal(again.status, 200)
  t.same(await again.json(), { status: 'processed' })
  const [after] = await db.sql`select is_active from ghl_integrations where client_id = 'client-down'`
  t.equal(after?.is_active, false)
  t.same(await crmEvents({ db }), [['connection.broken', 'client-down', SUNRISE, 'uninstalled']])
  t.equal((await queuedEvents(api)).length, 1, 'its delivery queued after the commit')
})

t.test('the Retry-After header comes with the 429', async (t) => {
  const db = await createTestDatabase()
  t.teardown(db.drop)
  const relay = await postgresRelay(t)
  const api = await buildTestApi(t, { GHL_WEBHOOK_PUBLIC_KEY: publicKeyBase64, GHL_APP_ID: 'app-123', DATABASE_URL: relay.urlFor(db.url) })
  await relay.stop()
  const body = JSON.stringify({ type: 'INSTALL', appId: 'app-123', locationId: 'loc-1', companyId: 'co-1', timestamp: new Date().toISOString(), webhookId: randomUUID() })
  const res = await api.app.inject({ method: 'POST', url: '/api/ghl-oauth/webhooks', payload: body, headers: { 'content-type': 'application/json', 'x-ghl-signature': signed(body) } })
  t.equal(res.statusCode, 429)
  t.ok(Number(res.headers['retry-after']) > 0)
  t.equal(res.json().error, 'retry_later')
})

t.test('an UNINSTALL that arrives while Redis is down is processed: the connection ends and its event waits in the events outbox, not lost', async (t) => {
  const relay = await relayTo(t, TEST_REDIS_URL, 6379)
  const api = await listeningApi(t, { REDIS_URL: relay.urlFor(TEST_REDIS_URL) })
  const integration = await api.app.runtime.integrations.replaceActive('client-redis', connection(SUNRISE, COMPANY))

  await relay.stop()
  const delivered = await api.send({ type: 'UNINSTALL', locationId: SUNRISE })
  t.equal(delivered.status, 200, 'Redis only carries the delivery; the event itself is in PostgreSQL')
  t.same(JSON.parse(delivered.responseBody), { status: 'processed' })
  t.same(await activeClients(api), [])
  t.same(await crmEvents(api), [['connection.broken', 'client-redis', SUNRISE, 'uninstalled']], 'committed with the deactivation')
  const [row] = await api.db.sql`select id, status from crm_events`
  t.same({ ...row }, { id: `connection.broken-${integration.id}-uninstalled`, status: 'pending' }, 'pending until the worker delivers it (its reconciler queues it)')

  await relay.start()
  const again = await fetch(api.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-ghl-signature': delivered.signature }, body: delivered.rawBody })
  t.equal(again.status, 409, 'HighLevel has no reason to deliver it again; a replay is a duplicate')
})

t.test('a company-level UNINSTALL (companyId, no locationId) deactivates every integration of that company and tells the CRM per client', async (t) => {
  const api = await listeningApi(t)
  const { integrations } = api.app.runtime
  await integrations.replaceActive('client-sunrise', connection(SUNRISE, COMPANY))
  await integrations.replaceActive('client-harbor', connection(HARBOR, COMPANY))
  await integrations.saveUnclaimed(connection(HARBOR, COMPANY))
  await integrations.replaceActive('client-other', connection('sbxAgencyLoc00000001', OTHER_COMPANY))

  const delivered = await api.send({ type: 'UNINSTALL', companyId: COMPANY })
  t.notOk('locationId' in delivered.payload, 'as HighLevel documents the agency-level UNINSTALL')
  t.equal(delivered.status, 200)
  t.same(JSON.parse(delivered.responseBody), { status: 'processed' })
  t.same(await activeClients(api), ['client-other'], 'the company\'s integrations, the unclaimed install too, are inactive; another company\'s stays')
  t.same(await crmEvents(api), [
    ['connection.broken', 'client-harbor', HARBOR, 'uninstalled'],
    ['connection.broken', 'client-sunrise', SUNRISE, 'uninstalled'],
  ], 'one event per client, none for the unclaimed install')
  const [receipt] = await api.db.sql`select type, location_id, company_id from webhook_receipts where webhook_id = ${String(delivered.payload.webhookId)}`
  t.same({ ...receipt }, { type: 'UNINSTALL', location_id: null, company_id: COMPANY })
})

t.test('a location-level UNINSTALL that also names its company ends that location only', async (t) => {
  const api = await listeningApi(t)
  await api.app.runtime.integrations.replaceActive('client-sunrise', connection(SUNRISE, COMPANY))
  await api.app.runtime.integrations.replaceActive('client-harbor', connection(HARBOR, COMPANY))
  const delivered = await api.send({ type: 'UNINSTALL', locationId: SUNRISE, overrides: { companyId: COMPANY } })
  t.equal(delivered.status, 200)
  t.same(await activeClients(api), ['client-harbor'])
})

t.test('an UNINSTALL dated before the connection is recorded and ignored: a retried, old UNINSTALL does not end a newer connection', async (t) => {
  const api = await listeningApi(t)
  const { integrations } = api.app.runtime
  // The UNINSTALL happened a minute ago (HighLevel's first delivery failed); the client reconnected since.
  const uninstalledAt = new Date(Date.now() - 60_000).toISOString()
  await integrations.replaceActive('client-back', connection(SUNRISE, COMPANY))
  await integrations.replaceActive('client-company', connection(HARBOR, COMPANY))

  const old = await api.send({ type: 'UNINSTALL', locationId: SUNRISE, overrides: { timestamp: uninstalledAt } })
  t.equal(old.status, 200)
  t.same(JSON.parse(old.responseBody), { status: 'recorded' })
  const oldCompany = await api.send({ type: 'UNINSTALL', companyId: COMPANY, overrides: { timestamp: uninstalledAt } })
  t.same(JSON.parse(oldCompany.responseBody), { status: 'recorded' })
  t.same(await activeClients(api), ['client-back', 'client-company'], 'both connections are newer than the UNINSTALLs and stay')
  t.same(await crmEvents(api), [], 'and the CRM is told nothing')
  const receipts = await api.db.sql`select webhook_id from webhook_receipts where webhook_id in (${String(old.payload.webhookId)}, ${String(oldCompany.payload.webhookId)})`
  t.equal(receipts.length, 2, 'both are recorded')
  const replay = await fetch(api.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-ghl-signature': old.signature }, body: old.rawBody })
  t.equal(replay.status, 409, 'and a further retry is a duplicate')

  const current = await api.send({ type: 'UNINSTALL', locationId: SUNRISE })
  t.same(JSON.parse(current.responseBody), { status: 'processed' }, 'an UNINSTALL dated after the connection ends it')
  t.same(await activeClients(api), ['client-company'])
})
