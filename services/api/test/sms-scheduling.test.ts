import t from 'tap'
import type { Test } from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { jobIds } from '@ghl-connect/queues'
import { buildTestApiWithSandbox, type TestApiWithSandbox } from './helper.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SUNRISE = 'sbxLocation000000001'
const JANE = 'sbxContact0000000001'
const CLIENT = 'crm-client-9'

async function eventually<T> (what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function connected (t: Test): Promise<TestApiWithSandbox> {
  const api = await buildTestApiWithSandbox(t)
  const tokens = api.sandbox.control.issueTokens({ locationId: SUNRISE })
  await api.app.runtime.integrations.replaceActive(CLIENT, {
    locationId: SUNRISE, userType: 'Location', scopes: String(tokens.scope).split(' '), accessToken: tokens.access_token,
    refreshToken: String(tokens.refresh_token), expiresAt: new Date(Date.now() + 86_399_000),
  })
  return api
}

const post = (api: TestApiWithSandbox, payload: Record<string, unknown>) =>
  api.app.inject({ method: 'POST', url: '/api/sms', headers: api.auth, payload: { clientId: CLIENT, to: { contactId: JANE }, ...payload } })
const view = async (api: TestApiWithSandbox, id: string) => (await api.app.inject({ url: `/api/sms/${id}`, headers: api.auth })).json()
const cancel = (api: TestApiWithSandbox, id: string) => api.app.inject({ method: 'DELETE', url: `/api/sms/${id}`, headers: api.auth })
const putSettings = (api: TestApiWithSandbox, body: unknown, clientId = CLIENT) =>
  api.app.inject({ method: 'PUT', url: `/api/clients/${clientId}/settings`, headers: api.auth, payload: body as object })
const hhmm = (d: Date) => d.toISOString().slice(11, 16)

/** A worker process on the api's database, Redis prefix and sandbox, warmed up by one SMS sent through it. */
async function startWorker (t: Test, api: TestApiWithSandbox) {
  const worker = spawn(process.execPath, ['--import=tsx', 'services/worker/src/main.ts'], { cwd: ROOT, env: { ...process.env, ...api.env }, stdio: 'ignore' })
  const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve))
  t.teardown(async () => { if (worker.exitCode === null) worker.kill('SIGKILL'); await exited })
  const { id } = (await post(api, { message: 'Warming up' })).json()
  await eventually('the worker to send', async () => (await view(api, id)).status === 'sent' || undefined)
}

t.test('sendAt is checked: an offset is required, the past and more than 30 days ahead are refused with their own codes', async (t) => {
  const api = await connected(t)
  const cases: Array<[string, number, string]> = [
    ['2026-03-14T09:00:00', 400, 'invalid_request'],
    ['tomorrow at nine', 400, 'invalid_request'],
    [new Date(Date.now() - 3600_000).toISOString(), 400, 'send_at_in_past'],
    [new Date(Date.now() + 31 * 86_400_000).toISOString(), 400, 'send_at_too_far'],
  ]
  for (const [sendAt, status, error] of cases) {
    const res = await post(api, { message: 'Checked', sendAt })
    t.equal(res.statusCode, status, sendAt)
    t.match(res.json(), { error, message: /sendAt/ }, sendAt)
  }
  const bad = await post(api, { message: 'Checked', fromNumber: '555-0100' })
  t.match(bad.json(), { error: 'invalid_request', message: /fromNumber .*E\.164/ })
  t.equal(await api.app.runtime.smsMessages.oldestQueuedAt(), null, 'nothing was stored')
})

t.test('an SMS scheduled days ahead is held in the outbox without a job, and GET shows its sendAt', async (t) => {
  const api = await connected(t)
  const sendAt = new Date(Date.now() + 3 * 86_400_000)
  const res = await post(api, { message: 'Your visit is in three days', sendAt: sendAt.toISOString().replace('Z', '+00:00') })
  t.equal(res.statusCode, 202)
  const { id } = res.json()
  t.match(await view(api, id), { status: 'queued', sendAt: sendAt.toISOString(), fromNumber: null })
  t.equal(await api.app.runtime.queues.sms.getJob(jobIds.smsSend(id)), undefined, 'nothing in Redis until its time nears')
  const soon = (await post(api, { message: 'In five minutes', sendAt: new Date(Date.now() + 5 * 60_000).toISOString() })).json()
  t.equal(await api.app.runtime.queues.sms.getJob(jobIds.smsSend(soon.id)).then((j) => j?.getState()), 'delayed', 'one due soon waits as a delayed job')
})

