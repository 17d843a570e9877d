import t from 'tap'
import { randomBytes, randomUUID } from 'node:crypto'
import { logCapture } from '@ghl-connect/testing'
import { buildTestApi, type TestApi } from './helper.ts'

async function connect (api: TestApi, clientId: string) {
  await api.app.runtime.integrations.replaceActive(clientId, {
    locationId: 'sbxLocation000000001', locationName: 'Sunrise Dental', userType: 'Location', scopes: ['conversations/message.write'],
    accessToken: `access-${randomUUID()}`, refreshToken: `refresh-${randomUUID()}`, expiresAt: new Date(Date.now() + 86_399_000),
  })
}

t.test('a PostgreSQL failure during POST /api/sms leaves no phone number, SMS text or contact name in the log', async (t) => {
  const logs = logCapture()
  const api = await buildTestApi(t, {}, { logs: logs.stream })
  await connect(api, 'clinic')
  const phone = '+15550100987'
  const text = 'Your biopsy results are ready, call Dr Who'
  const name = 'Janet Quietly-Private'

  // The server going away mid-insert (what PostgreSQL sends its sessions when it shuts down)...
  await api.db.sql.unsafe(`create function fail_like_a_shutdown() returns trigger language plpgsql as $$
    begin raise exception 'terminating connection due to administrator command' using errcode = '57P01'; end $$`)
  await api.db.sql.unsafe('create trigger outage before insert on sms_messages for each row execute function fail_like_a_shutdown()')
  const down = await api.app.inject({ method: 'POST', url: '/api/sms', headers: api.auth, payload: { clientId: 'clinic', to: { phone }, message: text } })
  t.equal(down.statusCode, 503)
  // ...and a constraint PostgreSQL reports with the whole failing row in its DETAIL.
  await api.db.sql.unsafe('drop trigger outage on sms_messages')
  await api.db.sql.unsafe('alter table sms_messages add constraint short_texts_only check (length(body) < 5)')
  for (const to of [{ phone }, { name }]) {
    const refused = await api.app.inject({ method: 'POST', url: '/api/sms', headers: api.auth, payload: { clientId: 'clinic', to, message: text } })
    t.equal(refused.statusCode, 500)
  }

  const log = logs.text()
  t.match(log, /a backing service is unreachable/, 'the outage is logged')
  t.match(log, /params: \[redacted\]/, "drizzle's query parameters are stripped")
  t.match(log, /insert into sms_messages/, 'the query itself (placeholders only) is kept for debugging')
  for (const secret of [phone, phone.slice(1), text, 'biopsy', name, 'Quietly']) t.notMatch(log, secret, `"${secret}" is not in the log`)
})

t.test('named API keys: the audit lines name the key, never the key itself; a bare key keeps working under a fingerprint', async (t) => {
  const logs = logCapture()
  const named = randomBytes(32).toString('hex')
  const bare = randomBytes(32).toString('hex')
  const api = await buildTestApi(t, { API_KEYS: `crm-backend:${named},${bare}` }, { logs: logs.stream })
  await connect(api, 'clinic')
  const token = await api.app.inject({ url: '/api/ghl-oauth/token/clinic', headers: { authorization: `Bearer ${named}` } })
  t.equal(token.statusCode, 200)
  const status = await api.app.inject({ url: '/api/ghl-oauth/status/clinic', headers: { authorization: `Bearer ${bare}` } })
  t.equal(status.statusCode, 200)

  const lines = logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  const audit = lines.find((l) => l.msg === 'access token handed to the CRM')
  t.match(audit, { apiKey: 'crm-backend', clientId: 'clinic', audit: 'access_token_issued' })
  const done = lines.filter((l) => l.msg === 'request done')
  t.match(done[0], { apiKey: 'crm-backend', url: '/api/ghl-oauth/token/clinic' }, 'the per-request line names the key')
  t.match(done[1], { apiKey: /^key-[0-9a-f]{8}$/, url: '/api/ghl-oauth/status/clinic' })
  t.notMatch(logs.text(), named)
  t.notMatch(logs.text(), bare)
  t.notMatch(logs.text(), token.json().accessToken)
})

t.test("pages may be framed only by the api itself and CRM_ORIGIN; /readyz names each dependency and ok, no error text", async (t) => {
  const api = await buildTestApi(t, { CRM_ORIGIN: 'https://crm.example', REDIS_URL: 'redis://127.0.0.1:1' })
  const page = await api.app.inject({ url: '/connect?clientId=c&exp=1&sig=x' })
  t.match(page.headers['content-type'], 'text/html')
  t.match(page.headers['content-security-policy'], /(^|; )frame-ancestors 'self' https:\/\/crm\.example(;|$)/)
  t.notMatch(page.headers['content-security-policy'], 'frame-ancestors *')

  const ready = await api.app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 503)
  t.same(ready.json(), { status: 'unavailable', postgres: { ok: true }, redis: { ok: false } })
})

