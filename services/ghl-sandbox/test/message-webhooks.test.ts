import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { json, listening, SUNRISE } from './helper.ts'

const JANE = 'sbxContact0000000001'

interface Received { headers: IncomingMessage['headers'], payload: Record<string, unknown> }

/** The app's webhook URL: keeps what it got, answers 200. */
async function receiver (t: Test): Promise<{ url: string, received: Received[] }> {
  const received: Received[] = []
  const server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c) => { raw += c })
    req.on('end', () => {
      received.push({ headers: req.headers, payload: JSON.parse(raw) })
      res.end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`, received }
}

/**
 * HighLevel's pages for the two events (test/ghl-docs/, copied unchanged): the message schema (the
 * first JSON schema block) and the SMS example (the first example).
 */
function documented (page: 'InboundMessage' | 'OutboundMessage', channel: 'SMS' | 'Email' = 'SMS') {
  const text = readFileSync(fileURLToPath(new URL(`./ghl-docs/${page}.md`, import.meta.url)), 'utf8')
  const blocks = [...text.matchAll(/```json[^\n]*\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] ?? ''))
  // The Email schema and example come later on the page: the ones naming emailMessageId and messageType Email.
  const [schema, example] = channel === 'SMS'
    ? [blocks[0], blocks[1]]
    : [blocks.find((b) => b.properties?.emailMessageId), blocks.find((b) => b.messageType === 'Email')]
  return { schema: schema as { properties: Record<string, { type: string }> }, example: example as Record<string, unknown> }
}
// In every delivery (HighLevel's webhook guidance), not in the pages' schemas.
const DOCS_SILENT = ['timestamp', 'webhookId']

async function sendSms (url: string, accessToken: string, message: string): Promise<{ messageId: string }> {
  const res = await fetch(`${url}/conversations/messages`, {
    ...json('POST', { type: 'SMS', contactId: JANE, message }),
    headers: { 'content-type': 'application/json', version: '2021-04-15', authorization: `Bearer ${accessToken}` },
  })
  return await res.json() as { messageId: string }
}

