import t from 'tap'
import { createWorld, eventually, HARBOR, JANE, settled, SUNRISE } from './helper.ts'

const world = await createWorld(t, { SMS_RETRY_FOR_SECONDS: '3', SMS_VERIFY_SETTLE_SECONDS: '1' }, { record: true })
const { sandbox } = world
await world.startInProcess()
await world.connect('sunrise', { locationId: SUNRISE })
await world.connect('harbor', { locationId: HARBOR })

const sentTo = (contactId: string) => sandbox.control.messages().filter((m) => m.contactId === contactId)
t.beforeEach(() => sandbox.control.clearFaults())

t.test('an SMS to a contact id is sent once and recorded with HighLevel ids', async (t) => {
  const before = sentTo(JANE).length
  const message = await world.submit('sunrise', { contactId: JANE }, 'See you at 9')
  const row = await settled(world, message.id)
  t.match(row, { status: 'sent', attempts: 1, errorCode: null })
  const [sent] = sentTo(JANE).slice(before)
  t.equal(sentTo(JANE).length, before + 1)
  t.equal(sent?.body, 'See you at 9')
  t.equal(row.ghlMessageId, sent?.messageId)
  t.equal(row.ghlConversationId, sent?.conversationId)
  t.ok(row.sentAt)
})

t.test('a phone number is found in the location, or the contact is created', async (t) => {
  const known = await settled(world, (await world.submit('sunrise', { phone: '+15550100002' }, 'Known')).id)
  t.equal(known.status, 'sent')
  t.equal(sandbox.control.messages().find((m) => m.body === 'Known')?.contactId, 'sbxContact0000000002', 'John Smith, found by phone')
  const contactsBefore = sandbox.control.contacts(SUNRISE).length
  const fresh = await settled(world, (await world.submit('sunrise', { phone: '+15557770001' }, 'New')).id)
  t.equal(fresh.status, 'sent')
  t.equal(sandbox.control.contacts(SUNRISE).length, contactsBefore + 1, 'one contact created')
  t.equal(sandbox.control.messages().find((m) => m.body === 'New')?.toNumber, '+15557770001')
})

t.test('a name must be exactly one contact\'s full name: none and several fail with what to do', async (t) => {
  const one = await settled(world, (await world.submit('sunrise', { name: 'Jane Doe' }, 'By name')).id)
  t.equal(one.status, 'sent')
  t.equal(sandbox.control.messages().find((m) => m.body === 'By name')?.contactId, JANE)
  const anyCase = await settled(world, (await world.submit('sunrise', { name: '  jane   DOE ' }, 'Any case')).id)
  t.equal(sandbox.control.messages().find((m) => m.body === 'Any case')?.contactId, JANE, 'trimmed, inner spaces collapsed, any case')
  t.equal(anyCase.status, 'sent')

  const none = await settled(world, (await world.submit('sunrise', { name: 'Nobody Here' })).id)
  t.match(none, { status: 'failed', errorCode: 'contact_not_found', errorMessage: /No contact named "Nobody Here".*phone number or a contact id/ })

  sandbox.control.addContact({ locationId: HARBOR, name: 'Sam Rivera', phone: '+15550200010' })
  sandbox.control.addContact({ locationId: HARBOR, name: 'sam rivera', phone: '+15550200011' })
  const several = await settled(world, (await world.submit('harbor', { name: 'Sam Rivera' })).id)
  t.match(several, { status: 'failed', errorCode: 'ambiguous_contact', errorMessage: /More than one contact is named "Sam Rivera": .*contact id or phone number/ })
})

t.test('a partial match is no match: "Jo" with only "Joanna Smith" is contact_not_found, nothing sent', async (t) => {
  sandbox.control.addContact({ locationId: HARBOR, name: 'Joanna Smith', phone: '+15550200020' })
  const row = await settled(world, (await world.submit('harbor', { name: 'Jo' }, 'Not to Joanna')).id)
  t.match(row, { status: 'failed', errorCode: 'contact_not_found', errorMessage: /No contact named "Jo"/ })
  t.same(sandbox.control.messages().filter((m) => m.body === 'Not to Joanna'), [])
})

