import t from 'tap'
import { randomUUID } from 'node:crypto'
import { NOT_CONNECTED_MESSAGE } from '@ghl-connect/errors'
import { jobIds } from '@ghl-connect/queues'
import { buildTestApi, type TestApi } from './helper.ts'

async function connect (api: TestApi, clientId: string) {
  await api.app.runtime.integrations.replaceActive(clientId, {
    locationId: 'sbxLocation000000001', locationName: 'Sunrise Dental', userType: 'Location', scopes: ['conversations/message.write'],
    accessToken: `access-${randomUUID()}`, refreshToken: `refresh-${randomUUID()}`, expiresAt: new Date(Date.now() + 86_399_000),
  })
}

const post = (api: TestApi, payload: unknown) => api.app.inject({ method: 'POST', url: '/api/sms', headers: api.auth, payload: payload as object })

t.test('an SMS is stored, then queued as sms-<id>, and answered 202 {id, status}', async (t) => {
  const api = await buildTestApi(t)
  await connect(api, 'client-a')
  const res = await post(api, { clientId: 'client-a', to: { phone: '+15550100001' }, message: 'Your appointment is tomorrow at 9.' })
  t.equal(res.statusCode, 202)
  const { id, status } = res.json()
  t.equal(status, 'queued')
  const row = await api.app.runtime.smsMessages.findById(id)
  t.match(row, { clientId: 'client-a', phone: '+15550100001', contactId: null, body: 'Your appointment is tomorrow at 9.', status: 'queued', attempts: 0 })
  const job = await api.app.runtime.queues.sms.getJob(jobIds.smsSend(id))
  t.same(Object.keys(job?.data ?? {}).sort(), ['messageId', 'requestId'])
  t.equal(job?.data.messageId, id)
  t.match(job?.data.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'without X-Request-Id, the id the api gave the request')
  t.equal(job?.name, 'send')

  const view = await api.app.inject({ url: `/api/sms/${id}`, headers: api.auth })
  t.equal(view.statusCode, 200)
  t.same(Object.keys(view.json()).sort(), ['attempts', 'conversationId', 'createdAt', 'deliveryError', 'deliveryStatus', 'deliveryUpdatedAt', 'error', 'fromNumber', 'ghlMessageId', 'id', 'sendAt', 'sentAt', 'status'])
  t.match(view.json(), { id, status: 'queued', attempts: 0, error: null, ghlMessageId: null, conversationId: null, sentAt: null, deliveryStatus: null, deliveryError: null, deliveryUpdatedAt: null })
})

t.test("the CRM's X-Request-Id travels in the send job, so the worker's lines can be followed back to the request", async (t) => {
  const api = await buildTestApi(t)
  await connect(api, 'client-r')
  const payload = { clientId: 'client-r', to: { contactId: 'sbxContact0000000001' }, message: 'Traced' }
  const res = await api.app.inject({ method: 'POST', url: '/api/sms', headers: { ...api.auth, 'x-request-id': 'crm-req-123' }, payload })
  t.equal(res.statusCode, 202)
  const job = await api.app.runtime.queues.sms.getJob(jobIds.smsSend(res.json().id))
  t.same(job?.data, { messageId: res.json().id, requestId: 'crm-req-123' })

  const odd = await api.app.inject({ method: 'POST', url: '/api/sms', headers: { ...api.auth, 'x-request-id': 'not a valid id!' }, payload: { ...payload, message: 'Traced again' } })
  const oddJob = await api.app.runtime.queues.sms.getJob(jobIds.smsSend(odd.json().id))
  t.not(oddJob?.data.requestId, 'not a valid id!', 'an id outside [A-Za-z0-9._-]{1,64} is replaced by one of ours')
  t.match(oddJob?.data.requestId, /^[0-9a-f-]{36}$/)
})