t.test('client settings: GET answers the defaults, PUT replaces them, and bad values are refused field by field', async (t) => {
  const api = await connected(t)
  const get = async () => (await api.app.inject({ url: `/api/clients/${CLIENT}/settings`, headers: api.auth })).json()
  t.same(await get(), { quietHours: null, defaultFromNumber: null })
  const wanted = { quietHours: { start: '21:00', end: '08:00', timeZone: 'America/New_York' }, defaultFromNumber: '+15550100000' }
  const put = await putSettings(api, wanted)
  t.equal(put.statusCode, 200)
  t.same(put.json(), wanted)
  t.same(await get(), wanted)

  const bad = await putSettings(api, { quietHours: { start: '9pm', end: '08:00', timeZone: 'Eastern' }, defaultFromNumber: '0800 123' })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { error: 'invalid_settings', message: /quietHours\.start .*HH:MM.*quietHours\.timeZone .*IANA.*defaultFromNumber .*E\.164/ })
  t.equal((await putSettings(api, { quietHours: null })).statusCode, 400, 'both fields are required: null clears one')
  t.same(await get(), wanted, 'a refused PUT changes nothing')
  t.same((await putSettings(api, { quietHours: null, defaultFromNumber: null })).json(), { quietHours: null, defaultFromNumber: null })
  t.equal((await api.app.inject({ url: `/api/clients/${CLIENT}/settings` })).statusCode, 401, 'behind the API key')
})

t.test('inside quiet hours an SMS is pushed to their end at intake; the default sender number is recorded', async (t) => {
  const api = await connected(t)
  const now = new Date()
  const end = new Date(Math.floor(now.getTime() / 60_000) * 60_000 + 2 * 3600_000)
  await putSettings(api, { quietHours: { start: hhmm(new Date(now.getTime() - 3600_000)), end: hhmm(end), timeZone: 'UTC' }, defaultFromNumber: '+15550100000' })
  const { id } = (await post(api, { message: 'Sent at night' })).json()
  t.match(await view(api, id), { status: 'queued', sendAt: end.toISOString(), fromNumber: '+15550100000' })
  t.equal(await api.app.runtime.queues.sms.getJob(jobIds.smsSend(id)), undefined, 'held in the outbox, not in Redis')
  const own = (await post(api, { message: 'From the other line', fromNumber: '+15550100099' })).json()
  t.match(await view(api, own.id), { fromNumber: '+15550100099' }, "the message's own number wins over the default")
})

t.test('DELETE cancels a queued SMS (again: the same answer), 404 for an unknown id, 409 not_cancellable once it is sending or ended', async (t) => {
  const api = await connected(t)
  const { id } = (await post(api, { message: 'Cancel me', sendAt: new Date(Date.now() + 60_000).toISOString() })).json()
  const first = await cancel(api, id)
  t.equal(first.statusCode, 200)
  t.match(first.json(), { id, status: 'cancelled' })
  t.equal(await api.app.runtime.queues.sms.getJob(jobIds.smsSend(id)), undefined, 'its job is gone')
  const again = await cancel(api, id)
  t.equal(again.statusCode, 200)
  t.same(again.json(), first.json(), 'cancelling twice answers the same')
  t.match((await post(api, { message: 'Cancel me', sendAt: new Date(Date.now() + 60_000).toISOString() })).statusCode, 202)

  const unknown = await cancel(api, '00000000-0000-4000-8000-000000000000')
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { error: 'sms_not_found' })

  for (const status of ['sending', 'sent', 'failed']) {
    const other = (await post(api, { message: `Already ${status}` })).json()
    await api.db.sql`update sms_messages set status = ${status} where id = ${other.id}`
    const res = await cancel(api, other.id)
    t.equal(res.statusCode, 409, status)
    t.match(res.json(), { error: 'not_cancellable', message: new RegExp(status) }, status)
  }
})

