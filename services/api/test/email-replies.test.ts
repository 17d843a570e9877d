/** Email replies (InboundMessage of type Email -> email.received), end to end with the sandbox, PostgreSQL, Redis, the worker and the CRM receiver. */
import t from 'tap'
import { htmlToText } from '../src/webhooks/email-replies.ts'
import { CLIENT, JANE, SUNRISE, twoWay } from './two-way.ts'

type Delivery = { status: number, responseBody: string, payload: Record<string, unknown> }
const answer = (d: unknown) => JSON.parse((d as Delivery).responseBody) as Record<string, unknown>

t.test('a contact replies by email: the CRM gets one signed email.received, even when HighLevel delivers the webhook twice', async (t) => {
  const { control, crm, startWorker, delivered, settledPosts, logs } = await twoWay(t)
  const worker = startWorker()

  const { message, delivery } = await control.contactEmails({
    contactId: JANE, subject: 'Re: Your appointment', html: '<div style="font-family: verdana">Yes, 9 works &amp; thanks<br>Jane</div>',
    attachments: ['https://files.example/insurance-card.png'],
  })
  t.equal((delivery as Delivery).status, 200)
  t.same(answer(delivery), { status: 'processed' })
  const payload = (delivery as Delivery).payload
  t.equal(payload.messageType, 'Email')
  const again = await control.redeliverMessageWebhook(payload)
  t.same(answer(again), { status: 'processed' }, 'the same email delivered again (a new webhookId) is accepted, not an error HighLevel retries')

  const email = message.email!
  const eventId = `email.received-${email.emailMessageId}`
  await delivered(eventId)
  t.same(answer(await control.redeliverMessageWebhook(payload)), { status: 'processed' }, 'and once more after the CRM has it')
  const posts = await settledPosts('email.received')
  t.equal(posts.length, 1, 'one POST to the CRM')
  t.ok(posts[0]?.verified && posts[0].standardWebhooks, 'signed with CRM_WEBHOOK_SECRET: verified by the typed client and by Standard Webhooks')
  t.equal(posts[0]?.event.id, eventId, 'its id names HighLevel\'s email')
  t.same(posts[0]?.event.data, {
    clientId: CLIENT, locationId: SUNRISE, contactId: JANE, conversationId: message.conversationId,
    emailMessageId: email.emailMessageId, messageId: null, threadId: email.threadId,
    from: 'Jane Doe <jane@example.com>', to: ['office@sbxlocation000000001.example'], subject: 'Re: Your appointment',
    text: 'Yes, 9 works & thanks\nJane', html: '<div style="font-family: verdana">Yes, 9 works &amp; thanks<br>Jane</div>',
    attachments: ['https://files.example/insurance-card.png'], receivedAt: message.receivedAt,
  })
  t.equal(crm.received.filter((r) => r.event.type === 'sms.received').length, 0, 'an email is not an SMS reply')
  t.match(logs(), 'email reply received', 'the email is in the api\'s log...')
  for (const personal of ['jane@example.com', 'Jane Doe', 'office@sbxlocation', 'Your appointment', '9 works', 'insurance-card']) {
    t.notMatch(logs(), personal, `...without ${personal}`)
  }
  t.equal(await worker.stop(), 0)
})

