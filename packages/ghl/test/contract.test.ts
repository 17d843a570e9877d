/**
 * Every request the client really sends, and every answer the sandbox really gives, checked
 * against HighLevel's OpenAPI specs. The sandbox records the exchanges; the checker judges them.
 */
import t from 'tap'
import { request } from 'undici'
import { ContractChecker, type Exchange } from './contract.ts'
import { AGENCY_LOCATION, APP_SCOPES, failure, harness, JANE, SUNRISE } from './helper.ts'

const checker = new ContractChecker()

t.test('every request the client sends and every answer the sandbox gives conforms to HighLevel\'s specs', async (t) => {
  const { client, sandbox, connect, authorize } = await harness(t, { record: true })
  // The conversation search needs conversations.readonly (in the project's default scopes).
  const tokens = await connect(SUNRISE, [...APP_SCOPES, 'conversations.readonly'])
  const accessToken = tokens.access_token
  await client.oauth.refreshToken({ refreshToken: tokens.refresh_token ?? '' })
  await client.locations.get({ accessToken, locationId: SUNRISE })
  await client.contacts.search({ accessToken, locationId: SUNRISE, query: 'jane' })
  await client.contacts.search({ accessToken, locationId: SUNRISE, query: 'o', page: 2, pageLimit: 1 })
  await client.contacts.findByPhone({ accessToken, locationId: SUNRISE, phone: '+15550100001' })
  await client.contacts.upsert({ accessToken, locationId: SUNRISE, phone: '+15550108888', name: 'New Person' })
  const { data: sent } = await client.messages.sendSms({ accessToken, contactId: JANE, message: 'hello' })
  await client.messages.sendSms({ accessToken, contactId: JANE, message: 'hello from the front desk', fromNumber: '+15550100000' })
  await client.messages.export({ accessToken, locationId: SUNRISE, contactId: JANE, channel: 'SMS', startDate: new Date(Date.now() - 60_000), sortOrder: 'asc', limit: 10 })
  await client.messages.export({ accessToken, locationId: SUNRISE })
  await client.messages.export({ accessToken, locationId: SUNRISE, channel: 'SMS', sortBy: 'updatedAt', sortOrder: 'asc', limit: 10 })
  await client.messages.get({ accessToken, locationId: SUNRISE, messageId: sent.messageId })
  await client.messages.sendEmail({ accessToken, contactId: JANE, subject: 'Your appointment', html: '<p>See you <b>Monday</b></p>' })
  await client.messages.sendEmail({
    accessToken, contactId: JANE, subject: 'Invoice', message: 'Attached.', emailFrom: 'Front Desk <desk@sunrise.example>', emailTo: 'jane.work@example.com',
    emailCc: ['cc@example.com'], emailBcc: ['bcc@example.com'], attachments: ['https://files.example/invoice.pdf'],
  })
  await client.messages.export({ accessToken, locationId: SUNRISE, contactId: JANE, channel: 'Email', limit: 10 })
  await client.contacts.get({ accessToken, contactId: JANE })
  const { data: found } = await client.conversations.search({ accessToken, locationId: SUNRISE, contactId: JANE })
  await client.conversations.getMessages({ accessToken, conversationId: found.conversations[0]?.id ?? '', limit: 10 })
  const agency = await connect(AGENCY_LOCATION, [...APP_SCOPES, 'oauth.write', 'oauth.readonly'])
  await client.oauth.getLocationToken({ accessToken: agency.access_token, companyId: agency.companyId ?? '', locationId: AGENCY_LOCATION })
  await client.oauth.getInstalledLocations({ accessToken: agency.access_token, companyId: agency.companyId ?? '', appId: sandbox.control.appId, limit: 2 })
  // The error answers are documented too (400, 401, 422).
  await failure(() => client.oauth.refreshToken({ refreshToken: tokens.refresh_token ?? '' }))
  await failure(() => client.oauth.exchangeCode({ code: 'never-issued' }))
  await failure(() => client.contacts.upsert({ accessToken, locationId: SUNRISE }))
  await failure(() => client.messages.sendSms({ accessToken, contactId: 'no-such-contact', message: 'hi' }))
  await failure(() => client.messages.sendSms({ accessToken, contactId: JANE, message: 'hi', fromNumber: '+15559990000' }))
  await failure(() => client.messages.export({ accessToken, locationId: SUNRISE, cursor: 'not-a-cursor-we-gave' }))
  await failure(() => client.messages.get({ accessToken, locationId: SUNRISE, messageId: 'no-such-message' }))
  await failure(() => client.messages.sendEmail({ accessToken, contactId: JANE, subject: '', message: 'no subject' }))
  await failure(() => client.conversations.getMessages({ accessToken, conversationId: 'no-such-conversation' }))
  const { code } = await authorize()
  sandbox.control.revokeTokens(SUNRISE)
  await failure(() => client.locations.get({ accessToken, locationId: SUNRISE }))
  await client.oauth.exchangeCode({ code })

  const recorded = sandbox.control.recorded
  const operations = new Set(recorded.map((e) => checker.operationOf(e)))
  t.same([...operations].sort(), [
    'export-messages-by-location', 'get-access-token', 'get-contact', 'get-duplicate-contact', 'get-installed-location', 'get-location',
    'get-location-access-token', 'get-message', 'get-messages', 'search-contacts-advanced', 'search-conversation', 'send-a-new-message', 'upsert-contact',
  ], 'every operation the client uses was exercised')
  t.same(new Set(recorded.map((e) => e.response.status)), new Set([200, 400, 401, 422]))
  for (const exchange of recorded) {
    t.same(checker.check(exchange), [], `${exchange.method} ${exchange.url.split('?')[0]} -> ${exchange.response.status}`)
  }
})

