import t from 'tap'
import { buildTestApi } from './helper.ts'

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` })

t.test('admin basic auth: after 10 wrong passwords from one address it answers 429 with Retry-After; another address still gets in', async (t) => {
  const { app, env } = await buildTestApi(t)
  const right = basic('admin', env.ADMIN_PASSWORD!)
  const guesses: number[] = []
  for (let i = 0; i < 10; i++) {
    guesses.push((await app.inject({ url: '/admin/queues', headers: basic('admin', `guess-${i}`), remoteAddress: '198.51.100.20' })).statusCode)
  }
  t.same(guesses, Array(10).fill(401), 'ten wrong tries are each told 401')
  const locked = await app.inject({ url: '/admin/queues', headers: basic('admin', 'guess-10'), remoteAddress: '198.51.100.20' })
  t.equal(locked.statusCode, 429)
  t.match(locked.json(), { error: 'admin_locked', message: /try again in \d+ seconds/ })
  t.ok(Number(locked.headers['retry-after']) > 0 && Number(locked.headers['retry-after']) <= 900, `Retry-After ${locked.headers['retry-after']}`)
  const rightButLocked = await app.inject({ url: '/admin/connections', headers: right, remoteAddress: '198.51.100.20' })
  t.equal(rightButLocked.statusCode, 429, 'the locked address is refused on every admin page, the right password included')
  t.equal((await app.inject({ url: '/admin/queues', headers: right, remoteAddress: '203.0.113.77' })).statusCode, 200, 'the right password from another address works')
  t.equal((await app.inject({ url: '/admin/connections', headers: right, remoteAddress: '203.0.113.77' })).statusCode, 200)
})

t.test('a browser\'s first visit without credentials is not a failure', async (t) => {
  const { app, env } = await buildTestApi(t)
  for (let i = 0; i < 15; i++) t.equal((await app.inject({ url: '/admin/queues', remoteAddress: '198.51.100.21' })).statusCode, 401)
  t.equal((await app.inject({ url: '/admin/queues', headers: basic('admin', env.ADMIN_PASSWORD!), remoteAddress: '198.51.100.21' })).statusCode, 200)
})

t.test('Bull Board pages, like every other page, may not be framed by another site', async (t) => {
  const { app, env } = await buildTestApi(t)
  for (const [url, headers] of [['/admin/queues', basic('admin', env.ADMIN_PASSWORD!)], ['/admin/queues/api/queues', basic('admin', env.ADMIN_PASSWORD!)], ['/admin/queues', {}]] as const) {
    const res = await app.inject({ url, headers })
    t.match(res.headers['content-security-policy'], /frame-ancestors 'self'/, `${url} (${res.statusCode}): frame-ancestors`)
    t.equal(res.headers['x-frame-options'], 'SAMEORIGIN', `${url} (${res.statusCode}): X-Frame-Options`)
  }
})
