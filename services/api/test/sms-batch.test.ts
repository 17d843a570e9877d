import t from 'tap'
import { randomUUID } from 'node:crypto'
import { jobIds } from '@ghl-connect/queues'
import { buildTestApi, type TestApi } from './helper.ts'

const api = await buildTestApi(t)
const { runtime } = api.app

async function connect (clientId: string) {
  await runtime.integrations.replaceActive(clientId, {
    locationId: `loc-${clientId}`, locationName: 'Sunrise Dental', userType: 'Location', scopes: ['conversations/message.write'],
    accessToken: `access-${randomUUID()}`, refreshToken: `refresh-${randomUUID()}`, expiresAt: new Date(Date.now() + 86_399_000),
  })
}
const postBatch = (a: TestApi, payload: unknown) => a.app.inject({ method: 'POST', url: '/api/sms/batch', headers: a.auth, payload: payload as object })
const rowsOf = async (clientId: string) => Number((await runtime.database.sql`select count(*)::int as n from sms_messages where client_id = ${clientId}`)[0]?.n)
const jobsOf = async (ids: string[]) => (await Promise.all(ids.map((id) => runtime.queues.sms.getJob(jobIds.smsSend(id))))).filter(Boolean)

t.test('a batch of 1,000 with 3 invalid messages: 997 queued, 3 errors naming the message and field; the same batch again creates nothing new and answers the same ids', async (t) => {
  await connect('batch-client')
  const messages: Array<Record<string, unknown>> = Array.from({ length: 1000 }, (_, i) => ({
    clientId: 'batch-client', to: { phone: `+1555${String(1_000_000 + i).slice(1)}` }, message: `Reminder ${i}: ${'é'.repeat(1500)}`, idempotencyKey: `campaign-7-${i}`,
  }))
  messages[10] = { ...messages[10], to: { phone: '555-0100' } }
  const { idempotencyKey: _dropped, ...withoutKey } = messages[500]!
  messages[500] = withoutKey
  messages[999] = { ...messages[999], message: '   ' }

  const first = await postBatch(api, { messages })
  t.equal(first.statusCode, 207)
  const body = first.json()
  t.match(body, { accepted: 997, failed: 3 })
  t.equal(body.results.length, 1000)
  t.same(body.results.map((r: { index: number }) => r.index), messages.map((_, i) => i), 'one answer per message, in order')
  const errors = body.results.filter((r: { error?: unknown }) => r.error)
  t.match(errors, [
    { index: 10, error: { code: 'invalid_request', field: 'to.phone', message: /E\.164/ } },
    { index: 500, error: { code: 'invalid_request', field: 'idempotencyKey', message: /idempotencyKey is required/ } },
    { index: 999, error: { code: 'invalid_request', field: 'message', message: /more than spaces/ } },
  ])
  const ids = body.results.filter((r: { id?: string }) => r.id).map((r: { id: string }) => r.id)
  t.equal(new Set(ids).size, 997)
  t.ok(body.results.filter((r: { id?: string }) => r.id).every((r: { status: string }) => r.status === 'queued'))
  t.equal(await rowsOf('batch-client'), 997, '997 rows')
  t.equal((await jobsOf(ids)).length, 997, 'a job for each')
  const row = await runtime.smsMessages.findById(body.results[3].id)
  t.match(row, { clientId: 'batch-client', idempotencyKey: 'campaign-7-3', phone: '+1555000003', status: 'queued', attempts: 0 })

  const again = await postBatch(api, { messages })
  t.equal(again.statusCode, 207)
  t.same(again.json(), body, 'the same answer: same ids, same errors')
  t.equal(await rowsOf('batch-client'), 997, 'no row added')
  t.equal(await runtime.queues.sms.getJobCountByTypes('waiting', 'prioritized', 'delayed', 'active'), 997, 'no job added')
})