t.test('every page of the search is read: an exact match on page 3 is found, and each page is a call of the location\'s budget', async (t) => {
  const crowd = 'sbxLocationCrowd0001'
  sandbox.control.addLocation({ id: crowd, name: 'Crowded Clinic' })
  for (let i = 1; i <= 230; i++) sandbox.control.addContact({ locationId: crowd, name: `Alex Morgan ${String(i).padStart(3, '0')}` })
  const alex = sandbox.control.addContact({ locationId: crowd, name: 'Alex Morgan', phone: '+15550300001' })
  await world.connect('crowded', { locationId: crowd })
  sandbox.control.recorded.length = 0
  const row = await settled(world, (await world.submit('crowded', { name: 'Alex Morgan' }, 'Found on page 3')).id)
  t.equal(row.status, 'sent')
  t.equal(sandbox.control.messages().find((m) => m.body === 'Found on page 3')?.contactId, alex.id)
  const searches = sandbox.control.recorded.filter((e) => e.url.startsWith('/contacts/search') && e.method === 'POST')
  t.same(searches.map((e) => (e.body as { page: number }).page), [1, 2, 3], 'three pages of 100')
  const log = await world.redis.zrange(world.keys.locationRateLog(crowd), 0, -1)
  t.equal(log.length, 4, 'three searches and the send, each taken from the location\'s budget')

  for (let i = 1; i <= 2; i++) sandbox.control.addContact({ locationId: crowd, name: 'ALEX MORGAN', phone: `+1555030010${i}` })
  const two = await settled(world, (await world.submit('crowded', { name: 'Alex Morgan' })).id)
  t.match(two, { status: 'failed', errorCode: 'ambiguous_contact' }, 'a second exact match, pages later, makes it ambiguous')
})

t.test('a 429 from HighLevel: sent later, and the wait is not an attempt', async (t) => {
  sandbox.control.setFaults({ rateLimitNext: 1, retryAfterSeconds: 1 }, SUNRISE)
  const limitedBefore = sandbox.control.stats().rateLimited
  const row = await settled(world, (await world.submit('sunrise', { contactId: JANE }, 'After a 429')).id)
  t.equal(sandbox.control.stats().rateLimited, limitedBefore + 1, 'HighLevel did answer 429 once')
  t.match(row, { status: 'sent', attempts: 1 })
  t.equal(sandbox.control.messages().filter((m) => m.body === 'After a 429').length, 1)
})

t.test('5xx twice, then OK: sent once, after three attempts', async (t) => {
  sandbox.control.setFaults({ failNext: 2, errorStatus: 503 }, SUNRISE)
  const row = await settled(world, (await world.submit('sunrise', { contactId: JANE }, 'After two 503s')).id)
  t.match(row, { status: 'sent', attempts: 3 })
  t.equal(sandbox.control.messages().filter((m) => m.body === 'After two 503s').length, 1)
})

t.test('5xx every time: retried for SMS_RETRY_FOR_SECONDS, however many attempts that takes, then failed saying so', async (t) => {
  sandbox.control.setFaults({ errorRate: 1, errorStatus: 500 }, HARBOR)
  const submitted = Date.now()
  const row = await settled(world, (await world.submit('harbor', { contactId: 'sbxContact0000000003' }, 'Never')).id)
  t.match(row, { status: 'failed', errorCode: 'ghl_unavailable', errorMessage: /gave up after retrying for 3 s, \d+ attempts/ })
  t.ok(row.attempts > 3, `more attempts than the old count of 3 fit in the budget (${row.attempts})`)
  t.ok(row.updatedAt.getTime() - submitted >= 3000, 'not failed before the budget ran out')
  t.ok(row.retryingSince, 'the budget ran from the first failure')
  t.equal(sandbox.control.messages().filter((m) => m.body === 'Never').length, 0)
})

const sendsOf = (body: string) => sandbox.control.messages().filter((m) => m.body === body)
const exportsSince = (mark: number) => sandbox.control.recorded.slice(mark).filter((e) => e.url.startsWith('/conversations/messages/export'))

