import t from 'tap'
import { randomBytes } from 'node:crypto'
import { createRedis } from '@ghl-connect/queues'
import { RedisKeys } from '@ghl-connect/redis-keys'
import { TEST_REDIS_URL, uniqueRedisPrefix } from '@ghl-connect/testing'
import { MAX_PENDING_STATES_PER_CLIENT } from '../src/oauth/oauth-states.ts'
import { buildTestApi } from './helper.ts'

const path = (u: string) => { const p = new URL(u); return p.pathname + p.search }

t.test('the CRM creates 500 connect links from one address with one key, all 201; the browser limit of that address is untouched', async (t) => {
  const { app, auth } = await buildTestApi(t)
  const codes = new Map<number, number>()
  for (let i = 0; i < 500; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/ghl-oauth/connect-links', headers: auth, payload: { clientId: `client-${i}` }, remoteAddress: '198.51.100.7' })
    codes.set(res.statusCode, (codes.get(res.statusCode) ?? 0) + 1)
  }
  t.same(Object.fromEntries(codes), { 201: 500 })

  // Browser authorize (OAUTH_RATE_LIMIT_MAX default 10 per 15 minutes) from the same address.
  const link = app.runtime.connectLinks.create('authorize', { clientId: 'client-1' })
  const answers: number[] = []
  for (let i = 0; i < 11; i++) answers.push((await app.inject({ url: path(link.url), remoteAddress: '198.51.100.7' })).statusCode)
  t.same(answers, [...Array(10).fill(302), 429], 'the 11th authorize within the window is refused')
})

t.test('machine routes count per API key after authentication: no key spends nothing; past the budget 429 with Retry-After', async (t) => {
  const crm = randomBytes(32).toString('hex')
  const reports = randomBytes(32).toString('hex')
  const { app } = await buildTestApi(t, { API_KEYS: `crm:${crm},reports:${reports}`, API_RATE_LIMIT_MAX: '3', API_RATE_LIMIT_WINDOW_SECONDS: '60' })
  const status = (key?: string) => app.inject({ url: '/api/ghl-oauth/status/c1', headers: key ? { authorization: `Bearer ${key}` } : {} })
  for (let i = 0; i < 20; i++) {
    t.equal((await status()).statusCode, 401)
    t.equal((await status('not-a-key-not-a-key-not-a-key')).statusCode, 401)
  }
  const within = [await status(crm), await status(crm), await status(crm)]
  t.same(within.map((r) => r.statusCode), [200, 200, 200], 'twenty refused callers spent none of the budget')
  t.same(within.map((r) => r.headers['x-ratelimit-remaining']), ['2', '1', '0'])
  const over = await status(crm)
  t.equal(over.statusCode, 429)
  t.match(over.json(), { error: 'rate_limited', message: /API key "crm".*try again in \d+ seconds/ })
  t.ok(Number(over.headers['retry-after']) > 0 && Number(over.headers['retry-after']) <= 60)
  const sms = await app.inject({ method: 'POST', url: '/api/sms', headers: { authorization: `Bearer ${crm}` }, payload: { clientId: 'c1', to: { contactId: 'x' }, message: 'Hi' } })
  t.equal(sms.statusCode, 429, 'one budget for every machine route of the key')
  t.equal((await status(reports)).statusCode, 200, 'another key has its own budget')
})

t.test('two api replicas sharing a key admit at most its budget together, and take it from Redis in shares of 1% instead of one request at a time', async (t) => {
  const key = randomBytes(32).toString('hex')
  const shared = { API_KEYS: `crm:${key}`, REDIS_KEY_PREFIX: uniqueRedisPrefix('replicas'), API_RATE_LIMIT_MAX: '300', API_RATE_LIMIT_WINDOW_SECONDS: '60' }
  const replicas = [await buildTestApi(t, shared), await buildTestApi(t, shared)]
  const statuses = await Promise.all(Array.from({ length: 400 }, (_, i) =>
    replicas[i % 2]!.app.inject({ url: '/api/ghl-oauth/status/c1', headers: { authorization: `Bearer ${key}` } }).then((r) => r.statusCode)))
  const admitted = statuses.filter((s) => s === 200).length
  t.ok(admitted <= 300, `never more than the budget: ${admitted} admitted`)
  t.ok(admitted >= 300 - 2 * 3, `at most one share (3) per replica left unspent: ${admitted} admitted`)
  t.equal(statuses.filter((s) => s !== 200 && s !== 429).length, 0, 'the rest refused 429')
  const redis = createRedis(TEST_REDIS_URL)
  t.teardown(() => redis.quit())
  const counted = Number(await redis.get(new RedisKeys(shared.REDIS_KEY_PREFIX).apiKeyRateLimit('crm')))
  t.equal(counted % 3, 0, `Redis counted whole shares of 3 (${counted}), one round trip each`)
  t.ok(counted <= 300 + 2 * 3, `about 100 round trips for 300 admitted requests, not 400 (${counted / 3})`)
})