t.test('a key used for a different message, inside the batch or in an earlier one, is that message\'s idempotency_key_reused; a repeat inside the batch answers the same id', async (t) => {
  await connect('reuse-client')
  const single = await api.app.inject({ method: 'POST', url: '/api/sms', headers: api.auth, payload: { clientId: 'reuse-client', to: { contactId: 'c1' }, message: 'Earlier', idempotencyKey: 'k-earlier' } })
  const m = (key: string, message: string) => ({ clientId: 'reuse-client', to: { contactId: 'c1' }, message, idempotencyKey: key })
  const res = await postBatch(api, { messages: [m('k-earlier', 'Something else'), m('k-earlier', 'Earlier'), m('k-1', 'One'), m('k-1', 'Not one'), m('k-1', 'One')] })
  t.equal(res.statusCode, 207)
  const [reusedAcross, repeatOfSingle, one, reusedInside, repeatInside] = res.json().results
  t.match(reusedAcross, { index: 0, error: { code: 'idempotency_key_reused', field: 'idempotencyKey', message: new RegExp(single.json().id) } })
  t.same(repeatOfSingle, { index: 1, id: single.json().id, status: 'queued' }, 'the same message under the same key answers the single one')
  t.match(one, { index: 2, status: 'queued' })
  t.match(reusedInside, { index: 3, error: { code: 'idempotency_key_reused', field: 'idempotencyKey', message: /message 2 of this batch/ } })
  t.same(repeatInside, { index: 4, id: one.id, status: 'queued' })
  t.equal(await rowsOf('reuse-client'), 2)
})

t.test('a batch\'s jobs keep the fairness rule: each client\'s messages take its next backlog priorities, in order', async (t) => {
  await connect('fair-busy')
  await connect('fair-quiet')
  const m = (clientId: string, i: number) => ({ clientId, to: { contactId: 'c1' }, message: `m${i}`, idempotencyKey: `fair-${i}` })
  const res = await postBatch(api, { messages: [m('fair-busy', 1), m('fair-busy', 2), m('fair-quiet', 3), m('fair-busy', 4)] })
  const jobs = await jobsOf(res.json().results.map((r: { id: string }) => r.id))
  t.same(jobs.map((j) => j?.opts.priority), [1, 2, 1, 3])
  const later = await api.app.inject({ method: 'POST', url: '/api/sms', headers: api.auth, payload: m('fair-busy', 5) })
  t.equal((await runtime.queues.sms.getJob(jobIds.smsSend(later.json().id)))?.opts.priority, 4, 'a single SMS after the batch queues behind its client\'s backlog')
})

t.test('a client that cannot send is refused per message (not_connected, naming clientId); the rest of the batch goes ahead', async (t) => {
  await connect('ok-client')
  const res = await postBatch(api, { messages: [
    { clientId: 'never-connected', to: { phone: '+15550100001' }, message: 'Hi', idempotencyKey: 'a' },
    { clientId: 'ok-client', to: { phone: '+15550100001' }, message: 'Hi', idempotencyKey: 'a' },
    { clientId: 'ok-client', to: { phone: '+15550100001', name: 'Jane' }, message: 'Hi', idempotencyKey: 'b' },
    'not an object',
    { clientId: 'ok-client', to: { phone: '+15550100001' }, message: 'Hi', idempotencyKey: 'c', sendLater: true },
  ] })
  t.equal(res.statusCode, 207)
  t.match(res.json(), { accepted: 1, failed: 4 })
  t.match(res.json().results, [
    { index: 0, error: { code: 'not_connected', field: 'clientId', message: /connect your GoHighLevel account/ } },
    { index: 1, status: 'queued' },
    { index: 2, error: { code: 'invalid_request', field: 'to', message: /exactly one of contactId, phone or name/ } },
    { index: 3, error: { code: 'invalid_request', field: null } },
    { index: 4, error: { code: 'invalid_request', field: 'sendLater', message: /not a known field/ } },
  ])
})

