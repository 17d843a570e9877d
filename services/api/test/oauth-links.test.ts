import t from 'tap'
import { buildTestApi } from './helper.ts'

t.test('connect links are signed, expire, and refuse tampering', async (t) => {
  const { app, auth } = await buildTestApi(t, { OAUTH_RATE_LIMIT_MAX: '1000' })
  const created = await app.inject({ method: 'POST', url: '/api/ghl-oauth/connect-links', headers: auth, payload: { clientId: 'client-1' } })
  t.equal(created.statusCode, 201)
  const { url, connectPageUrl, expiresAt } = created.json()
  const expiresIn = Date.parse(expiresAt) - Date.now()
  t.ok(expiresIn > 590_000 && expiresIn <= 600_000, 'valid 10 minutes by default')
  t.match(url, /\/api\/ghl-oauth\/authorize\?clientId=client-1&exp=\d+&nonce=[\w-]{16}&sig=/)
  t.match(connectPageUrl, /\/connect\?clientId=client-1&exp=\d+&nonce=[\w-]{16}&sig=/)
  const again = (await app.inject({ method: 'POST', url: '/api/ghl-oauth/connect-links', headers: auth, payload: { clientId: 'client-1' } })).json()
  t.not(again.url, url, 'two links for one client in one second are distinct links')

  const path = (u: string) => { const p = new URL(u); return p.pathname + p.search }
  const good = await app.inject({ url: path(url) })
  t.equal(good.statusCode, 302, 'a good link goes to HighLevel')
  t.match(good.headers.location, /\/v2\/oauth\/chooselocation\?response_type=code&client_id=.+&state=/)
  const cookie = String(good.headers['set-cookie'])
  t.match(cookie, /ghl_oauth=.+; Max-Age=600; Path=\/api\/ghl-oauth; HttpOnly; SameSite=Lax/)
  t.notMatch(cookie, /Secure/, 'not Secure while APP_URL is http')

  const forged = await app.inject({ url: path(url).replace('client-1', 'client-2') })
  t.equal(forged.statusCode, 403)
  t.match(forged.body, 'This connect link was altered or is not from your CRM')
  t.match(forged.headers['content-type'], 'text/html')

  const asConnectPage = await app.inject({ url: path(url).replace('/api/ghl-oauth/authorize', '/connect') })
  t.equal(asConnectPage.statusCode, 403, 'an authorize link does not open the connect page')

  const expired = new URL(url)
  expired.searchParams.set('exp', String(Math.floor(Date.now() / 1000) - 1))
  const stale = await app.inject({ url: path(expired.toString()) })
  t.equal(stale.statusCode, 403, 'changing the expiry breaks the signature')
})

t.test('an expired link is refused with a page saying so', async (t) => {
  const { app } = await buildTestApi(t)
  const links = app.runtime.connectLinks
  const { url } = links.create('authorize', { clientId: 'client-1', ttlSeconds: 60 }, Date.now() - 120_000)
  const res = await app.inject({ url: new URL(url).pathname + new URL(url).search })
  t.equal(res.statusCode, 403)
  t.match(res.body, 'This connect link has expired')
  t.match(res.body, 'link_expired')
})

t.test("the seed's unsigned ?clientId= link is refused with an explanation of signed links", async (t) => {
  const { app } = await buildTestApi(t)
  const res = await app.inject({ url: '/api/ghl-oauth/authorize?clientId=123' })
  t.equal(res.statusCode, 403)
  t.match(res.body, 'This connect link is not signed')
  t.notOk(res.headers['set-cookie'])
})

t.test('the development switch lets unsigned links through', async (t) => {
  const { app } = await buildTestApi(t, { ALLOW_UNSIGNED_CONNECT: 'true' })
  const res = await app.inject({ url: '/api/ghl-oauth/authorize?clientId=123' })
  t.equal(res.statusCode, 302)
})

t.test('connect-links validates its input and needs the API key', async (t) => {
  const { app, auth } = await buildTestApi(t, { OAUTH_RATE_LIMIT_MAX: '1000', CRM_ORIGIN: 'https://crm.example' })
  const post = (payload: unknown, headers: Record<string, string> = auth) =>
    app.inject({ method: 'POST', url: '/api/ghl-oauth/connect-links', headers, payload: payload as object })
  t.match((await post({ clientId: 'c' }, {})).json(), { error: 'missing_api_key' })
  t.equal((await post({ clientId: 'c' }, { authorization: 'Bearer wrong-key-wrong-key-wrong-key' })).statusCode, 401)
  t.match((await post({})).json(), { error: 'invalid_request', message: 'body.clientId is required.' })
  t.match((await post({ clientId: 'c', extra: 1 })).json(), { error: 'invalid_request', message: /unknown field "extra"/ })
  t.match((await post({ clientId: 'c', ttlSeconds: 8 * 86_400 })).json(), { error: 'invalid_request', message: /ttlSeconds/ })
  t.match((await post({ clientId: 'c', returnUrl: 'https://evil.example/x' })).json(), { error: 'invalid_return_url' })
  const ok = await post({ clientId: 'c', returnUrl: 'https://crm.example/settings', ttlSeconds: 7 * 86_400 })
  t.equal(ok.statusCode, 201, 'links for e-mail may live 7 days')
})

