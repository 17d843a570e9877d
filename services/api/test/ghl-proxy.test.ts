import t from 'tap'
import { ghlWorld, JANE, SUNRISE } from './ghl-world.ts'

t.test('through the proxy, contacts search, contact upsert, opportunity search and calendar events answer what the sandbox holds', async (t) => {
  const world = await ghlWorld(t, {}, { record: true })
  const { app, auth, sandbox } = world
  await world.connect('client-1')
  const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
    app.inject({ method, url: `/api/ghl/client-1${url}`, headers: { ...auth, cookie: 'session=crm-secret' }, ...(payload ? { payload } : {}) })

  const search = await call('POST', '/contacts/search', { query: 'jane', pageLimit: 10 })
  t.equal(search.statusCode, 200)
  t.equal(search.headers['content-type'], 'application/json; charset=utf-8', 'HighLevel\'s content type')
  t.same(search.json().contacts.map((c: { id: string }) => c.id), [JANE], 'the location id was filled in the body')
  t.equal(search.headers['x-ratelimit-max'], '100', 'HighLevel\'s rate-limit headers come back')
  t.ok(search.headers['x-ratelimit-daily-remaining'])
  t.notOk(search.headers['x-ratelimit-limit'], 'the API key\'s own budget headers give way to HighLevel\'s')

  const upsert = await call('POST', '/contacts/upsert', { phone: '+15550107777', name: 'Lina Park' })
  t.equal(upsert.statusCode, 200)
  t.equal(upsert.json().new, true)
  t.same(sandbox.control.contacts(SUNRISE).filter((c) => c.phone === '+15550107777').map((c) => c.name), ['Lina Park'], 'the sandbox holds the new contact')
  t.equal((await call('POST', '/contacts/upsert', { phone: '+15550107777', name: 'Lina Park' })).json().new, false, 'the second upsert finds it')

  const opportunities = await call('GET', '/opportunities/search?q=implant')
  t.equal(opportunities.statusCode, 200)
  t.same(opportunities.json().opportunities.map((o: { name: string }) => o.name), ['Jane Doe - implant'], 'location_id filled in the query')

  const from = Date.parse('2026-01-12T00:00:00Z')
  const events = await call('GET', `/calendars/events?calendarId=sbxCalendar000000001&startTime=${from}&endTime=${from + 3 * 86_400_000}`)
  t.equal(events.statusCode, 200)
  t.same(events.json().events.map((e: { title: string }) => e.title), ['Implant consultation', 'Cleaning'])

  const location = await call('GET', '/locations/{locationId}')
  t.equal(location.json().location.id, SUNRISE, 'the {locationId} placeholder in a path is the client\'s location')

  const notFound = await call('POST', '/contacts/upsert', {})
  t.equal(notFound.statusCode, 422, 'HighLevel\'s refusal comes back unchanged')
  t.same(notFound.json().message, ['phone or email must be provided'])

  for (const exchange of sandbox.control.recorded) {
    const headers = Object.fromEntries(Object.entries(exchange.headers).map(([k, v]) => [k.toLowerCase(), v]))
    t.notOk(headers.cookie, `${exchange.url}: no cookie passed on`)
    t.notMatch(JSON.stringify(exchange), world.apiKey, `${exchange.url}: our API key never reaches HighLevel`)
    t.ok(headers.version === '2021-07-28' || headers.version === '2021-04-15', `${exchange.url}: a Version header`)
  }
  const audit = world.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === 'ghl_proxy')
  t.equal(audit.length, 7, 'one audit line per call')
  t.match(audit[0], { clientId: 'client-1', method: 'POST', family: 'contacts', status: 200, ms: Number })
  const text = world.logs.join('\n')
  t.notMatch(text, 'implant', 'no query value in the log')
  t.notMatch(text, 'Lina', 'no body in the log')
  t.notMatch(text, '+15550107777')
})