const eventually = async <T>(check: () => T | undefined): Promise<T> => {
  for (let i = 0; i < 400; i++) {
    const value = check()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error('gave up waiting')
}

t.test('contract: a contact\'s reply goes out as InboundMessage with the fields and types of HighLevel\'s SMS example, signed', async (t) => {
  const { url, control } = await listening(t)
  const hooks = await receiver(t)
  const res = await fetch(`${url}/_sandbox/replies`, json('POST', { contactId: JANE, body: 'Yes, 9 works', url: hooks.url }))
  t.equal(res.status, 200)
  const [got] = hooks.received
  const payload = got?.payload ?? {}
  const { schema, example } = documented('InboundMessage')
  t.match(payload, { type: 'InboundMessage', locationId: SUNRISE, contactId: JANE, body: 'Yes, 9 works', direction: 'inbound', messageType: 'SMS', status: 'delivered' })
  t.notOk('appId' in payload, 'no appId, as in HighLevel\'s examples')
  t.ok(typeof got?.headers['x-ghl-signature'] === 'string', 'signed')
  for (const k of Object.keys(example)) t.ok(k in payload, `the example's ${k} is there`)
  for (const k of Object.keys(payload).filter((k) => !DOCS_SILENT.includes(k))) {
    t.equal(Array.isArray(payload[k]) ? 'array' : typeof payload[k], schema.properties[k]?.type, `${k} is a ${schema.properties[k]?.type} as the schema says`)
  }
  t.equal(control.received(SUNRISE)[0]?.messageId, payload.messageId, 'the reply is in the location\'s record')
})

t.test('contract: delivery reports go out as OutboundMessage after each send, failed by count (0.1 = every 10th), after the delay', async (t) => {
  const { url, control } = await listening(t)
  const hooks = await receiver(t)
  const put = await fetch(`${url}/_sandbox/message-webhooks`, json('PUT', { webhookUrl: hooks.url, auto: true, delayMs: 20, failureRatio: 0.1 }))
  t.same(await put.json(), { webhookUrl: hooks.url, auto: true, delayMs: 20, failureRatio: 0.1, dropRatio: 0 })
  const { access_token: token } = control.issueTokens({ locationId: SUNRISE })
  const sent: string[] = []
  for (let i = 0; i < 20; i++) sent.push((await sendSms(url, token, `Reminder ${i}`)).messageId)
  await eventually(() => hooks.received.length === 20 ? true : undefined)
  const statusOf = new Map(hooks.received.map((r) => [r.payload.messageId, r.payload.status]))
  t.same(sent.map((id) => statusOf.get(id)), sent.map((_, i) => (i % 10 === 9 ? 'failed' : 'delivered')), 'the 10th and the 20th failed, the others were delivered')
  const { schema, example } = documented('OutboundMessage')
  const payload = hooks.received[0]?.payload ?? {}
  t.match(payload, { type: 'OutboundMessage', locationId: SUNRISE, contactId: JANE, direction: 'outbound', messageType: 'SMS' })
  for (const k of Object.keys(example).filter((k) => k !== 'direction')) t.ok(k in payload, `the example's ${k} is there`)
  for (const k of Object.keys(payload).filter((k) => !DOCS_SILENT.includes(k))) {
    t.equal(Array.isArray(payload[k]) ? 'array' : typeof payload[k], schema.properties[k]?.type, `${k} is a ${schema.properties[k]?.type} as the schema says`)
  }
  t.same(control.messages().map((m) => m.status), sent.map((_, i) => (i % 10 === 9 ? 'failed' : 'delivered')), 'each message keeps the status reported')
})

t.test('one message\'s delivery is reported on demand, with HighLevel\'s provider error when asked; bad control calls are refused', async (t) => {
  const { url, control } = await listening(t)
  const hooks = await receiver(t)
  control.configureMessageWebhooks({ webhookUrl: hooks.url })
  const { access_token: token } = control.issueTokens({ locationId: SUNRISE })
  const { messageId } = await sendSms(url, token, 'Hello')
  t.equal(hooks.received.length, 0, 'no report unless auto or asked')
  const error = { code: '30007', type: 'saas', message: 'Carrier violation' }
  const res = await fetch(`${url}/_sandbox/messages/${messageId}/delivery`, json('POST', { status: 'undelivered', error }))
  t.equal(res.status, 200)
  t.match(hooks.received[0]?.payload, { type: 'OutboundMessage', messageId, status: 'undelivered', error })
  t.equal((await fetch(`${url}/_sandbox/messages/${messageId}/delivery`, json('POST', { status: 'lost' }))).status, 400)
  t.equal((await fetch(`${url}/_sandbox/messages/nope/delivery`, json('POST', { status: 'delivered' }))).status, 400)
  t.equal((await fetch(`${url}/_sandbox/message-webhooks`, json('PUT', { failureRatio: 2 }))).status, 400)
  t.equal((await fetch(`${url}/_sandbox/replies`, json('POST', { contactId: 'nobody', body: 'x' }))).status, 400)
})

t.test('dropRatio loses that share of message webhooks by count, replies and reports alike, never retried; the messages stay in the export', async (t) => {
  const { url, control } = await listening(t)
  const hooks = await receiver(t)
  const put = await fetch(`${url}/_sandbox/message-webhooks`, json('PUT', { webhookUrl: hooks.url, dropRatio: 0.5 }))
  t.match(await put.json(), { dropRatio: 0.5 })
  const { access_token: token } = control.issueTokens({ locationId: SUNRISE })
  const sent = []
  for (let i = 0; i < 2; i++) sent.push((await sendSms(url, token, `Hello ${i}`)).messageId)
  for (const id of sent) await control.reportDelivery(id, 'delivered')
  for (let i = 0; i < 2; i++) await control.contactReplies({ contactId: JANE, body: `Reply ${i}` })
  t.equal(hooks.received.length, 2, 'half of the four went out')
  t.same(control.messageWebhookLog().map((w) => 'error' in w.delivery && /dropped on purpose/.test(w.delivery.error)), [false, true, false, true], 'the 2nd and 4th due were dropped: decided by count')
  t.equal(control.stats().messageWebhooksDropped, 2)
  const res = await fetch(`${url}/conversations/messages/export?locationId=${SUNRISE}&channel=SMS&sortOrder=asc`, { headers: { authorization: `Bearer ${token}`, version: '2021-04-15' } })
  const { messages } = await res.json() as { messages: Array<{ direction: string, status: string }> }
  t.same(messages.map((m) => [m.direction, m.status]), [['outbound', 'delivered'], ['outbound', 'delivered'], ['inbound', 'delivered'], ['inbound', 'delivered']], 'every message and status is still in the export')
  t.equal((await fetch(`${url}/_sandbox/message-webhooks`, json('PUT', { dropRatio: -1 }))).status, 400)
})

t.test('a conversation lists its messages newest first, paged by lastMessageId; search finds it by contact', async (t) => {
  const { url, control } = await listening(t)
  const hooks = await receiver(t)
  control.configureMessageWebhooks({ webhookUrl: hooks.url })
  const { access_token: token } = control.issueTokens({ locationId: SUNRISE })
  const headers = { version: '2021-04-15', authorization: `Bearer ${token}` }
  await sendSms(url, token, 'first')
  await control.contactReplies({ contactId: JANE, body: 'second' })
  await sendSms(url, token, 'third')
  const search = await (await fetch(`${url}/conversations/search?locationId=${SUNRISE}&contactId=${JANE}`, { headers })).json() as { conversations: Array<{ id: string }>, total: number }
  t.equal(search.total, 1)
  const id = search.conversations[0]?.id
  const page1 = await (await fetch(`${url}/conversations/${id}/messages?limit=2`, { headers })).json() as { messages: Array<{ body: string, direction: string }>, nextPage: boolean, lastMessageId: string }
  t.same(page1.messages.map((m) => [m.body, m.direction]), [['third', 'outbound'], ['second', 'inbound']])
  t.equal(page1.nextPage, true)
  const page2 = await (await fetch(`${url}/conversations/${id}/messages?limit=2&lastMessageId=${page1.lastMessageId}`, { headers })).json() as typeof page1
  t.same(page2.messages.map((m) => m.body), ['first'])
  t.equal(page2.nextPage, false)
  const none = await (await fetch(`${url}/conversations/search?locationId=${SUNRISE}&contactId=sbxContact0000000002`, { headers })).json()
  t.same(none, { conversations: [], total: 0 }, 'a contact never written to has no conversation')
})

t.test('message webhooks configured at start (as start.sh does) are where a reset returns to', async (t) => {
  const { control } = await listening(t, { messageWebhooks: { webhookUrl: 'http://127.0.0.1:9/api/ghl-oauth/webhooks', auto: true } })
  const configured = { webhookUrl: 'http://127.0.0.1:9/api/ghl-oauth/webhooks', auto: true, delayMs: 0, failureRatio: 0, dropRatio: 0 }
  t.same(control.messageWebhookSettings(), configured)
  control.configureMessageWebhooks({ webhookUrl: null, auto: false })
  control.reset()
  t.same(control.messageWebhookSettings(), configured)
})

t.test('contract: a contact\'s email goes out as InboundMessage with the fields of HighLevel\'s Email example, signed, and joins the conversation as an email', async (t) => {
  const { url, control } = await listening(t)
  const hooks = await receiver(t)
  const res = await fetch(`${url}/_sandbox/email-replies`, json('POST', {
    contactId: JANE, subject: 'Re: your appointment', text: 'Yes, 9 <works>', attachments: ['https://files.example/x-ray.pdf'], url: hooks.url,
  }))
  t.equal(res.status, 200)
  const [got] = hooks.received
  const payload = got?.payload ?? {}
  const { schema, example } = documented('InboundMessage', 'Email')
  t.match(payload, {
    type: 'InboundMessage', locationId: SUNRISE, contactId: JANE, direction: 'inbound', messageType: 'Email',
    from: 'Jane Doe <jane@example.com>', to: ['office@sbxlocation000000001.example'], subject: 'Re: your appointment',
    body: '<div>Yes, 9 &lt;works&gt;</div>', attachments: ['https://files.example/x-ray.pdf'], emailMessageId: /^\w{20}$/,
  })
  t.equal(payload.threadId, payload.emailMessageId, 'a new email starts its own thread, as in the example')
  t.notOk('appId' in payload, 'no appId, as in HighLevel\'s examples')
  t.ok(typeof got?.headers['x-ghl-signature'] === 'string', 'signed')
  for (const k of Object.keys(example)) t.ok(k in payload, `the example's ${k} is there`)
  // The page's example has `from` and `subject` (not in its schema) and `to` as an array (its schema: a string).
  const exampleOnly = ['from', 'subject', 'to']
  for (const k of Object.keys(payload).filter((k) => !DOCS_SILENT.includes(k) && !exampleOnly.includes(k))) {
    t.equal(Array.isArray(payload[k]) ? 'array' : typeof payload[k], schema.properties[k]?.type, `${k} is a ${schema.properties[k]?.type} as the schema says`)
  }
  for (const k of exampleOnly) t.equal(Array.isArray(payload[k]) ? 'array' : typeof payload[k], Array.isArray(example[k]) ? 'array' : typeof example[k], `${k} as in the example`)

  const { access_token: token } = control.issueTokens({ locationId: SUNRISE })
  const headers = { version: '2021-04-15', authorization: `Bearer ${token}` }
  const page = await (await fetch(`${url}/conversations/${String(payload.conversationId)}/messages`, { headers })).json() as { messages: Array<Record<string, unknown>> }
  t.match(page.messages[0], {
    type: 3, messageType: 'TYPE_EMAIL', direction: 'inbound', body: payload.body, contentType: 'text/html',
    attachments: ['https://files.example/x-ray.pdf'], meta: { email: { messageIds: [payload.emailMessageId] } },
  }, 'listed in the conversation as an email')
  const search = await (await fetch(`${url}/conversations/search?locationId=${SUNRISE}&contactId=${JANE}`, { headers })).json() as { conversations: Array<Record<string, unknown>> }
  t.match(search.conversations[0], { lastMessageType: 'TYPE_EMAIL', lastMessageDirection: 'inbound' })

  const reply = await control.contactEmails({ contactId: JANE, subject: 'Re: Re: your appointment', html: '<p>See you</p>', threadId: String(payload.threadId), url: hooks.url })
  t.match(hooks.received[1]?.payload, { body: '<p>See you</p>', threadId: payload.threadId, emailMessageId: reply.message.email?.emailMessageId }, 'a reply continues the thread')
  t.equal(control.received(SUNRISE).filter((m) => m.type === 'Email').length, 2, 'both in the location\'s record')
  await control.contactReplies({ contactId: JANE, body: 'and by SMS', url: hooks.url })
  const exported = async (channel?: string) => await (await fetch(`${url}/conversations/messages/export?locationId=${SUNRISE}&contactId=${JANE}${channel ? `&channel=${channel}` : ''}&sortOrder=asc`, { headers })).json() as { messages: Array<Record<string, unknown>>, total: number }
  const emails = await exported('Email')
  t.equal(emails.total, 2, 'the export lists the emails with channel Email')
  t.match(emails.messages[0], { id: page.messages[0]?.id, type: 3, messageType: 'TYPE_EMAIL', direction: 'inbound', meta: { email: { messageIds: [payload.emailMessageId] } } })
  t.same((await exported()).messages.map((m) => [m.messageType, m.direction, m.body]), [['TYPE_SMS', 'inbound', 'and by SMS']], 'and, without a channel, every message but email, replies included')
})

t.test('email replies: a contact without an address, an unknown contact or a bad field is refused by the control API', async (t) => {
  const { url } = await listening(t)
  const post = (body: unknown) => fetch(`${url}/_sandbox/email-replies`, json('POST', body))
  t.equal((await post({ contactId: 'sbxContact0000000002', subject: 'Hi', text: 'x', url: 'http://127.0.0.1:9/' })).status, 400, 'John has no email address')
  t.equal((await post({ contactId: 'nobody', subject: 'Hi', url: 'http://127.0.0.1:9/' })).status, 400)
  t.equal((await post({ contactId: JANE, text: 'no subject' })).status, 400)
  t.equal((await post({ contactId: JANE, subject: 'Hi', attachments: 'one.pdf' })).status, 400)
})
