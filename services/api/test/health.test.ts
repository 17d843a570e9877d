import t from 'tap'
import { buildTestApi } from './helper.ts'

t.test('liveness and readiness answer when PostgreSQL and Redis are up', async (t) => {
  const { app } = await buildTestApi(t)
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200)
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ready', postgres: { ok: true }, redis: { ok: true } })
})

t.test('readiness is 503 when Redis is unreachable', async (t) => {
  const { app } = await buildTestApi(t, { REDIS_URL: 'redis://127.0.0.1:1' })
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { status: 'unavailable', postgres: { ok: true }, redis: { ok: false } })
})

t.test('an unknown route answers a JSON 404 with a stable code', async (t) => {
  const { app } = await buildTestApi(t)
  const res = await app.inject({ url: '/nope?x=1' })
  t.equal(res.statusCode, 404)
  t.same(res.json(), { error: 'route_not_found', message: 'There is no GET /nope; see /docs/json for the routes.' })
})

t.test('the OpenAPI document is generated from the route schemas', async (t) => {
  const { app } = await buildTestApi(t)
  const doc = (await app.inject({ url: '/docs/json' })).json()
  t.ok(doc.paths['/readyz'])
})