t.test('a path outside the allowlist, or one that climbs out of its family, is refused 403 path_not_allowed before HighLevel', async (t) => {
  const world = await ghlWorld(t, {}, { record: true })
  await world.connect('client-1')
  for (const url of ['/oauth/token', '/users/search', '/contacts/../oauth/installedLocations', '/contacts/%2e%2e/oauth/token', '/contacts%2F..%2Foauth%2Ftoken', '/contacts/a%2Fb', '/', '/marketplace/app/x/installations']) {
    const res = await world.app.inject({ method: 'GET', url: `/api/ghl/client-1${url}`, headers: world.auth })
    t.equal(res.statusCode, 403, url)
    t.equal(res.json().error, 'path_not_allowed', url)
  }
  t.same(world.sandbox.control.recorded, [], 'nothing reached HighLevel')
  const noKey = await world.app.inject({ method: 'GET', url: '/api/ghl/client-1/contacts/x' })
  t.equal(noKey.statusCode, 401, 'the proxy needs the API key')
  const unknown = await world.app.inject({ method: 'GET', url: '/api/ghl/nobody/contacts/x', headers: world.auth })
  t.equal(unknown.statusCode, 409)
  t.equal(unknown.json().error, 'not_connected')
  const big = await world.app.inject({ method: 'POST', url: '/api/ghl/client-1/contacts/upsert', headers: { ...world.auth, 'content-type': 'application/json' }, payload: 'x'.repeat(1_100_000) })
  t.equal(big.statusCode, 413, 'a body past GHL_PROXY_BODY_LIMIT_BYTES is refused')
})

t.test('a POST that gets 502 is not retried; a GET that gets 502 is retried and answers what HighLevel then gives', async (t) => {
  const world = await ghlWorld(t)
  await world.connect('client-1')
  const { control } = world.sandbox
  control.setFaults({ failNext: 1, errorStatus: 502 }, SUNRISE)
  const post = await world.app.inject({ method: 'POST', url: '/api/ghl/client-1/contacts/upsert', headers: world.auth, payload: { phone: '+15550106666' } })
  t.equal(post.statusCode, 502, 'HighLevel\'s 502 comes back')
  t.equal(control.contacts(SUNRISE).filter((c) => c.phone === '+15550106666').length, 0, 'and the POST was not sent again')
  t.same(control.faults().locations[SUNRISE]?.failNext, 0)

  control.setFaults({ failNext: 2, errorStatus: 502 }, SUNRISE)
  const get = await world.app.inject({ method: 'GET', url: '/api/ghl/client-1/opportunities/pipelines', headers: world.auth })
  t.equal(get.statusCode, 200, 'two 502s, then the answer')
  t.equal(get.json().pipelines[0].name, 'New patients')
})

t.test('an expired access token is refreshed once and the call made again once', async (t) => {
  const world = await ghlWorld(t)
  await world.connect('client-1', { expired: true })
  const res = await world.app.inject({ method: 'GET', url: '/api/ghl/client-1/opportunities/pipelines', headers: world.auth })
  t.equal(res.statusCode, 200)
  t.equal(world.sandbox.control.stats().refreshes, 1, 'one refresh')
  world.sandbox.control.revokeTokens(SUNRISE)
  const revoked = await world.app.inject({ method: 'GET', url: '/api/ghl/client-1/opportunities/pipelines', headers: world.auth })
  t.equal(revoked.statusCode, 401, 'a token HighLevel still refuses after the one refresh: its 401 comes back')
  t.equal(world.sandbox.control.stats().refreshes, 1, 'the refresh of a moment ago is reused, not spent again; no loop')
})

t.test('a call that would wait past GHL_PROXY_MAX_WAIT_MS for the location\'s budget answers 429 rate_limited with Retry-After, before HighLevel', async (t) => {
  const world = await ghlWorld(t, { GHL_RATE_LIMIT_MAX: '1', GHL_RATE_LIMIT_INTERVAL_MS: '60000', GHL_PROXY_MAX_WAIT_MS: '0' })
  await world.connect('client-1')
  const call = () => world.app.inject({ method: 'GET', url: '/api/ghl/client-1/opportunities/pipelines', headers: world.auth })
  t.equal((await call()).statusCode, 200)
  const second = await call()
  t.equal(second.statusCode, 429)
  t.equal(second.json().error, 'rate_limited')
  t.ok(Number(second.headers['retry-after']) > 50, 'Retry-After: when the window has room again')
  t.equal(world.sandbox.control.stats().rateLimited, 0, 'HighLevel was not asked')
})
