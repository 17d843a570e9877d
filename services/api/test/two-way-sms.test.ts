/**
 * Replies and delivery status, end to end: HighLevel is the sandbox (it sends InboundMessage and
 * OutboundMessage webhooks to the api, signed), the worker is a real process, and the CRM is a
 * real HTTP server that receives the signed events.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { eventually, startCrmReceiver } from '@ghl-connect/testing'
import { buildTestApiWithSandbox } from './helper.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SUNRISE = 'sbxLocation000000001'
const JANE = 'sbxContact0000000001'
const JOHN = 'sbxContact0000000002'
const MARIA = 'sbxContact0000000003'
const CLIENT = 'clinic-7'

/** The api listening (HighLevel's webhooks reach it over HTTP), connected to Sunrise Dental with real sandbox tokens, events on. */
async function twoWay (t: Test) {
  const secret = randomBytes(32).toString('hex')
  const crm = await startCrmReceiver(secret)
  t.teardown(() => crm.close())
  let logs = ''
  const api = await buildTestApiWithSandbox(t, { CRM_WEBHOOK_URL: crm.url, CRM_WEBHOOK_SECRET: secret, GHL_RATE_LIMIT_MAX: '900' },
    { rateLimit: { max: 1000 } }, { logs: { write: (line: string) => { logs += line } } })
  const address = await api.app.listen({ host: '127.0.0.1', port: 0 })
  const { control } = api.sandbox
  control.configureMessageWebhooks({ webhookUrl: `${address}/api/ghl-oauth/webhooks` })
  const tokens = control.issueTokens({ locationId: SUNRISE })
  await api.app.runtime.integrations.replaceActive(CLIENT, {
    locationId: SUNRISE, locationName: 'Sunrise Dental', userType: 'Location', scopes: String(tokens.scope).split(' '),
    accessToken: tokens.access_token, refreshToken: String(tokens.refresh_token), expiresAt: new Date(Date.now() + 86_399_000),
  })
  const startWorker = () => {
    const worker = spawn(process.execPath, ['--import=tsx', 'services/worker/src/main.ts'], { cwd: ROOT, env: { ...process.env, ...api.env }, stdio: 'ignore' })
    const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve))
    t.teardown(async () => { if (worker.exitCode === null) worker.kill('SIGKILL'); await exited })
    return { stop: async () => { worker.kill('SIGTERM'); return exited } }
  }
  const outbox = api.app.runtime.eventsOutbox!
  const delivered = (eventId: string) => eventually(`${eventId} delivered to the CRM`, async () =>
    (await outbox.findById(eventId))?.status === 'delivered', 90_000)
  return { ...api, control, crm, tokens, startWorker, delivered, logs: () => logs }
}

t.test('a contact replies: the CRM gets one signed sms.received with the body, even when HighLevel delivers the webhook twice', async (t) => {
  const { app, control, crm, startWorker, delivered, logs } = await twoWay(t)
  const worker = startWorker()

  const { message, delivery } = await control.contactReplies({ contactId: JANE, body: 'Yes, 9 works for me' })
  t.equal((delivery as { status: number }).status, 200)
  t.same(JSON.parse((delivery as { responseBody: string }).responseBody), { status: 'processed' })
  const payload = (delivery as { payload: Record<string, unknown> }).payload
  t.notOk('appId' in payload, 'HighLevel\'s message webhooks name no app')
  const again = await control.redeliverMessageWebhook(payload)
  t.equal((again as { status: number }).status, 200, 'the same reply delivered again is accepted, not an error HighLevel retries')

  const eventId = `sms.received-${message.messageId}`
  await delivered(eventId)
  const third = await control.redeliverMessageWebhook(payload)
  t.equal((third as { status: number }).status, 200, 'and once more after the CRM has it')
  await eventually('no CRM delivery left queued', async () =>
    await app.runtime.queues.crmEvents.getJobCountByTypes('waiting', 'prioritized', 'delayed', 'active') === 0)
  const posts = crm.received.filter((r) => r.event.type === 'sms.received')
  t.equal(posts.length, 1, 'one POST to the CRM')
  t.ok(posts[0]?.signed, 'signed with CRM_WEBHOOK_SECRET')
  t.same(posts[0]?.event.id, eventId, 'its id names HighLevel\'s message')
  t.same(posts[0]?.event.data, {
    clientId: CLIENT, contactId: JANE, phone: '+15550100001', body: 'Yes, 9 works for me',
    conversationId: message.conversationId, messageId: message.messageId, receivedAt: message.receivedAt,
  })
  t.match(logs(), 'sms reply received', 'the reply is in the api\'s log...')
  t.notMatch(logs(), 'Yes, 9 works', '...without its text')
  t.notMatch(logs(), '5550100001', '...or the phone number')
  t.equal(await worker.stop(), 0)
})