t.test('the same idempotency key answers the first message and queues nothing new', async (t) => {
  const api = await buildTestApi(t)
  await connect(api, 'client-b')
  const body = { clientId: 'client-b', to: { contactId: 'sbxContact0000000001' }, message: 'Hello', idempotencyKey: 'order-42-reminder' }
  const answers = await Promise.all([post(api, body), post(api, body), post(api, body)])
  t.same(answers.map((a) => a.statusCode), [202, 202, 202])
  const ids = new Set(answers.map((a) => a.json().id))
  t.equal(ids.size, 1, 'one message for three identical requests, even at once')
  t.equal(await api.app.runtime.queues.sms.count(), 1, 'one job')
  const again = await post(api, body)
  t.equal(again.json().id, [...ids][0])
  t.notOk(again.headers['idempotency-warning'], 'a request with a key gets no warning')

  const otherClient = await post(api, { ...body, clientId: 'client-c' })
  t.equal(otherClient.statusCode, 409, 'keys are per client: another client with no connection is refused on its own terms')
  t.equal(otherClient.json().error, 'not_connected')

  const reused = await post(api, { ...body, message: 'Something else' })
  t.equal(reused.statusCode, 409)
  t.equal(reused.json().error, 'idempotency_key_reused')
})

t.test('a request without an idempotency key is taken, with an Idempotency-Warning header saying a retry may send twice', async (t) => {
  const api = await buildTestApi(t)
  await connect(api, 'client-w')
  const res = await post(api, { clientId: 'client-w', to: { phone: '+15550100001' }, message: 'No key' })
  t.equal(res.statusCode, 202)
  t.equal(res.headers['idempotency-warning'], 'no idempotencyKey: a retry of this request is a new message and may send a second SMS; send one key per message and repeat it when retrying')
})

t.test('a client without an active integration gets 409 not_connected with the seed sentence', async (t) => {
  const api = await buildTestApi(t)
  const res = await post(api, { clientId: 'nobody', to: { contactId: 'abc' }, message: 'Hi' })
  t.equal(res.statusCode, 409)
  t.same(res.json(), { error: 'not_connected', message: NOT_CONNECTED_MESSAGE })
  t.equal(NOT_CONNECTED_MESSAGE, "Please connect your GoHighLevel account first. Click 'Connect GoHighLevel' in settings.")
})

t.test('with the legacy PIT fallback on, a client without OAuth is accepted', async (t) => {
  const api = await buildTestApi(t, { GHL_LEGACY_PIT_FALLBACK: 'true', GHL_LEGACY_PIT_TOKEN: 'pit-legacy-token-value', GHL_LEGACY_LOCATION_ID: 'sbxLocation000000001' })
  const res = await post(api, { clientId: 'legacy-client', to: { contactId: 'abc' }, message: 'Hi' })
  t.equal(res.statusCode, 202)
})

t.test('with the legacy PIT fallback on, a client whose connection ended (disconnected, uninstalled, broken) is refused, not sent with the PIT', async (t) => {
  const api = await buildTestApi(t, { GHL_LEGACY_PIT_FALLBACK: 'true', GHL_LEGACY_PIT_TOKEN: 'pit-legacy-token-value', GHL_LEGACY_LOCATION_ID: 'sbxLocation000000001' })
  const { integrations } = api.app.runtime
  await connect(api, 'disconnected-client')
  await integrations.deactivate('disconnected-client')
  const disconnected = await post(api, { clientId: 'disconnected-client', to: { contactId: 'abc' }, message: 'Hi' })
  t.equal(disconnected.statusCode, 409)
  t.same(disconnected.json(), { error: 'not_connected', message: NOT_CONNECTED_MESSAGE })

  await connect(api, 'uninstalled-client')
  await integrations.deactivateUninstalled({ locationId: 'sbxLocation000000001' }, new Date(), async () => {})
  t.equal((await post(api, { clientId: 'uninstalled-client', to: { contactId: 'abc' }, message: 'Hi' })).json().error, 'not_connected')

  await connect(api, 'broken-client')
  const broken = (await integrations.findByClient('broken-client'))!
  await integrations.recordRefreshFailure(broken.id, broken.tokenVersion, { error: 'invalid_grant', status: 'needs_reauth' })
  const reauth = await post(api, { clientId: 'broken-client', to: { contactId: 'abc' }, message: 'Hi' })
  t.equal(reauth.statusCode, 409)
  t.equal(reauth.json().error, 'needs_reauth')
  const [stored] = await api.db.sql`select count(*)::int as n from sms_messages`
  t.equal(stored?.n, 0, 'nothing stored for any of them')
  t.equal(await api.app.runtime.queues.sms.count(), 0, 'nothing queued')
})

