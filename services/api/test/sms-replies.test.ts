/** Replies (InboundMessage -> sms.received), the message webhook rules, a report before our sent write, the conversation route. */
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { eventually } from '@ghl-connect/testing'
import { CLIENT, JANE, JOHN, MARIA, SUNRISE, twoWay } from './two-way.ts'

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
  t.ok(posts[0]?.verified && posts[0].standardWebhooks, 'signed with CRM_WEBHOOK_SECRET: verified by the typed client and by Standard Webhooks')
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

t.test('a delivery report that arrives before the worker records the SMS as sent is kept and applied with the sent write', async (t) => {
  const { app, auth, control, tokens } = await twoWay(t)
  const { runtime } = app
  const res = await app.inject({ method: 'POST', url: '/api/sms', headers: auth, payload: { clientId: CLIENT, to: { contactId: JANE }, message: 'Your order shipped' } })
  const { id } = res.json()
  // The worker's steps, with the webhook between HighLevel's answer and our write.
  const attemptId = randomUUID()
  t.ok(await runtime.smsMessages.markSending(id, { attemptId, contactId: JANE, startedAt: new Date() }))
  const { data: sent } = await runtime.ghl.messages.sendSms({ accessToken: tokens.access_token, contactId: JANE, message: 'Your order shipped' })
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
  const { app, control } = await twoWay(t)
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

  // A contact HighLevel no longer has: the reply still reaches the CRM, without a number.
  const gone = { ...(ours.delivery as { payload: Record<string, unknown> }).payload, contactId: 'goneContact000000001', messageId: 'goneMessage000000001' }
  t.same(JSON.parse(((await control.redeliverMessageWebhook(gone)) as { responseBody: string }).responseBody), { status: 'processed' })
  t.match((await app.runtime.eventsOutbox!.findById('sms.received-goneMessage000000001'))?.payload, { contactId: 'goneContact000000001', phone: null, body: 'Hi' })

  const install = await control.sendWebhook({ url: control.messageWebhookSettings().webhookUrl ?? '', type: 'INSTALL', locationId: SUNRISE, overrides: { appId: undefined } })
  t.equal(install.status, 403, 'an INSTALL still needs this app\'s id')
})

t.test('GET /api/conversations/:clientId/:contactId/messages: the thread newest first, paged as HighLevel pages it', async (t) => {
  const { app, auth, control, tokens } = await twoWay(t)
  await app.runtime.ghl.messages.sendSms({ accessToken: tokens.access_token, contactId: JANE, message: 'See you at 9' })
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
