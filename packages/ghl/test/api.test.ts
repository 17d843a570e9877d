import t from 'tap'
import { failure, harness, HARBOR, JANE, SUNRISE } from './helper.ts'

t.test('locations.get answers the location with its name, and the rate-limit headers', async (t) => {
  const { client, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const answer = await client.locations.get({ accessToken, locationId: SUNRISE })
  t.equal(answer.data.location.id, SUNRISE)
  t.equal(answer.data.location.name, 'Sunrise Dental')
  t.same(answer.rateLimit, { max: 100, remaining: 99, intervalMs: 10_000, dailyLimit: 200_000, dailyRemaining: 199_999 })
})

t.test('contacts.search finds contacts of the location by name, and only of that location', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  sandbox.control.addContact({ locationId: HARBOR, name: 'Jane Harbor', phone: '+15550200009' })
  const { access_token: accessToken } = await connect()
  const answer = await client.contacts.search({ accessToken, locationId: SUNRISE, query: 'jane' })
  t.same(answer.data.contacts.map((c) => c.id), [JANE])
  t.equal(answer.data.contacts[0]?.phone, '+15550100001')
  t.ok(answer.rateLimit)
  const none = await client.contacts.search({ accessToken, locationId: SUNRISE, query: 'nobody-by-that-name' })
  t.same(none.data.contacts, [])
})

t.test('contacts.search pages as HighLevel\'s standard pagination: page (from 1) of pageLimit, total counting every match', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const added = Array.from({ length: 25 }, (_, i) => sandbox.control.addContact({ locationId: SUNRISE, name: `Pager Person ${i}` }).id)
  const { access_token: accessToken } = await connect()
  const pages = []
  for (let page = 1; page <= 3; page++) pages.push((await client.contacts.search({ accessToken, locationId: SUNRISE, query: 'pager person', page, pageLimit: 10 })).data)
  t.same(pages.map((p) => p.contacts.length), [10, 10, 5])
  t.same(pages.map((p) => p.total), [25, 25, 25])
  t.same(pages.flatMap((p) => p.contacts.map((c) => c.id)), added, 'every match once, in a stable order')
  const past = await client.contacts.search({ accessToken, locationId: SUNRISE, query: 'pager person', page: 4, pageLimit: 10 })
  t.same(past.data.contacts, [], 'past the last page: none')
  const refused = await failure(() => client.contacts.search({ accessToken, locationId: SUNRISE, query: 'pager person', page: 0 }))
  t.match(refused, { status: 422 })
})

t.test('contacts.findByPhone answers the contact with that number, or null', async (t) => {
  const { client, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const found = await client.contacts.findByPhone({ accessToken, locationId: SUNRISE, phone: '+15550100001' })
  t.equal(found.data?.id, JANE)
  const missing = await client.contacts.findByPhone({ accessToken, locationId: SUNRISE, phone: '+15559999999' })
  t.equal(missing.data, null)
})

t.test('contacts.upsert creates a contact for a new phone and finds it again for the same phone', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const created = await client.contacts.upsert({ accessToken, locationId: SUNRISE, phone: '+15550107777', name: 'Ada Lovelace' })
  t.equal(created.data.new, true)
  t.equal(created.data.contact.name, 'Ada Lovelace')
  const again = await client.contacts.upsert({ accessToken, locationId: SUNRISE, phone: '+1 555-010-7777' })
  t.equal(again.data.new, false)
  t.equal(again.data.contact.id, created.data.contact.id)
  t.equal(sandbox.control.contacts(SUNRISE).filter((c) => c.phone?.endsWith('7777')).length, 1)
})

t.test('messages.sendSms is accepted with HighLevel\'s ids and recorded by the sandbox in order', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const first = await client.messages.sendSms({ accessToken, contactId: JANE, message: 'Your appointment is at 3pm' })
  const second = await client.messages.sendSms({ accessToken, contactId: JANE, message: 'See you soon' })
  t.ok(first.data.messageId && first.data.conversationId)
  t.equal(second.data.conversationId, first.data.conversationId, 'one conversation per contact')
  const sent = sandbox.control.messages(SUNRISE)
  t.same(sent.map((m) => [m.seq, m.contactId, m.body, m.messageId]), [
    [1, JANE, 'Your appointment is at 3pm', first.data.messageId],
    [2, JANE, 'See you soon', second.data.messageId],
  ])
  t.equal(sent[0]?.toNumber, '+15550100001')
  t.ok(Date.parse(sent[0]?.sentAt ?? ''), 'the time it was sent')
  t.same(sandbox.control.messages(HARBOR), [])
})

