import t from 'tap'
import { failure, harness, HARBOR, JANE, SUNRISE } from './helper.ts'

t.test('getLocation answers the location with its name, and the rate-limit headers', async (t) => {
  const { client, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const answer = await client.getLocation({ accessToken, locationId: SUNRISE })
  t.equal(answer.data.location.id, SUNRISE)
  t.equal(answer.data.location.name, 'Sunrise Dental')
  t.same(answer.rateLimit, { max: 100, remaining: 99, intervalMs: 10_000, dailyLimit: 200_000, dailyRemaining: 199_999 })
})

t.test('searchContacts finds contacts of the location by name, and only of that location', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  sandbox.control.addContact({ locationId: HARBOR, name: 'Jane Harbor', phone: '+15550200009' })
  const { access_token: accessToken } = await connect()
  const answer = await client.searchContacts({ accessToken, locationId: SUNRISE, query: 'jane' })
  t.same(answer.data.contacts.map((c) => c.id), [JANE])
  t.equal(answer.data.contacts[0]?.phone, '+15550100001')
  t.ok(answer.rateLimit)
  const none = await client.searchContacts({ accessToken, locationId: SUNRISE, query: 'nobody-by-that-name' })
  t.same(none.data.contacts, [])
})

t.test('searchContacts pages as HighLevel\'s standard pagination: page (from 1) of pageLimit, total counting every match', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const added = Array.from({ length: 25 }, (_, i) => sandbox.control.addContact({ locationId: SUNRISE, name: `Pager Person ${i}` }).id)
  const { access_token: accessToken } = await connect()
  const pages = []
  for (let page = 1; page <= 3; page++) pages.push((await client.searchContacts({ accessToken, locationId: SUNRISE, query: 'pager person', page, pageLimit: 10 })).data)
  t.same(pages.map((p) => p.contacts.length), [10, 10, 5])
  t.same(pages.map((p) => p.total), [25, 25, 25])
  t.same(pages.flatMap((p) => p.contacts.map((c) => c.id)), added, 'every match once, in a stable order')
  const past = await client.searchContacts({ accessToken, locationId: SUNRISE, query: 'pager person', page: 4, pageLimit: 10 })
  t.same(past.data.contacts, [], 'past the last page: none')
  const refused = await failure(() => client.searchContacts({ accessToken, locationId: SUNRISE, query: 'pager person', page: 0 }))
  t.match(refused, { status: 422 })
})

t.test('findContactByPhone answers the contact with that number, or null', async (t) => {
  const { client, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const found = await client.findContactByPhone({ accessToken, locationId: SUNRISE, phone: '+15550100001' })
  t.equal(found.data?.id, JANE)
  const missing = await client.findContactByPhone({ accessToken, locationId: SUNRISE, phone: '+15559999999' })
  t.equal(missing.data, null)
})

t.test('upsertContact creates a contact for a new phone and finds it again for the same phone', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const created = await client.upsertContact({ accessToken, locationId: SUNRISE, phone: '+15550107777', name: 'Ada Lovelace' })
  t.equal(created.data.new, true)
  t.equal(created.data.contact.name, 'Ada Lovelace')
  const again = await client.upsertContact({ accessToken, locationId: SUNRISE, phone: '+1 555-010-7777' })
  t.equal(again.data.new, false)
  t.equal(again.data.contact.id, created.data.contact.id)
  t.equal(sandbox.control.contacts(SUNRISE).filter((c) => c.phone?.endsWith('7777')).length, 1)
})

t.test('sendSms is accepted with HighLevel\'s ids and recorded by the sandbox in order', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const first = await client.sendSms({ accessToken, contactId: JANE, message: 'Your appointment is at 3pm' })
  const second = await client.sendSms({ accessToken, contactId: JANE, message: 'See you soon' })
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
  const err = await failure(() => client.getLocation({ accessToken, locationId: SUNRISE }))
  t.equal(err.kind, 'token_expired')
  t.equal(err.status, 401)
  t.equal(err.message, 'Invalid JWT')
  t.equal(err.retryable, true)
})

t.test('a revoked access token is token_expired ("Invalid token")', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  sandbox.control.revokeTokens(SUNRISE)
  const err = await failure(() => client.sendSms({ accessToken, contactId: JANE, message: 'hi' }))
  t.equal(err.kind, 'token_expired')
  t.equal(err.message, 'Invalid token: access token is invalid')
  t.same(sandbox.control.messages(), [], 'nothing was sent')
})

t.test('a token without the endpoint\'s scope is scope_missing, not token_expired', async (t) => {
  const { client, connect } = await harness(t)
  const { access_token: accessToken } = await connect(SUNRISE, ['contacts.readonly'])
  const err = await failure(() => client.sendSms({ accessToken, contactId: JANE, message: 'hi' }))
  t.equal(err.kind, 'scope_missing')
  t.equal(err.message, 'The token is not authorized for this scope.')
  t.equal(err.retryable, false)
})

t.test('injected missing-scope 401s are scope_missing for the next N requests only', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  sandbox.control.setFaults({ missingScopeNext: 1 }, SUNRISE)
  t.equal((await failure(() => client.getLocation({ accessToken, locationId: SUNRISE }))).kind, 'scope_missing')
  t.ok(await client.getLocation({ accessToken, locationId: SUNRISE }))
})

t.test('another location\'s data is forbidden', async (t) => {
  const { client, connect } = await harness(t)
  const { access_token: accessToken } = await connect(SUNRISE)
  const err = await failure(() => client.getLocation({ accessToken, locationId: HARBOR }))
  t.equal(err.kind, 'forbidden')
  t.equal(err.status, 403)
  t.equal(err.message, 'The token does not have access to this location')
  const contact = (await failure(() => client.searchContacts({ accessToken, locationId: HARBOR, query: '' })))
  t.equal(contact.kind, 'forbidden')
})

t.test('a 422 is invalid_request and keeps every message HighLevel gave', async (t) => {
  const { client, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const err = await failure(() => client.upsertContact({ accessToken, locationId: SUNRISE }))
  t.equal(err.kind, 'invalid_request')
  t.equal(err.status, 422)
  t.same(err.messages, ['phone or email must be provided'])
  const sms = await failure(() => client.sendSms({ accessToken, contactId: '', message: '' }))
  t.equal(sms.status, 422)
  t.same(sms.messages, ['contactId must be a string', 'message should not be empty'])
  t.equal(sms.message, 'contactId must be a string; message should not be empty')
})

t.test('a 400 is invalid_request with HighLevel\'s message', async (t) => {
  const { client, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const err = await failure(() => client.sendSms({ accessToken, contactId: 'no-such-contact', message: 'hi' }))
  t.equal(err.kind, 'invalid_request')
  t.equal(err.status, 400)
  t.equal(err.message, 'Contact not found')
})