t.test('the checker reports a JSON body sent to the token endpoint, and the sandbox refuses it', async (t) => {
  const { sandbox } = await harness(t, { record: true })
  const response = await request(`${sandbox.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: sandbox.clientId, client_secret: sandbox.clientSecret, grant_type: 'refresh_token', refresh_token: 'x' }),
  })
  await response.body.dump()
  t.equal(response.statusCode, 400)
  const [exchange] = sandbox.control.recorded
  t.ok(exchange)
  t.same(checker.check(exchange as Exchange), ['get-access-token request: content type "application/json" is not accepted (accepted: application/x-www-form-urlencoded)'])
})

t.test('the checker reports a wrong Version header, and the sandbox refuses it', async (t) => {
  const { sandbox, connect } = await harness(t, { record: true })
  const { access_token: accessToken } = await connect()
  sandbox.control.recorded.length = 0
  const response = await request(`${sandbox.url}/conversations/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', version: '2021-07-28', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({ type: 'SMS', contactId: JANE, message: 'hi' }),
  })
  await response.body.dump()
  t.equal(response.statusCode, 400)
  t.same(sandbox.control.messages(), [], 'nothing was sent')
  const [exchange] = sandbox.control.recorded
  t.same(checker.check(exchange as Exchange), ['send-a-new-message request: header parameter Version must be equal to one of the allowed values (2021-04-15)'])
})

t.test('the checker reports a missing Version header, a missing bearer token and a body that breaks the schema', async (t) => {
  const exchange: Exchange = {
    method: 'POST',
    url: '/contacts/upsert',
    headers: { 'content-type': 'application/json' },
    body: { phone: 5550100 },
    response: { status: 200, headers: { 'content-type': 'application/json' }, body: { new: 'yes', contact: { id: 1 } } },
  }
  t.same(checker.check(exchange), [
    'upsert-contact request: header parameter Version is required and missing',
    'upsert-contact request: Authorization: Bearer <token> is required',
    "upsert-contact request: body must have required property 'locationId'",
    'upsert-contact request: body /phone must be string',
    'upsert-contact response 200: body /new must be boolean',
    'upsert-contact response 200: body /contact/id must be string',
  ])
})

t.test('the checker reports an answer missing a documented required field, and an undocumented success status', async (t) => {
  const sent: Exchange = {
    method: 'POST',
    url: '/conversations/messages',
    headers: { 'content-type': 'application/json', version: '2021-04-15', authorization: 'Bearer [redacted]' },
    body: { type: 'SMS', contactId: JANE, message: 'hi' },
    response: { status: 200, headers: { 'content-type': 'application/json' }, body: { conversationId: 'c', status: 'pending' } },
  }
  t.same(checker.check(sent), ["send-a-new-message response 200: body must have required property 'messageId'"])
  t.same(checker.check({ ...sent, response: { ...sent.response, status: 201 } }), ['send-a-new-message response 201: status is not documented (documented: 200)'])
  t.same(checker.check({ ...sent, url: '/conversations/nowhere/else/at/all' }), ['POST /conversations/nowhere/else/at/all: no documented operation'])
})