t.test('bad input is a 400 naming the field and the rule, never a 500', async (t) => {
  const api = await buildTestApi(t)
  await connect(api, 'client-v')
  const base = { clientId: 'client-v', to: { phone: '+15550100001' }, message: 'Hi' }
  const cases: Array<[string, unknown, RegExp]> = [
    ['no recipient', { ...base, to: {} }, /to must have exactly one of contactId, phone or name/],
    ['two recipients', { ...base, to: { phone: '+15550100001', name: 'Jane' } }, /exactly one .*\(got phone and name\)/],
    ['phone not E.164', { ...base, to: { phone: '555-0100' } }, /to\.phone must be in E\.164 format/],
    ['unknown recipient field', { ...base, to: { email: 'a@b.c' } }, /body\.to has an unknown field "email"/],
    ['empty message', { ...base, message: '' }, /body\.message must NOT have fewer than 1 characters/],
    ['blank message', { ...base, message: '   ' }, /message must contain more than spaces/],
    ['message too long', { ...base, message: 'x'.repeat(1601) }, /body\.message must NOT have more than 1600 characters/],
    ['unknown field', { ...base, priority: 'high' }, /body has an unknown field "priority"/],
    ['no clientId', { to: base.to, message: 'Hi' }, /body\.clientId is required/],
    ['message not a string', { ...base, message: 42 }, /body\.message must be string/],
  ]
  for (const [name, payload, message] of cases) {
    const res = await post(api, payload)
    t.equal(res.statusCode, 400, name)
    t.match(res.json(), { error: 'invalid_request', message }, name)
  }
  t.equal((await post(api, { ...base, message: 'x'.repeat(1600) })).statusCode, 202, '1,600 characters is fine')

  const big = await api.app.inject({ method: 'POST', url: '/api/sms', headers: { ...api.auth, 'content-type': 'application/json' }, payload: JSON.stringify({ ...base, message: 'x'.repeat(20_000) }) })
  t.equal(big.statusCode, 413)
  t.equal(big.json().error, 'body_too_large')

  const badJson = await api.app.inject({ method: 'POST', url: '/api/sms', headers: { ...api.auth, 'content-type': 'application/json' }, payload: '{"clientId":' })
  t.equal(badJson.statusCode, 400)
})

t.test('GET /api/sms/:id: 404 for an unknown id, 400 for a malformed one, 401 without the key', async (t) => {
  const api = await buildTestApi(t)
  const unknown = await api.app.inject({ url: `/api/sms/${randomUUID()}`, headers: api.auth })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().error, 'sms_not_found')
  const malformed = await api.app.inject({ url: '/api/sms/not-a-uuid', headers: api.auth })
  t.equal(malformed.statusCode, 400)
  t.match(malformed.json(), { error: 'invalid_request', message: /params\.id must match pattern/ })
  t.equal((await api.app.inject({ url: `/api/sms/${randomUUID()}` })).statusCode, 401)
  t.equal((await api.app.inject({ method: 'POST', url: '/api/sms', payload: {} })).statusCode, 401)
})

t.test('an SMS accepted while Redis is down is stored and left to the reconciler', async (t) => {
  const api = await buildTestApi(t, { REDIS_URL: 'redis://127.0.0.1:1' })
  await connect(api, 'client-r')
  const res = await post(api, { clientId: 'client-r', to: { contactId: 'abc' }, message: 'Hi' })
  t.equal(res.statusCode, 202)
  t.equal((await api.app.runtime.smsMessages.findById(res.json().id))?.status, 'queued')
})

t.test('a NUL character PostgreSQL cannot store is a 400, not a 500', async (t) => {
  const api = await buildTestApi(t)
  await connect(api, 'client-nul')
  for (const payload of [
    { clientId: 'client-nul', to: { contactId: 'c1' }, message: 'hello\u0000world' },
    { clientId: 'client-nul', to: { name: 'Jane\u0000Doe' }, message: 'hello' },
  ]) {
    const res = await post(api, payload)
    t.equal(res.statusCode, 400)
    t.match(res.json(), { error: 'invalid_request', message: /cannot be stored/ })
  }
})
