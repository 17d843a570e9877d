import t from 'tap'
import { randomUUID } from 'node:crypto'
import { buildTestApi } from './helper.ts'
import { adminAuth, basic, HOSTILE_NAME, listedClients, seedConnections } from './connections-fixture.ts'

const api = await buildTestApi(t)
const seeded = await seedConnections(api)
const auth = adminAuth(api)
const open = (url: string, headers: Record<string, string> = auth) => api.app.inject({ url, headers })

t.test('/admin/connections asks for the Bull Board credentials: 401 with the same challenge without them or with wrong ones', async (t) => {
  const anonymous = await open('/admin/connections', {})
  t.equal(anonymous.statusCode, 401)
  t.match(anonymous.headers['content-type'], /^text\/html/)
  t.match(anonymous.body, '<code id="code">admin_credentials_required</code>')
  t.notMatch(anonymous.body, 'client-reauth', 'nothing listed')
  const board = await open('/admin/queues', {})
  t.equal(anonymous.headers['www-authenticate'], board.headers['www-authenticate'], 'one realm: a browser logged in to one page is logged in to both')
  t.equal((await open('/admin/connections', basic('admin', 'wrong-password'))).statusCode, 401)
  t.equal((await open('/admin/connections', basic('root', api.env.ADMIN_PASSWORD!))).statusCode, 401, 'the user name counts too')
  t.equal((await open('/admin/connections?status=bogus', {})).statusCode, 401, 'credentials are checked before anything else')
  t.equal((await open('/admin/connections')).statusCode, 200)
})

t.test('counts by status, and every connection listed broken first: needs reauth, location inactive, expiring soonest, then the rest', async (t) => {
  const res = await open('/admin/connections')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-security-policy'], /default-src 'none'/)
  t.match(res.headers['content-security-policy'], /form-action 'self'/)
  t.same(listedClients(res.body), seeded.order)
  const count = (key: string) => new RegExp(`id="count-${key}"[^>]*><span class="n">(\\d+)</span>`).exec(res.body)?.[1]
  t.same({ all: count('all'), needs_reauth: count('needs_reauth'), location_inactive: count('location_inactive'), expiring: count('expiring'), active: count('active'), unclaimed: count('unclaimed'), disconnected: count('disconnected') },
    { all: '9', needs_reauth: '1', location_inactive: '1', expiring: '2', active: '3', unclaimed: '1', disconnected: '1' })
  t.match(res.body, 'Showing 1&ndash;9 of 9')
  const reauthRow = /<tr data-client-id="client-reauth".*?<\/tr>/s.exec(res.body)![0]
  t.match(reauthRow, '<code>invalid_grant</code>', 'the last error\'s code')
  t.match(reauthRow, 'Invalid grant: refresh token is invalid')
  t.match(reauthRow, /<td class="num late">2<\/td>/, 'two failed refreshes')
  t.match(res.body, /<tr data-client-id="client-replaced".*?loc-client-replaced/s, 'a replaced client shows its current connection')
  t.notMatch(res.body, 'loc-old')
  t.match(res.body, 'href="/admin/queues"', 'links back to Bull Board')
  for (const token of seeded.tokens) t.notMatch(res.body, token, 'never a token')
})

t.test('filter by status (one or several) and search by client or location id, on the server', async (t) => {
  let res = await open('/admin/connections?status=needs_reauth')
  t.same(listedClients(res.body), ['client-reauth'])
  t.match(res.body, 'Showing 1&ndash;1 of 1 (needs reauth)')
  t.match(res.body, '<option value="needs_reauth" selected>')
  res = await open('/admin/connections?status=expiring,location_inactive')
  t.same(listedClients(res.body), ['client-paused', 'client-soon', 'client-later'])
  res = await open('/admin/connections?status=disconnected')
  t.same(listedClients(res.body), ['client-gone'])
  res = await open('/admin/connections?q=HEALTHY')
  t.same(listedClients(res.body), ['client-healthy', 'client-healthy-2'], 'any case')
  t.match(res.body, 'value="HEALTHY"', 'the search stays in the box')
  res = await open('/admin/connections?q=loc-unclaimed')
  t.same(listedClients(res.body), [''], 'by location id, the unclaimed install too')
  res = await open('/admin/connections?status=active&q=healthy-2')
  t.same(listedClients(res.body), ['client-healthy-2'])
  res = await open(`/admin/connections?q=${encodeURIComponent('client_%')}`)
  t.same(listedClients(res.body), [], '% and _ are searched for as such, not as wildcards')
  t.match(res.body, 'No connection matches this filter.')
  t.match(res.body, 'Showing 0 of 0')
})

