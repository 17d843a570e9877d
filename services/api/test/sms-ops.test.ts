import t from 'tap'
import { randomUUID } from 'node:crypto'
import { buildTestApi } from './helper.ts'

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` })

t.test('Bull Board answers 401 without the admin credentials and lists the queues with them', async (t) => {
  const { app, env } = await buildTestApi(t)
  const anonymous = await app.inject({ url: '/admin/queues' })
  t.equal(anonymous.statusCode, 401)
  t.match(anonymous.headers['www-authenticate'], /^Basic realm=/)
  t.same(anonymous.json(), { error: 'admin_credentials_required', message: 'Bull Board needs the admin user name and password (ADMIN_USER / ADMIN_PASSWORD).' })
  t.equal((await app.inject({ url: '/admin/queues', headers: basic('admin', 'wrong-password') })).statusCode, 401)
  t.equal((await app.inject({ url: '/admin/queues/api/queues', headers: basic('root', env.ADMIN_PASSWORD!) })).statusCode, 401, 'the user name counts too')
  t.equal((await app.inject({ url: '/admin/queues/api/queues' })).statusCode, 401, 'its JSON API is guarded as well')

  const page = await app.inject({ url: '/admin/queues', headers: basic('admin', env.ADMIN_PASSWORD!) })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], 'text/html')
  const api = await app.inject({ url: '/admin/queues/api/queues', headers: basic('admin', env.ADMIN_PASSWORD!) })
  t.equal(api.statusCode, 200)
  const names = (api.json().queues as Array<{ name: string }>).map((q) => q.name).sort()
  t.same(names, ['crm-events', 'outbox', 'sms', 'tokens'])

  t.equal((await app.inject({ url: '/healthz', headers: basic('admin', 'wrong-password') })).statusCode, 200, 'the guard covers the board only')
})

t.test('/metrics exposes SMS intake, queue depth and the age of the oldest waiting SMS', async (t) => {
  const api = await buildTestApi(t, { METRICS_REFRESH_SECONDS: '1' })
  await api.app.runtime.integrations.replaceActive('metered', {
    locationId: 'sbxLocation000000001', userType: 'Location', scopes: [], accessToken: `a-${randomUUID()}`, refreshToken: `r-${randomUUID()}`,
    expiresAt: new Date(Date.now() + 86_399_000),
  })
  const body = { clientId: 'metered', to: { contactId: 'c1' }, message: 'Hi', idempotencyKey: 'k1' }
  for (let i = 0; i < 2; i++) await api.app.inject({ method: 'POST', url: '/api/sms', headers: api.auth, payload: body })
  await api.app.inject({ method: 'POST', url: '/api/sms', headers: api.auth, payload: { ...body, idempotencyKey: 'k2' } })

  // Queue gauges are read in the background (every METRICS_REFRESH_SECONDS), not by the scrape.
  let res = await api.app.inject({ url: '/metrics' })
  for (let i = 0; i < 100 && !/queue="sms",state="prioritized"[^}]*\} 2/.test(res.body); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    res = await api.app.inject({ url: '/metrics' })
  }
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], 'text/plain')
  t.match(res.body, /ghl_connect_sms_intake_total\{[^}]*outcome="accepted"[^}]*\} 2/)
  t.match(res.body, /ghl_connect_sms_intake_total\{[^}]*outcome="duplicate"[^}]*\} 1/)
  t.match(res.body, /ghl_connect_queue_jobs\{[^}]*queue="sms",state="prioritized"[^}]*\} 2/, 'SMS jobs wait prioritized (per-tenant fairness)')
  t.match(res.body, /ghl_connect_queue_jobs\{[^}]*queue="tokens",state="waiting"[^}]*\} 0/)
  t.match(res.body, /ghl_connect_queue_oldest_waiting_seconds\{[^}]*queue="sms"[^}]*\} \d/)
  t.match(res.body, /# TYPE ghl_connect_token_refresh_total counter/)
})