t.test('client ids up to the schema\'s 128 characters work on every route, percent-encoded too', async (t) => {
  const api = await buildTestApi(t)
  for (const clientId of ['c'.repeat(128), `${'|~@'.repeat(42)}ab`]) {
    await connect(api, clientId)
    const id = encodeURIComponent(clientId)
    t.equal((await api.app.inject({ url: `/api/ghl-oauth/status/${id}`, headers: api.auth })).json().connected, true, 'status')
    t.equal((await api.app.inject({ url: `/api/ghl-oauth/token/${id}`, headers: api.auth })).statusCode, 200, 'token')
    t.equal((await api.app.inject({ method: 'DELETE', url: `/api/ghl-oauth/integrations/${id}`, headers: api.auth })).statusCode, 204, 'disconnect')
    t.equal((await api.app.inject({ method: 'POST', url: `/api/ghl-oauth/refresh/${id}`, headers: api.auth })).json().error, 'not_connected', 'refresh')
  }
  const tooLong = await api.app.inject({ url: `/api/ghl-oauth/status/${'c'.repeat(129)}`, headers: api.auth })
  t.equal(tooLong.statusCode, 400, 'past 128 the schema says why')
  t.match(tooLong.json(), { error: 'invalid_request', message: /params.clientId/ })
})

t.test('/metrics serves queue gauges read in the background, not per scrape, and asks for METRICS_TOKEN when set', async (t) => {
  const token = randomBytes(32).toString('hex')
  const api = await buildTestApi(t, { METRICS_TOKEN: token, METRICS_REFRESH_SECONDS: '3600' })
  const scrape = (authorization?: string) => api.app.inject({ url: '/metrics', headers: authorization ? { authorization } : {} })
  t.same((await scrape()).json(), { error: 'metrics_token_required', message: 'Scraping /metrics needs "Authorization: Bearer <METRICS_TOKEN>".' })
  t.equal((await scrape(`Bearer ${token}x`)).statusCode, 401)
  const waiting = /ghl_connect_queue_jobs\{[^}]*queue="tokens",state="waiting"[^}]*\} (\d+)/
  let first = ''
  for (let i = 0; i < 100 && !waiting.test(first); i++) {
    first = (await scrape(`Bearer ${token}`)).body
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.equal(waiting.exec(first)?.[1], '0', 'read once when the api started')
  await api.app.runtime.queues.tokens.add('refresh', { clientId: 'x' })
  for (let i = 0; i < 5; i++) {
    t.equal(waiting.exec((await scrape(`Bearer ${token}`)).body)?.[1], '0', 'a scrape does not read the queues')
  }
})

t.test('Bull Board is read-only by default: it refuses to add, retry or remove jobs', async (t) => {
  const admin = (password: string) => ({ authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` })
  const attempts = async (api: TestApi) => {
    const headers = admin(api.env.ADMIN_PASSWORD!)
    const job = await api.app.runtime.queues.crmEvents.add('deliver', { eventId: 'e1' }, { delay: 3_600_000 })
    const board = '/admin/queues/api/queues/crm-events'
    return Promise.all([
      api.app.inject({ method: 'POST', url: `${board}/add`, headers, payload: { name: 'deliver', data: { eventId: 'forged' } } }),
      api.app.inject({ method: 'PUT', url: `${board}/${job.id}/retry`, headers }),
      api.app.inject({ method: 'PUT', url: `${board}/retry/failed`, headers }),
      api.app.inject({ method: 'PUT', url: `${board}/${job.id}/clean`, headers }),
      api.app.inject({ method: 'PATCH', url: `${board}/${job.id}/update-data`, headers, payload: { jobData: { eventId: 'edited' } } }),
    ]).then((answers) => answers.map((a) => a.statusCode))
  }
  const readOnly = await buildTestApi(t)
  const refused = await attempts(readOnly)
  t.same(refused, Array(5).fill(405), 'add, retry one, retry all, remove and edit are refused')
  t.same(await readOnly.app.runtime.queues.crmEvents.getJobCounts('waiting', 'delayed'), { waiting: 0, delayed: 1 }, 'nothing added, retried or removed')
  t.equal((await readOnly.app.runtime.queues.crmEvents.getJobs(['delayed']))[0]?.data.eventId, 'e1', 'nor edited')

  const writable = await buildTestApi(t, { ADMIN_READ_ONLY: 'false' })
  t.notOk((await attempts(writable)).includes(405), 'ADMIN_READ_ONLY=false gives the board its buttons back (what it adds is still not delivered: see the worker)')
})