t.test('only a bad envelope is a 400 (no messages, over 1,000, unknown fields); a body over the batch limit is 413', async (t) => {
  const one = { clientId: 'ok-client', to: { contactId: 'c1' }, message: 'Hi', idempotencyKey: 'x' }
  for (const payload of [{}, { messages: [] }, { messages: Array.from({ length: 1001 }, () => one) }, { messages: [one], extra: 1 }]) {
    const res = await postBatch(api, payload)
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_request')
  }
  const tooBig = await api.app.inject({ method: 'POST', url: '/api/sms/batch', headers: { ...api.auth, 'content-type': 'application/json' },
    payload: JSON.stringify({ messages: [{ ...one, message: 'x'.repeat(9_000_000) }] }) })
  t.equal(tooBig.statusCode, 413)
  t.equal(tooBig.json().error, 'body_too_large')
})

const putSettings = (clientId: string, body: unknown) =>
  api.app.inject({ method: 'PUT', url: `/api/clients/${clientId}/settings`, headers: api.auth, payload: body as object })
const hhmm = (d: Date) => d.toISOString().slice(11, 16)

t.test('batch messages take sendAt: one due in 5 minutes waits as a delayed job, one 3 days ahead is stored with its time and no job (the reconciler releases it)', async (t) => {
  await connect('sched-client')
  const near = new Date(Date.now() + 5 * 60_000)
  const far = new Date(Date.now() + 3 * 86_400_000)
  const m = (key: string, sendAt?: Date) => ({ clientId: 'sched-client', to: { contactId: 'c1' }, message: `At ${key}`, idempotencyKey: key, ...sendAt && { sendAt: sendAt.toISOString().replace('Z', '+00:00') } })
  const res = await postBatch(api, { messages: [m('near', near), m('far', far), m('now')] })
  t.equal(res.statusCode, 207)
  t.match(res.json(), { accepted: 3, failed: 0 })
  const [nearId, farId, nowId] = res.json().results.map((r: { id: string }) => r.id)
  t.match(await runtime.smsMessages.findById(nearId), { status: 'queued', sendAt: near })
  t.match(await runtime.smsMessages.findById(farId), { status: 'queued', sendAt: far })
  t.match(await runtime.smsMessages.findById(nowId), { status: 'queued', sendAt: null })
  const job = await runtime.queues.sms.getJob(jobIds.smsSend(nearId))
  t.equal(await job?.getState(), 'delayed', 'the near one waits as a delayed job')
  t.ok((job?.opts.delay ?? 0) > 60_000, 'delayed to its sendAt')
  t.equal(await runtime.queues.sms.getJob(jobIds.smsSend(farId)), undefined, 'nothing in Redis for the far one until its time nears')
  t.not(await runtime.queues.sms.getJob(jobIds.smsSend(nowId)).then((j) => j?.getState()), 'delayed', 'one without sendAt goes at once')
})

t.test('a client\'s quiet hours and defaultFromNumber apply to batch messages exactly as to POST /api/sms (same sendAt and fromNumber for the same input)', async (t) => {
  await connect('quiet-client')
  const now = new Date()
  const end = new Date(Math.floor(now.getTime() / 60_000) * 60_000 + 2 * 3600_000)
  const put = await putSettings('quiet-client', { quietHours: { start: hhmm(new Date(now.getTime() - 3600_000)), end: hhmm(end), timeZone: 'UTC' }, defaultFromNumber: '+15550100000' })
  t.equal(put.statusCode, 200)
  const inputs: Array<Record<string, string>> = [
    {},
    { fromNumber: '+15550100099' },
    { sendAt: new Date(now.getTime() + 30 * 60_000).toISOString() },
    { sendAt: new Date(end.getTime() + 3600_000).toISOString(), fromNumber: '+15550100098' },
  ]
  const m = (i: number, route: string) => ({ clientId: 'quiet-client', to: { contactId: 'c1' }, message: `Night ${i}`, idempotencyKey: `${route}-${i}`, ...inputs[i] })
  const batch = (await postBatch(api, { messages: inputs.map((_, i) => m(i, 'batch')) })).json()
  t.match(batch, { accepted: inputs.length, failed: 0 })
  const singles = await Promise.all(inputs.map(async (_, i) => (await api.app.inject({ method: 'POST', url: '/api/sms', headers: api.auth, payload: m(i, 'single') })).json()))
  const planOf = async (id: string) => {
    const row = await runtime.smsMessages.findById(id)
    return { sendAt: row?.sendAt?.toISOString() ?? null, fromNumber: row?.fromNumber ?? null, job: (await runtime.queues.sms.getJob(jobIds.smsSend(id))) !== undefined }
  }
  const batchRows = await Promise.all(batch.results.map((r: { id: string }) => planOf(r.id)))
  const singleRows = await Promise.all(singles.map((r: { id: string }) => planOf(r.id)))
  t.same(batchRows, singleRows, 'the two routes store the same plan for the same input')
  t.same(batchRows, [
    { sendAt: end.toISOString(), fromNumber: '+15550100000', job: false },
    { sendAt: end.toISOString(), fromNumber: '+15550100099', job: false },
    { sendAt: end.toISOString(), fromNumber: '+15550100000', job: false },
    { sendAt: inputs[3]!.sendAt, fromNumber: '+15550100098', job: false },
  ], 'pushed to the end of quiet hours (held in the outbox), the default sender unless the message names its own')
})