t.test('an expired access token is token_expired ("Invalid JWT")', async (t) => {
  const { client, sandbox, connect } = await harness(t, { accessTokenTtlSeconds: 60 })
  const { access_token: accessToken } = await connect()
  sandbox.control.advanceClock(61_000)
  const err = await failure(() => client.locations.get({ accessToken, locationId: SUNRISE }))
  t.equal(err.kind, 'token_expired')
  t.equal(err.status, 401)
  t.equal(err.message, 'Invalid JWT')
  t.equal(err.retryable, true)
})

t.test('a revoked access token is token_expired ("Invalid token")', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  sandbox.control.revokeTokens(SUNRISE)
  const err = await failure(() => client.messages.sendSms({ accessToken, contactId: JANE, message: 'hi' }))
  t.equal(err.kind, 'token_expired')
  t.equal(err.message, 'Invalid token: access token is invalid')
  t.same(sandbox.control.messages(), [], 'nothing was sent')
})

t.test('a token without the endpoint\'s scope is scope_missing, not token_expired', async (t) => {
  const { client, connect } = await harness(t)
  const { access_token: accessToken } = await connect(SUNRISE, ['contacts.readonly'])
  const err = await failure(() => client.messages.sendSms({ accessToken, contactId: JANE, message: 'hi' }))
  t.equal(err.kind, 'scope_missing')
  t.equal(err.message, 'The token is not authorized for this scope.')
  t.equal(err.retryable, false)
})

t.test('injected missing-scope 401s are scope_missing for the next N requests only', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  sandbox.control.setFaults({ missingScopeNext: 1 }, SUNRISE)
  t.equal((await failure(() => client.locations.get({ accessToken, locationId: SUNRISE }))).kind, 'scope_missing')
  t.ok(await client.locations.get({ accessToken, locationId: SUNRISE }))
})

t.test('another location\'s data is forbidden', async (t) => {
  const { client, connect } = await harness(t)
  const { access_token: accessToken } = await connect(SUNRISE)
  const err = await failure(() => client.locations.get({ accessToken, locationId: HARBOR }))
  t.equal(err.kind, 'forbidden')
  t.equal(err.status, 403)
  t.equal(err.message, 'The token does not have access to this location')
  const contact = (await failure(() => client.contacts.search({ accessToken, locationId: HARBOR, query: '' })))
  t.equal(contact.kind, 'forbidden')
})

t.test('a 422 is invalid_request and keeps every message HighLevel gave', async (t) => {
  const { client, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const err = await failure(() => client.contacts.upsert({ accessToken, locationId: SUNRISE }))
  t.equal(err.kind, 'invalid_request')
  t.equal(err.status, 422)
  t.same(err.messages, ['phone or email must be provided'])
  const sms = await failure(() => client.messages.sendSms({ accessToken, contactId: '', message: '' }))
  t.equal(sms.status, 422)
  t.same(sms.messages, ['contactId must be a string', 'message should not be empty'])
  t.equal(sms.message, 'contactId must be a string; message should not be empty')
})

t.test('messages.sendSms from one of the location\'s numbers is recorded with it; without fromNumber the location\'s default number sends; another number is refused with 400 naming fromNumber', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  sandbox.control.updateLocation(SUNRISE, { phoneNumbers: ['+15550100000', '+15550100099'] })
  await client.messages.sendSms({ accessToken, contactId: JANE, message: 'From the second line', fromNumber: '+15550100099' })
  await client.messages.sendSms({ accessToken, contactId: JANE, message: 'From the default line' })
  const err = await failure(() => client.messages.sendSms({ accessToken, contactId: JANE, message: 'From a stranger', fromNumber: '+15550200000' }))
  t.same(sandbox.control.messages(SUNRISE).map((m) => [m.body, m.fromNumber]), [
    ['From the second line', '+15550100099'],
    ['From the default line', '+15550100000'],
  ], 'the refused one is not sent')
  t.match(err, { kind: 'invalid_request', status: 400, message: /fromNumber/ })
})