t.test('with a worker: an SMS scheduled 3 s ahead goes 3 to 5 s later; one scheduled and cancelled is never sent', async (t) => {
  const api = await connected(t)
  await startWorker(t, api)
  const requestedAt = Date.now()
  const scheduled = (await post(api, { message: 'Three seconds later', sendAt: new Date(requestedAt + 3000).toISOString() })).json()
  const doomed = (await post(api, { message: 'Never sent', sendAt: new Date(requestedAt + 2000).toISOString() })).json()
  t.match((await cancel(api, doomed.id)).json(), { status: 'cancelled' })

  const sent = await eventually('the scheduled SMS sent', async () => {
    const v = await view(api, scheduled.id)
    return v.status === 'sent' ? v : undefined
  })
  const late = Date.parse(sent.sentAt) - Date.parse(sent.sendAt)
  t.equal(Date.parse(sent.sendAt), requestedAt + 3000, 'sendAt as asked')
  t.ok(late >= 0 && late <= 2000, `sent ${late} ms after its sendAt: 3 to 5 s after it was asked for`)
  t.match(await view(api, doomed.id), { status: 'cancelled', attempts: 0, sentAt: null })
  t.same(api.sandbox.control.messages(SUNRISE).map((m) => m.body), ['Warming up', 'Three seconds later'], 'the cancelled one never reached HighLevel')
})

t.test('with a worker: the sender number (the message\'s, or the client\'s default) reaches HighLevel; one it refuses fails with from_number_invalid', async (t) => {
  const api = await connected(t)
  api.sandbox.control.updateLocation(SUNRISE, { phoneNumbers: ['+15550100000', '+15550100099'] })
  await startWorker(t, api)
  await putSettings(api, { quietHours: null, defaultFromNumber: '+15550100099' })
  const byDefault = (await post(api, { message: 'From the default' })).json()
  const own = (await post(api, { message: 'From the main line', fromNumber: '+15550100000' })).json()
  const refused = (await post(api, { message: 'From a stranger', fromNumber: '+15550777777' })).json()
  const settledView = (id: string) => eventually(`sms ${id} settled`, async () => {
    const v = await view(api, id)
    return v.status === 'sent' || v.status === 'failed' ? v : undefined
  })
  t.match(await settledView(byDefault.id), { status: 'sent', fromNumber: '+15550100099' })
  t.match(await settledView(own.id), { status: 'sent', fromNumber: '+15550100000' })
  t.match(await settledView(refused.id), { status: 'failed', attempts: 1, error: { code: 'from_number_invalid', message: /defaultFromNumber/ } })
  const sent = api.sandbox.control.messages(SUNRISE).filter((m) => m.body !== 'Warming up')
  t.same(sent.map((m) => [m.body, m.fromNumber]).sort(), [['From the default', '+15550100099'], ['From the main line', '+15550100000']])
})

t.test('with a worker: a batch message scheduled 3 s ahead is sent after its sendAt, from the client\'s default sender number', async (t) => {
  const api = await connected(t)
  api.sandbox.control.updateLocation(SUNRISE, { phoneNumbers: ['+15550100000', '+15550100099'] })
  await startWorker(t, api)
  await putSettings(api, { quietHours: null, defaultFromNumber: '+15550100099' })
  const sendAt = new Date(Date.now() + 3000)
  const res = await api.app.inject({ method: 'POST', url: '/api/sms/batch', headers: api.auth, payload: { messages: [
    { clientId: CLIENT, to: { contactId: JANE }, message: 'From the batch, three seconds later', idempotencyKey: 'batch-3s', sendAt: sendAt.toISOString() },
  ] } })
  t.equal(res.statusCode, 207)
  const { id } = res.json().results[0]
  t.ok(id, 'taken in')
  t.match(await view(api, id), { status: 'queued', sendAt: sendAt.toISOString(), fromNumber: '+15550100099' })
  const sent = await eventually('the batch SMS sent', async () => {
    const v = await view(api, id)
    return v.status === 'sent' ? v : undefined
  })
  t.ok(Date.parse(sent.sentAt) >= sendAt.getTime(), 'not sent before its sendAt')
  t.same(api.sandbox.control.messages(SUNRISE).filter((m) => m.body !== 'Warming up').map((m) => [m.body, m.fromNumber]),
    [['From the batch, three seconds later', '+15550100099']], 'HighLevel got it once, from the default number')
})