t.test('behind a proxy without TRUST_PROXY, one visitor opening one link again and again locks out that link only', async (t) => {
  const { app } = await buildTestApi(t)
  const proxy = '10.0.0.2'
  const page = (clientId: string) => path(app.runtime.connectLinks.create('connect', { clientId }).url)
  const mine = page('clinic-a')
  const answers: number[] = []
  for (let i = 0; i < 12; i++) answers.push((await app.inject({ url: mine, remoteAddress: proxy })).statusCode)
  t.same(answers, [...Array(10).fill(200), 429, 429], 'the 11th open of the same link within the window is refused')
  t.equal((await app.inject({ url: page('clinic-b'), remoteAddress: proxy })).statusCode, 200, "another client's link, through the same proxy, still opens")
  const authorize = await app.inject({ url: path(app.runtime.connectLinks.create('authorize', { clientId: 'clinic-c' }).url), remoteAddress: proxy })
  t.equal(authorize.statusCode, 302, 'and so does its authorize link')
})

t.test('knowing a client id is not enough to lock out its link: only who holds the signed link spends its count', async (t) => {
  const { app } = await buildTestApi(t)
  const proxy = '10.0.0.3'
  const forged: number[] = []
  for (let i = 0; i < 12; i++) forged.push((await app.inject({ url: `/connect?clientId=clinic-a&exp=9999999999&sig=forged${i % 2}`, remoteAddress: proxy })).statusCode)
  for (let i = 0; i < 12; i++) forged.push((await app.inject({ url: '/connect?clientId=clinic-a', remoteAddress: proxy })).statusCode)
  t.ok(forged.includes(429), 'the forger is limited')
  const real = path(app.runtime.connectLinks.create('connect', { clientId: 'clinic-a' }).url)
  t.equal((await app.inject({ url: real, remoteAddress: proxy })).statusCode, 200, "the client's own link still opens")
})

t.test('every address has a ceiling over all its links: inventing client ids buys no more than OAUTH_RATE_LIMIT_ADDRESS_MAX', async (t) => {
  const { app } = await buildTestApi(t, { OAUTH_RATE_LIMIT_ADDRESS_MAX: '3' })
  let n = 0
  const connect = (remoteAddress: string) => app.inject({ url: `/connect?clientId=made-up-${n++}`, remoteAddress }).then((r) => r.statusCode)
  t.same([await connect('198.51.100.9'), await connect('198.51.100.9'), await connect('198.51.100.9'), await connect('198.51.100.9')], [403, 403, 403, 429])
  const over = await app.inject({ url: '/connect?clientId=made-up-x', remoteAddress: '198.51.100.9' })
  t.equal(over.statusCode, 429)
  t.match(over.body, /Too many requests/, 'a page that says to wait')
  t.ok(Number(over.headers['retry-after']) > 0, 'with Retry-After')
  t.equal(await connect('198.51.100.10'), 403, 'another address has its own ceiling')
})

t.test('the address ceiling counts an IPv6 /64 as one address, and an IPv4-mapped address as its IPv4', async (t) => {
  const { app } = await buildTestApi(t, { OAUTH_RATE_LIMIT_ADDRESS_MAX: '2' })
  let n = 0
  const authorize = (remoteAddress: string) => app.inject({ url: `/api/ghl-oauth/authorize?clientId=x${n++}`, remoteAddress }).then((r) => r.statusCode)
  t.same([await authorize('2001:db8:1:2::a'), await authorize('2001:db8:1:2:ffff:ffff:ffff:b'), await authorize('2001:db8:1:2::c')], [403, 403, 429],
    'one /64, one bucket')
  t.equal(await authorize('2001:db8:1:3::a'), 403, 'the next /64 has its own')
  t.same([await authorize('203.0.113.5'), await authorize('::ffff:203.0.113.5'), await authorize('203.0.113.5')], [403, 403, 429],
    'an IPv4-mapped address counts as its IPv4')
})

t.test('behind a trusted proxy, the forwarded IPv6 addresses are grouped by /64 too', async (t) => {
  const { app } = await buildTestApi(t, { OAUTH_RATE_LIMIT_ADDRESS_MAX: '1', TRUST_PROXY: '10.0.0.0/8' })
  let n = 0
  const hit = (client: string) => app.inject({ url: `/connect?clientId=x${n++}`, remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': client } }).then((r) => r.statusCode)
  t.equal(await hit('2001:db8:aa:bb::1'), 403)
  t.equal(await hit('2001:db8:aa:bb::2'), 429, 'the /connect page is limited per address, and the /64 is one address')
  t.equal(await hit('2001:db8:aa:cc::1'), 403)
})

t.test(`a client holds at most ${MAX_PENDING_STATES_PER_CLIENT} pending OAuth states: opening its link again drops the oldest`, async (t) => {
  const { app } = await buildTestApi(t, { OAUTH_RATE_LIMIT_MAX: '1000' })
  const { redis, keys } = app.runtime
  const link = app.runtime.connectLinks.create('authorize', { clientId: 'popular', ttlSeconds: 7 * 86_400 })
  const states: string[] = []
  for (let i = 0; i < MAX_PENDING_STATES_PER_CLIENT + 15; i++) {
    const res = await app.inject({ url: path(link.url) })
    t.equal(res.statusCode, 302)
    states.push(new URL(res.headers.location!).searchParams.get('state')!)
  }
  const live = await Promise.all(states.map((s) => redis.exists(keys.oauthState(s))))
  t.same(live, [...Array(15).fill(0), ...Array(MAX_PENDING_STATES_PER_CLIENT).fill(1)], 'the newest stay, the oldest are gone')
  const other = await app.inject({ url: path(app.runtime.connectLinks.create('authorize', { clientId: 'another' }).url) })
  t.equal(await redis.exists(keys.oauthState(new URL(other.headers.location!).searchParams.get('state')!)), 1, 'other clients are not affected')
})