t.test('a 400 is invalid_request with HighLevel\'s message', async (t) => {
  const { client, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const err = await failure(() => client.messages.sendSms({ accessToken, contactId: 'no-such-contact', message: 'hi' }))
  t.equal(err.kind, 'invalid_request')
  t.equal(err.status, 400)
  t.equal(err.message, 'Contact not found')
})

t.test('messages.export lists a contact\'s SMS since a date, in cursor pages, and only with conversations/message.readonly', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const before = await client.messages.sendSms({ accessToken, contactId: JANE, message: 'before the window' })
  sandbox.control.advanceClock(60_000)
  const since = new Date(Date.parse(sandbox.control.messages()[0]!.sentAt) + 30_000)
  const sent = []
  for (let i = 0; i < 12; i++) sent.push((await client.messages.sendSms({ accessToken, contactId: JANE, message: `in the window ${i}` })).data)
  await client.messages.sendSms({ accessToken, contactId: 'sbxContact0000000002', message: 'another contact' })

  const first = await client.messages.export({ accessToken, locationId: SUNRISE, contactId: JANE, channel: 'SMS', startDate: since, sortOrder: 'asc', limit: 10 })
  t.equal(first.data.total, 12, 'total counts every match')
  t.same(first.data.messages.map((m) => m.body), sent.slice(0, 10).map((_, i) => `in the window ${i}`), 'oldest first, the first page')
  t.match(first.data.messages[0], {
    id: sent[0]!.messageId, conversationId: sent[0]!.conversationId, contactId: JANE, locationId: SUNRISE,
    direction: 'outbound', messageType: 'TYPE_SMS', type: 2, contentType: 'text/plain',
  })
  t.type(first.data.nextCursor, 'string')
  const second = await client.messages.export({ accessToken, locationId: SUNRISE, contactId: JANE, channel: 'SMS', startDate: since, sortOrder: 'asc', limit: 10, cursor: first.data.nextCursor! })
  t.same(second.data.messages.map((m) => m.id), sent.slice(10).map((s) => s.messageId), 'the rest')
  t.equal(second.data.nextCursor, null, 'no cursor on the last page')

  const newest = await client.messages.export({ accessToken, locationId: SUNRISE, contactId: JANE, limit: 10 })
  t.equal(newest.data.messages[0]?.id, sent[11]!.messageId, 'newest first by default')
  t.equal(newest.data.total, 13, 'without a start date: the one before the window too')
  t.notOk(newest.data.messages.some((m) => m.id === before.data.messageId), 'not on the first page of 10, newest first')

  const refused = await failure(() => client.messages.export({ accessToken, locationId: SUNRISE, limit: 5 }))
  t.match(refused, { status: 400, kind: 'invalid_request', message: /limit must be a number between 10 and 500/ })
  const other = await failure(() => client.messages.export({ accessToken, locationId: HARBOR }))
  t.match(other, { status: 403, kind: 'forbidden' })

  const writeOnly = await connect(SUNRISE, ['conversations/message.write'])
  const noScope = await failure(() => client.messages.export({ accessToken: writeOnly.access_token, locationId: SUNRISE, contactId: JANE }))
  t.match(noScope, { status: 401, kind: 'scope_missing' })
})

t.test('messages.export lists replies beside what was sent, each with its delivery status now, in createdAt or updatedAt order; messages.get answers one by id', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  sandbox.control.configureMessageWebhooks({ webhookUrl: 'http://127.0.0.1:9/unreachable' })
  const first = (await client.messages.sendSms({ accessToken, contactId: JANE, message: 'first' })).data
  sandbox.control.advanceClock(1000)
  const second = (await client.messages.sendSms({ accessToken, contactId: JANE, message: 'second' })).data
  sandbox.control.advanceClock(1000)
  const { message: reply } = await sandbox.control.contactReplies({ contactId: JANE, body: 'a reply' })
  sandbox.control.advanceClock(1000)
  await sandbox.control.reportDelivery(first.messageId, 'delivered')

  const byCreation = await client.messages.export({ accessToken, locationId: SUNRISE, channel: 'SMS', sortOrder: 'asc', limit: 10 })
  t.same(byCreation.data.messages.map((m) => [m.id, m.direction, m.status]), [
    [first.messageId, 'outbound', 'delivered'], [second.messageId, 'outbound', 'pending'], [reply.messageId, 'inbound', 'delivered'],
  ], 'oldest first, the reply included, each status as reported so far')
  const byUpdate = await client.messages.export({ accessToken, locationId: SUNRISE, channel: 'SMS', sortBy: 'updatedAt', sortOrder: 'asc', limit: 10 })
  t.same(byUpdate.data.messages.map((m) => m.id), [second.messageId, reply.messageId, first.messageId], 'a delivery report moves a message to the end by updatedAt')

  const { data: one } = await client.messages.get({ accessToken, locationId: SUNRISE, messageId: first.messageId })
  t.match(one, { id: first.messageId, direction: 'outbound', status: 'delivered', messageType: 'TYPE_SMS', contactId: JANE, conversationId: first.conversationId })
  t.equal(sandbox.control.stats().messageLookups, 1, 'the sandbox counts lookups')
  const missing = await failure(() => client.messages.get({ accessToken, locationId: SUNRISE, messageId: 'no-such-message' }))
  t.match(missing, { status: 400, kind: 'invalid_request' })
  const other = await connect(HARBOR)
  t.match(await failure(() => client.messages.get({ accessToken: other.access_token, locationId: HARBOR, messageId: first.messageId })), { status: 400 }, 'another location\'s message is one that does not exist')
})