t.test('HighLevel takes the SMS, then the connection is reset: asked, found, recorded sent with HighLevel\'s ids, never sent twice', async (t) => {
  sandbox.control.setFaults({ acceptThenResetNext: 1 }, SUNRISE)
  const mark = sandbox.control.recorded.length
  const row = await settled(world, (await world.submit('sunrise', { contactId: JANE }, 'Taken, then reset')).id)
  const sent = sendsOf('Taken, then reset')
  t.equal(sent.length, 1, 'sent once')
  t.match(row, { status: 'sent', attempts: 1, errorCode: null, ghlMessageId: sent[0]?.messageId, ghlConversationId: sent[0]?.conversationId })
  const asked = exportsSince(mark)
  t.ok(asked.length >= 1, 'HighLevel was asked')
  t.match(asked[0]?.url, new RegExp(`locationId=${SUNRISE}.*contactId=${JANE}.*channel=SMS.*startDate=`), 'for this contact\'s SMS since the attempt began')
})

t.test('HighLevel takes the SMS, then a gateway answers 502: recorded sent once with HighLevel\'s ids', async (t) => {
  sandbox.control.setFaults({ acceptThen502Next: 1 }, SUNRISE)
  const row = await settled(world, (await world.submit('sunrise', { contactId: JANE }, 'Taken, then 502')).id)
  const sent = sendsOf('Taken, then 502')
  t.equal(sent.length, 1, 'sent once')
  t.match(row, { status: 'sent', attempts: 1, ghlMessageId: sent[0]?.messageId, ghlConversationId: sent[0]?.conversationId })
})

t.test('a reset before HighLevel took it: not found once HighLevel had time to list it, then sent exactly once', async (t) => {
  sandbox.control.setFaults({ resetNext: 1 }, SUNRISE)
  const mark = sandbox.control.recorded.length
  const row = await settled(world, (await world.submit('sunrise', { contactId: JANE }, 'Reset, never taken')).id)
  t.equal(sendsOf('Reset, never taken').length, 1, 'sent exactly once')
  t.match(row, { status: 'sent', attempts: 2 })
  const exchanges = sandbox.control.recorded.slice(mark)
  const lastCheck = exchanges.map((e) => e.url.startsWith('/conversations/messages/export')).lastIndexOf(true)
  const send = exchanges.findIndex((e) => e.method === 'POST' && e.url === '/conversations/messages')
  t.ok(lastCheck >= 0 && lastCheck < send, 'HighLevel was asked before the SMS was sent again')
})

t.test('a message with the same text to the same contact already sent is not taken for this one', async (t) => {
  const first = await settled(world, (await world.submit('sunrise', { contactId: JANE }, 'Same words')).id)
  t.equal(first.status, 'sent')
  sandbox.control.setFaults({ resetNext: 1 }, SUNRISE)
  const second = await settled(world, (await world.submit('sunrise', { contactId: JANE }, 'Same words')).id)
  t.equal(sendsOf('Same words').length, 2, 'the second message went out too')
  t.not(second.ghlMessageId, first.ghlMessageId, 'each row has its own HighLevel id')
})

t.test('a connection without conversations/message.readonly: an SMS whose answer was lost is delivery_unknown, naming the scope to add, and not sent again', async (t) => {
  await world.connect('write-only', { locationId: HARBOR, scopes: ['conversations/message.write', 'contacts.readonly'] })
  sandbox.control.setFaults({ acceptThenResetNext: 1 }, HARBOR)
  const row = await settled(world, (await world.submit('write-only', { contactId: 'sbxContact0000000003' }, 'Cannot ask')).id)
  t.match(row, { status: 'failed', errorCode: 'delivery_unknown', errorMessage: /lacks the conversations\/message\.readonly scope.*GHL_SCOPES.*reconnect/ })
  t.equal(sendsOf('Cannot ask').length, 1, 'sent once, never twice')
})