t.test('machine routes refuse a missing or wrong API key', async (t) => {
  const { app } = await buildTestApi(t)
  for (const [method, url] of [['GET', '/api/ghl-oauth/status/c1'], ['POST', '/api/ghl-oauth/refresh/c1'],
    ['DELETE', '/api/ghl-oauth/integrations/c1'], ['GET', '/api/ghl-oauth/token/c1'], ['POST', '/api/ghl-oauth/claims']] as const) {
    const none = await app.inject({ method, url, payload: method === 'POST' ? {} : undefined })
    t.equal(none.statusCode, 401, `${method} ${url} without a key`)
    const wrong = await app.inject({ method, url, headers: { authorization: 'Bearer not-the-key-not-the-key-not' } })
    t.match(wrong.json(), { error: 'invalid_api_key' }, `${method} ${url} with a wrong key`)
  }
})

t.test('status of a client that never connected, and bad client ids', async (t) => {
  const { app, auth } = await buildTestApi(t)
  const res = await app.inject({ url: '/api/ghl-oauth/status/never-connected', headers: auth })
  t.same(res.json(), { connected: false, integration: null })
  const bad = await app.inject({ url: '/api/ghl-oauth/status/has%20space', headers: auth })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { error: 'invalid_request', message: /params.clientId/ })
  const token = await app.inject({ url: '/api/ghl-oauth/token/never-connected', headers: auth })
  t.equal(token.statusCode, 409)
  t.same(token.json(), { error: 'not_connected', message: "Please connect your GoHighLevel account first. Click 'Connect GoHighLevel' in settings." })
  const gone = await app.inject({ method: 'DELETE', url: '/api/ghl-oauth/integrations/never-connected', headers: auth })
  t.equal(gone.statusCode, 404)
})

t.test('the OAuth routes answer 429 past their limit, with Retry-After', async (t) => {
  const { app } = await buildTestApi(t, { OAUTH_RATE_LIMIT_MAX: '3' })
  const codes: number[] = []
  let last
  for (let i = 0; i < 5; i++) {
    last = await app.inject({ url: '/api/ghl-oauth/authorize?clientId=x', remoteAddress: '203.0.113.9' })
    codes.push(last.statusCode)
  }
  t.same(codes, [403, 403, 403, 429, 429])
  t.match(last!.body, /try again in \d+ seconds/, 'a browser route answers a page')
  t.match(last!.body, 'rate_limited')
  t.ok(Number(last!.headers['retry-after']) > 0)
  const other = await app.inject({ url: '/api/ghl-oauth/authorize?clientId=y', remoteAddress: '203.0.113.9' })
  t.equal(other.statusCode, 403, 'another link has its own count, from the same address too')
  const machine = await Promise.all(Array.from({ length: 4 }, () => app.inject({ method: 'POST', url: '/api/ghl-oauth/connect-links', payload: {}, remoteAddress: '203.0.113.9' })))
  t.same(machine.map((r) => r.json().error), Array(4).fill('missing_api_key'), 'a machine route is not limited per address: it asks for its key')
})

t.test('the per-address ceiling cannot be dodged with a forged X-Forwarded-For', async (t) => {
  const { app } = await buildTestApi(t, { OAUTH_RATE_LIMIT_ADDRESS_MAX: '2' })
  const codes: number[] = []
  for (let i = 0; i < 4; i++) {
    const res = await app.inject({ url: `/api/ghl-oauth/authorize?clientId=x${i}`, remoteAddress: '203.0.113.20', headers: { 'x-forwarded-for': `198.51.100.${i}` } })
    codes.push(res.statusCode)
  }
  t.same(codes, [403, 403, 429, 429])
})

t.test('behind one trusted proxy, the address it forwards is the one counted', async (t) => {
  const { app } = await buildTestApi(t, { OAUTH_RATE_LIMIT_ADDRESS_MAX: '1', TRUST_PROXY: '10.0.0.0/8' })
  let n = 0
  const hit = (client: string) => app.inject({ url: `/api/ghl-oauth/authorize?clientId=x${n++}`, remoteAddress: '10.0.0.2', headers: { 'x-forwarded-for': client } })
  t.equal((await hit('198.51.100.1')).statusCode, 403)
  t.equal((await hit('198.51.100.1')).statusCode, 429)
  t.equal((await hit('198.51.100.2')).statusCode, 403, 'another client behind the same proxy has its own count')
})

t.test('a refused link shows a page titled for its purpose; a HEAD gets the page headers, a machine route JSON', async (t) => {
  const { app, auth } = await buildTestApi(t)
  const authorize = await app.inject({ url: '/api/ghl-oauth/authorize?clientId=c&exp=1&sig=x' })
  t.equal(authorize.statusCode, 403)
  t.match(authorize.body, '<h1 class="bad" id="result">This connect link cannot be used</h1>')
  t.match(authorize.body, '<code id="code">invalid_link_signature</code>')
  const page = await app.inject({ url: '/connect?clientId=c&exp=1&sig=x' })
  t.match(page.body, '<h1 class="bad" id="result">This page link cannot be used</h1>')
  const head = await app.inject({ method: 'HEAD', url: '/connect' })
  t.equal(head.statusCode, 403)
  t.match(head.headers['content-type'], 'text/html')
  const machine = await app.inject({ url: '/api/ghl-oauth/status/c' })
  t.equal(machine.statusCode, 401)
  t.same(machine.json(), { error: 'missing_api_key', message: 'Send your API key as "Authorization: Bearer <key>".' })
  const unknownRoute = await app.inject({ url: '/api/ghl-oauth/status/c/x', headers: auth })
  t.equal(unknownRoute.json().error, 'route_not_found')
})