t.test('a batch message with a bad sendAt or fromNumber fails alone, with POST /api/sms\'s code and the field named', async (t) => {
  await connect('bad-sched-client')
  const m = (key: string, extra: Record<string, string>) => ({ clientId: 'bad-sched-client', to: { contactId: 'c1' }, message: 'Hi', idempotencyKey: key, ...extra })
  const res = await postBatch(api, { messages: [
    m('no-offset', { sendAt: '2026-03-14T09:00:00' }),
    m('past', { sendAt: new Date(Date.now() - 3600_000).toISOString() }),
    m('too-far', { sendAt: new Date(Date.now() + 31 * 86_400_000).toISOString() }),
    m('bad-from', { fromNumber: '555-0100' }),
    m('good', { sendAt: new Date(Date.now() + 60_000).toISOString(), fromNumber: '+15550100000' }),
  ] })
  t.equal(res.statusCode, 207)
  t.match(res.json(), { accepted: 1, failed: 4 })
  t.match(res.json().results, [
    { index: 0, error: { code: 'invalid_request', field: 'sendAt', message: /ISO 8601 time with its offset/ } },
    { index: 1, error: { code: 'send_at_in_past', field: 'sendAt', message: /in the past/ } },
    { index: 2, error: { code: 'send_at_too_far', field: 'sendAt', message: /30 days/ } },
    { index: 3, error: { code: 'invalid_request', field: 'fromNumber', message: /E\.164/ } },
    { index: 4, status: 'queued' },
  ])
  t.equal(await rowsOf('bad-sched-client'), 1, 'only the good one is stored')
})

t.test('a batch posted again after a message\'s sendAt has passed answers its stored id, as POST /api/sms does; a new key with a past sendAt is send_at_in_past', async (t) => {
  await connect('retry-client')
  const m = (key: string) => ({ clientId: 'retry-client', to: { contactId: 'c1' }, message: 'Reminder', idempotencyKey: key, sendAt: new Date(Date.now() - 3600_000).toISOString() })
  const { sendAt: _sendAt, ...first } = m('sent-earlier')
  const single = (await api.app.inject({ method: 'POST', url: '/api/sms', headers: api.auth, payload: first })).json()
  const res = await postBatch(api, { messages: [m('sent-earlier'), m('never-seen')] })
  t.match(res.json().results, [
    { index: 0, id: single.id, status: 'queued' },
    { index: 1, error: { code: 'send_at_in_past', field: 'sendAt' } },
  ])
  const singleAgain = await api.app.inject({ method: 'POST', url: '/api/sms', headers: api.auth, payload: m('sent-earlier') })
  t.match(singleAgain.json(), { id: single.id }, 'POST /api/sms answers the same')
  t.equal(await rowsOf('retry-client'), 1)
})