t.test('100 SMS, the sandbox reporting 90 delivered and 10 failed: GET /api/sms/:id and sms.delivery agree with the sandbox for all 100', async (t) => {
  const { app, auth, control, crm, startWorker } = await twoWay(t)
  control.configureMessageWebhooks({ auto: true, delayMs: 0, failureRatio: 0.1 })
  const ids: string[] = []
  for (let i = 0; i < 100; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/sms', headers: auth, payload: { clientId: CLIENT, to: { contactId: JANE }, message: `Reminder ${i}` } })
    t.equal(res.statusCode, 202)
    ids.push(res.json().id)
  }
  const worker = startWorker()
  await eventually('100 delivery reports sent and 100 sms.delivery events received', () =>
    control.messageWebhookLog().length === 100 && crm.ofType('sms.delivery').length === 100, 120_000)
  t.ok(control.messageWebhookLog().every((w) => (w.delivery as { status?: number }).status === 200), 'the api took every report (200)')

  const reported = new Map(control.messages().map((m) => [m.messageId, m.status]))
  t.same([...reported.values()].filter((s) => s === 'failed').length, 10, 'the sandbox failed 10')
  const events = new Map(crm.ofType('sms.delivery').map((e) => [e.data.messageId, e]))
  const counts: Record<string, number> = {}
  for (const id of ids) {
    const view = (await app.inject({ url: `/api/sms/${id}`, headers: auth })).json()
    const expected = reported.get(view.ghlMessageId)
    counts[view.deliveryStatus] = (counts[view.deliveryStatus] ?? 0) + 1
    if (view.status !== 'sent' || view.deliveryStatus !== expected || !view.deliveryUpdatedAt) t.fail(`${id}: ${view.status}/${view.deliveryStatus}, the sandbox says ${expected}`)
    const event = events.get(id)
    if (event?.id !== `sms.delivery-${id}-${expected}` || event.data.status !== expected || event.data.ghlMessageId !== view.ghlMessageId) {
      t.fail(`${id}: sms.delivery ${JSON.stringify(event)} does not say ${expected}`)
    }
  }
  t.same(counts, { delivered: 90, failed: 10 }, 'GET /api/sms/:id: 90 delivered, 10 failed, each as the sandbox reported it')
  t.equal(events.size, 100, 'one sms.delivery per message')
  t.equal(await worker.stop(), 0)
})

t.test('a delivery report that arrives before the worker records the SMS as sent is kept and applied with the sent write', async (t) => {
  const { app, auth, control, tokens } = await twoWay(t)
  const { runtime } = app
  const res = await app.inject({ method: 'POST', url: '/api/sms', headers: auth, payload: { clientId: CLIENT, to: { contactId: JANE }, message: 'Your order shipped' } })
  const { id } = res.json()
  // The worker's steps, with the webhook between HighLevel's answer and our write.
  const attemptId = randomUUID()
  t.ok(await runtime.smsMessages.markSending(id, { attemptId, contactId: JANE, startedAt: new Date() }))
  const { data: sent } = await runtime.ghl.sendSms({ accessToken: tokens.access_token, contactId: JANE, message: 'Your order shipped' })
  const early = await control.reportDelivery(sent.messageId, 'failed', { error: { code: '30003', type: 'saas', message: 'Unreachable destination handset' } })
  t.same(JSON.parse((early as { responseBody: string }).responseBody), { status: 'recorded' }, 'answered 200: kept for later')
  t.match((await app.inject({ url: `/api/sms/${id}`, headers: auth })).json(), { status: 'sending', deliveryStatus: null })

  const row = await runtime.smsMessages.markSent(id, attemptId, { messageId: sent.messageId, conversationId: sent.conversationId, status: sent.status })
  t.equal(row?.deliveryStatus, 'failed', 'the sent write applied the kept report')
  t.match((await app.inject({ url: `/api/sms/${id}`, headers: auth })).json(), {
    status: 'sent', ghlMessageId: sent.messageId, deliveryStatus: 'failed', deliveryError: { code: '30003', message: 'Unreachable destination handset' }, deliveryUpdatedAt: /^\d{4}-/,
  })
  const event = await runtime.eventsOutbox!.findById(`sms.delivery-${id}-failed`)
  t.match(event?.payload, { messageId: id, clientId: CLIENT, ghlMessageId: sent.messageId, status: 'failed', error: { code: '30003' } }, 'sms.delivery recorded with it')

  await control.reportDelivery(sent.messageId, 'sent')
  t.match((await app.inject({ url: `/api/sms/${id}`, headers: auth })).json(), { deliveryStatus: 'failed' }, 'a late, earlier status does not move it back')
})