t.test('an email for a location no client holds is ignored as an SMS is (200, no event); one for a location we hold but without its fields is refused with invalid_webhook', async (t) => {
  const { app, control, logs } = await twoWay(t)
  const outbox = app.runtime.eventsOutbox!
  const stranger = control.addContact({ locationId: 'sbxLocation000000002', name: 'Maria Garcia', email: 'maria@example.com' })
  const elsewhere = await control.contactEmails({ contactId: stranger.id, subject: 'Leak?', text: 'Hello' })
  t.equal((elsewhere.delivery as Delivery).status, 200, 'a location nobody here connected: 200, so HighLevel does not retry it')
  t.same(answer(elsewhere.delivery), { status: 'ignored' })
  t.equal(await outbox.findById(`email.received-${elsewhere.message.email!.emailMessageId}`), null, 'no event')

  const ours = await control.contactEmails({ contactId: JANE, subject: 'Fine', text: 'Fine' })
  const base = (ours.delivery as Delivery).payload
  const bad: Array<[string, Record<string, unknown>]> = [
    ['no contactId', { contactId: undefined }],
    ['to neither an address nor a list of them', { to: 42 }],
    ['to a list with a number', { to: ['a@example.com', 7] }],
    ['subject not a string', { subject: { text: 'Private subject' } }],
    ['attachments not a list', { attachments: 'https://files.example/a.pdf' }],
    ['an attachment that is no URL', { attachments: [{ name: 'a.pdf' }] }],
    ['body not a string', { body: ['Private body'] }],
  ]
  for (const [what, change] of bad) {
    const res = await control.redeliverMessageWebhook({ ...base, emailMessageId: `bad${what.length}`, ...change })
    t.equal((res as Delivery).status, 400, `${what}: 400`)
    t.match(answer(res), { error: 'invalid_webhook', message: /^The webhook's|^An InboundMessage|^Each of the webhook's/ }, `${what}: a stable code and a sentence`)
  }
  t.notMatch(logs(), 'Private', 'a refused email\'s fields are not logged')

  // Without emailMessageId (the schema has it, an email might come without): HighLevel's message id names it.
  const noEmailId = await control.redeliverMessageWebhook({ ...base, emailMessageId: undefined, messageId: 'ghlMessage0000000001' })
  t.same(answer(noEmailId), { status: 'processed' })
  t.match((await outbox.findById('email.received-ghlMessage0000000001'))?.payload, { messageId: 'ghlMessage0000000001', emailMessageId: 'ghlMessage0000000001', to: ['office@sbxlocation000000001.example'] })
  // `to` as the schema types it (a string), and a plain-text body.
  const plain = await control.redeliverMessageWebhook({ ...base, emailMessageId: 'plainEmail0000000001', to: 'office@sunrise.example', body: 'Plain words', contentType: 'text/plain' })
  t.same(answer(plain), { status: 'processed' })
  t.match((await outbox.findById('email.received-plainEmail0000000001'))?.payload, { to: ['office@sunrise.example'], text: 'Plain words', html: null })
})

t.test('htmlToText: tags dropped, blocks end lines, style and script left out, entities decoded', async (t) => {
  t.equal(htmlToText('<div style="font-family: verdana, geneva; font-size: 11pt;">Testing Email Notification</div>'), 'Testing Email Notification')
  t.equal(htmlToText('<html><head><title>x</title><style>p { color: red }</style></head><body><p>Hi&nbsp;Ann,</p><p>5 &lt; 6 &amp; &#233;t&#xe9;</p><script>alert(1)</script></body></html>'), 'Hi Ann,\n5 < 6 & été')
  t.equal(htmlToText('a<br/>b<BR>c'), 'a\nb\nc')
  t.equal(htmlToText('1 < 2 and no tag'), '1 < 2 and no tag', 'a lone < is text')
  t.equal(htmlToText('<p>one</p>\n\n\n\n<p>two</p>'), 'one\n\ntwo')
  t.equal(htmlToText('&bogus; &#0; &#x110000;'), '&bogus; &#0; &#x110000;', 'what is not an entity stays')
  t.equal(htmlToText(`${'<'.repeat(50_000)}x`), `${'<'.repeat(50_000)}x`, 'a long run of < is read once (linear)')
})

t.test('GET /api/conversations/:clientId/:contactId/messages lists an email in the thread with its type and subject', async (t) => {
  const { app, auth, control, tokens } = await twoWay(t)
  await app.runtime.ghl.messages.sendSms({ accessToken: tokens.access_token, contactId: JANE, message: 'See you at 9' })
  const { message } = await control.contactEmails({ contactId: JANE, subject: 'Re: See you at 9', html: '<p>Could we make it 10?</p>' })
  await control.contactReplies({ contactId: JANE, body: 'Never mind, 9 is fine' })

  const res = await app.inject({ url: `/api/conversations/${CLIENT}/${JANE}/messages`, headers: auth })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json().messages, [
    { direction: 'inbound', type: 'TYPE_SMS', subject: null, body: 'Never mind, 9 is fine' },
    { id: message.messageId, direction: 'inbound', type: 'TYPE_EMAIL', subject: 'Re: See you at 9', body: '<p>Could we make it 10?</p>', status: 'delivered', at: message.receivedAt },
    { direction: 'outbound', type: 'TYPE_SMS', subject: null, body: 'See you at 9' },
  ])
})