t.test('a 401 on the POST: the row is back in line, not held sending, while the refresh waits for the lock; then sent once', async (t) => {
  await world.connect('waits-for-lock', { locationId: HARBOR })
  sandbox.control.revokeTokens(HARBOR)
  // Another process holds this client's refresh lock for a while.
  await world.redis.set(world.keys.refreshLock('waits-for-lock'), 'another-process', 'PX', 10_000)
  const mark = sandbox.control.recorded.length
  const message = await world.submit('waits-for-lock', { contactId: 'sbxContact0000000003' }, 'After waiting for the lock')
  await eventually('the POST refused with 401', () => sandbox.control.recorded.slice(mark).some((e) => e.method === 'POST' && e.url === '/conversations/messages' && e.response.status === 401))
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.match(await world.messages.findById(message.id), { status: 'queued', attempts: 0 }, 'queued while the refresh waits, the 401 not counted')
  await world.redis.del(world.keys.refreshLock('waits-for-lock'))
  t.match(await settled(world, message.id), { status: 'sent', attempts: 1 })
  t.equal(sendsOf('After waiting for the lock').length, 1)
})

t.test('a missing-scope 401: failed with the fix, and no refresh token spent', async (t) => {
  sandbox.control.setFaults({ missingScopeNext: 1 }, SUNRISE)
  const refreshes = sandbox.control.stats().refreshes
  const row = await settled(world, (await world.submit('sunrise', { contactId: JANE }, 'No scope')).id)
  t.match(row, { status: 'failed', attempts: 1, errorCode: 'scope_missing', errorMessage: /conversations\/message\.write.*reconnect GoHighLevel/ })
  t.equal(sandbox.control.stats().refreshes, refreshes, 'no refresh')
})

t.test('a token HighLevel says expired is refreshed once, and the SMS sent once', async (t) => {
  await world.connect('revoked', { locationId: HARBOR })
  sandbox.control.revokeTokens(HARBOR)
  const refreshes = sandbox.control.stats().refreshes
  const row = await settled(world, (await world.submit('revoked', { contactId: 'sbxContact0000000003' }, 'After refresh')).id)
  t.match(row, { status: 'sent', attempts: 1 })
  t.equal(sandbox.control.stats().refreshes, refreshes + 1)
  t.equal(sandbox.control.messages().filter((m) => m.body === 'After refresh').length, 1)
})

t.test('a token refreshed during the recipient lookup is the one the POST uses: one 401, one refresh, one POST', async (t) => {
  await world.connect('lookup-refresh', { locationId: HARBOR })
  sandbox.control.revokeTokens(HARBOR)
  const refreshes = sandbox.control.stats().refreshes
  const mark = sandbox.control.recorded.length
  const row = await settled(world, (await world.submit('lookup-refresh', { phone: '+15557770042' }, 'Refreshed while looking up')).id)
  t.match(row, { status: 'sent', attempts: 1 })
  t.equal(sandbox.control.stats().refreshes, refreshes + 1, 'one refresh for the whole job')
  const exchanges = sandbox.control.recorded.slice(mark)
  t.equal(exchanges.filter((e) => e.response.status === 401).length, 1, 'only the lookup met the dead token')
  t.equal(exchanges.filter((e) => e.method === 'POST' && e.url === '/conversations/messages').length, 1, 'the POST went once, with the refreshed token')
})

t.test('a client that disconnected after the intake: failed as not_connected', async (t) => {
  await world.connect('leaving')
  const message = await world.messages.insertOnce({ clientId: 'leaving', integrationId: null, idempotencyKey: null, to: { contactId: JANE }, body: 'Too late' })
  await world.integrations.deactivate('leaving')
  await world.dispatcher.enqueue(message.message)
  const row = await settled(world, message.message.id)
  t.match(row, { status: 'failed', errorCode: 'not_connected', errorMessage: /Please connect your GoHighLevel account first/ })
})

t.test('a 401 on the POST whose refresh is refused: failed as needs_reauth, not left sending for delivery_unknown', async (t) => {
  await world.connect('dead-grant', { locationId: HARBOR })
  sandbox.control.revokeTokens(HARBOR, { refreshTokens: true })
  const row = await settled(world, (await world.submit('dead-grant', { contactId: 'sbxContact0000000003' }, 'Never sent')).id)
  t.match(row, { status: 'failed', errorCode: 'needs_reauth', errorMessage: /reconnect GoHighLevel/ })
  t.equal(sandbox.control.messages().filter((m) => m.body === 'Never sent').length, 0)
})