t.test('message webhooks: accepted without appId for a location we hold; ignored (200) for one we do not; refused naming another app', async (t) => {
  const { control } = await twoWay(t)
  const elsewhere = await control.contactReplies({ contactId: MARIA, body: 'Hello?' })
  t.equal((elsewhere.delivery as { status: number }).status, 200, 'a location nobody here connected: 200, so HighLevel does not retry it')
  t.same(JSON.parse((elsewhere.delivery as { responseBody: string }).responseBody), { status: 'ignored' })

  const ours = await control.contactReplies({ contactId: JANE, body: 'Hi' })
  const foreign = await control.redeliverMessageWebhook({ ...(ours.delivery as { payload: Record<string, unknown> }).payload, appId: 'another-app' })
  t.equal((foreign as { status: number }).status, 403)
  t.match(JSON.parse((foreign as { responseBody: string }).responseBody), { error: 'foreign_app' })
  // A reply HighLevel cannot tell us the number of just now: 429, which HighLevel delivers again.
  control.setFaults({ failNext: 1, errorStatus: 503 }, SUNRISE)
  const busy = await control.contactReplies({ contactId: JANE, body: 'Are you there?' })
  t.equal((busy.delivery as { status: number }).status, 429)
  t.match(JSON.parse((busy.delivery as { responseBody: string }).responseBody), { error: 'retry_later' })
  const retried = await control.redeliverMessageWebhook((busy.delivery as { payload: Record<string, unknown> }).payload)
  t.same(JSON.parse((retried as { responseBody: string }).responseBody), { status: 'processed' }, 'HighLevel\'s next delivery is taken')

  const install = await control.sendWebhook({ url: control.messageWebhookSettings().webhookUrl ?? '', type: 'INSTALL', locationId: SUNRISE, overrides: { appId: undefined } })
  t.equal(install.status, 403, 'an INSTALL still needs this app\'s id')
})

t.test('GET /api/conversations/:clientId/:contactId/messages: the thread newest first, paged as HighLevel pages it', async (t) => {
  const { app, auth, control, tokens } = await twoWay(t)
  await app.runtime.ghl.sendSms({ accessToken: tokens.access_token, contactId: JANE, message: 'See you at 9' })
  await control.contactReplies({ contactId: JANE, body: 'Thanks!' })
  const url = `/api/conversations/${CLIENT}/${JANE}/messages`

  const first = await app.inject({ url: `${url}?limit=1`, headers: auth })
  t.equal(first.statusCode, 200, first.body)
  t.match(first.json(), { conversationId: /\w+/, messages: [{ direction: 'inbound', type: 'TYPE_SMS', body: 'Thanks!', status: 'delivered', at: /^\d{4}-/ }] })
  const next = first.json().nextLastMessageId
  t.ok(next, 'a cursor for the next page')
  const second = (await app.inject({ url: `${url}?limit=1&lastMessageId=${next}`, headers: auth })).json()
  t.match(second, { messages: [{ direction: 'outbound', body: 'See you at 9', status: 'pending' }], nextLastMessageId: null })

  const none = await app.inject({ url: `/api/conversations/${CLIENT}/${JOHN}/messages`, headers: auth })
  t.equal(none.statusCode, 404)
  t.match(none.json(), { error: 'conversation_not_found' })
  t.equal((await app.inject({ url: `/api/conversations/nobody/${JANE}/messages`, headers: auth })).json().error, 'not_connected')
  t.equal((await app.inject({ url: `${url}?limit=500`, headers: auth })).statusCode, 400)
  t.equal((await app.inject({ url })).statusCode, 401)
})