t.test('a hostile location name is shown as text, never as markup', async (t) => {
  const res = await open('/admin/connections?status=location_inactive')
  t.notMatch(res.body, '<script>', 'no script element at all')
  t.notMatch(res.body, '<img')
  t.match(res.body, '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp; &#39;Bob&#39;s&#39; Dental')
  t.notMatch(res.body, HOSTILE_NAME)
})

t.test('more than a page: "showing N of M" and a link to the next page', async (t) => {
  const { integrations } = api.app.runtime
  for (let i = 0; i < 55; i++) {
    await integrations.replaceActive(`bulk-${String(i).padStart(2, '0')}`, {
      locationId: `loc-bulk-${i}`, userType: 'Location', scopes: [], accessToken: `at-${randomUUID()}`, refreshToken: `rt-${randomUUID()}`,
      expiresAt: new Date(Date.now() + (10 + i) * 3_600_000),
    })
  }
  t.teardown(async () => { await api.db.sql`delete from ghl_integrations where client_id like 'bulk-%'` })
  const first = await open('/admin/connections?q=bulk-')
  t.equal(listedClients(first.body).length, 50)
  t.match(first.body, 'Showing 1&ndash;50 of 55 (matching “bulk-”)')
  t.match(first.body, 'id="next" href="/admin/connections?q=bulk-&amp;page=2"')
  const second = await open('/admin/connections?q=bulk-&page=2')
  t.same(listedClients(second.body), ['bulk-50', 'bulk-51', 'bulk-52', 'bulk-53', 'bulk-54'])
  t.match(second.body, 'Showing 51&ndash;55 of 55')
  t.notMatch(second.body, 'id="next"')
  const past = await open('/admin/connections?q=bulk-&page=9')
  t.equal(past.statusCode, 200)
  t.match(past.body, 'Showing 0 of 55')
})

t.test('every bad query parameter answers a 400 page with a stable code, never a 500', async (t) => {
  const cases: Array<[string, string]> = [
    ['status=bogus', 'invalid_status_filter'],
    ['status=needs_reauth,revoked', 'invalid_status_filter'],
    ['page=0', 'invalid_page'],
    ['page=-1', 'invalid_page'],
    ['page=abc', 'invalid_page'],
    ['page=1e3', 'invalid_page'],
    ['page=99999999', 'invalid_request'],
    [`q=${encodeURIComponent('a\u0000b')}`, 'invalid_search'],
    [`q=${encodeURIComponent('a\nb')}`, 'invalid_search'],
    [`q=${'x'.repeat(129)}`, 'invalid_request'],
    ['status=active&status=expiring', 'invalid_request'],
    ['sort=expires', 'invalid_request'],
  ]
  for (const [query, code] of cases) {
    const res = await open(`/admin/connections?${query}`)
    t.equal(res.statusCode, 400, query)
    t.match(res.headers['content-type'], /^text\/html/, `${query}: a page`)
    t.match(res.body, `<code id="code">${code}</code>`, `${query}: ${code}`)
  }
  t.equal((await open('/admin/connections?q=%E0%A4%A')).statusCode, 200, 'a broken percent-encoding is searched for as it came')
})

t.test('Bull Board\'s menu links to the connections page', async (t) => {
  const board = await open('/admin/queues')
  t.equal(board.statusCode, 200)
  t.match(board.body, '/admin/connections')
})

t.test('SMS and email counts side by side: waiting now, and ended in the last 24 hours', async (t) => {
  const messages = api.app.runtime.smsMessages
  const sms = (await messages.insertOnce({ clientId: 'client-count', integrationId: null, idempotencyKey: null, to: { contactId: 'c1' }, body: 'text' })).message
  await messages.insertOnce({ clientId: 'client-count', integrationId: null, idempotencyKey: null, to: { contactId: 'c1' }, body: 'text 2' })
  const email = (await messages.insertOnce({ clientId: 'client-count', integrationId: null, idempotencyKey: null, to: { email: 'a@example.com' }, body: 'hi', email: { subject: 'S', bodyIsHtml: false, options: {} } })).message
  await messages.markFailed(email.id, { code: 'contact_not_found', message: 'none' })
  await messages.cancel(sms.id)
  const res = await open('/admin/connections')
  const row = (channel: string) => new RegExp(`<tr id="messages-${channel}">(.*?)</tr>`).exec(res.body)?.[1]?.match(/<td class="num">(\d+)<\/td>/g)?.map((c) => Number(/(\d+)/.exec(c)![1]))
  t.same(row('sms'), [1, 0, 0, 0, 1], 'queued, sending, sent, failed, cancelled')
  t.same(row('email'), [0, 0, 0, 1, 0])
  t.notMatch(res.body, 'a@example.com', 'never an address')
})
