import t from 'tap'
import { failure, harness, HARBOR, SUNRISE } from './helper.ts'

t.test('the 101st request within 10 s for one location is rate_limited with the headers; another location is unaffected', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const sunrise = await connect(SUNRISE)
  const harbor = await connect(HARBOR)
  // Time stands still, so all 101 requests fall in one window however slow the machine.
  sandbox.control.freezeClock()
  for (let i = 1; i <= 100; i++) {
    const answer = await client.locations.get({ accessToken: sunrise.access_token, locationId: SUNRISE })
    if (answer.rateLimit?.remaining !== 100 - i) t.fail(`request ${i} left ${answer.rateLimit?.remaining} instead of ${100 - i}`)
  }
  const err = await failure(() => client.locations.get({ accessToken: sunrise.access_token, locationId: SUNRISE }))
  t.equal(err.kind, 'rate_limited')
  t.equal(err.status, 429)
  t.same(err.rateLimit, { max: 100, remaining: 0, intervalMs: 10_000, dailyLimit: 200_000, dailyRemaining: 199_900 })
  t.equal(err.retryAfterMs, 10_000, 'wait one interval')
  t.equal(sandbox.control.stats().rateLimited, 1)

  const other = await client.locations.get({ accessToken: harbor.access_token, locationId: HARBOR })
  t.equal(other.rateLimit?.remaining, 99, 'the other location has its own budget')

  sandbox.control.advanceClock(10_000)
  const later = await client.locations.get({ accessToken: sunrise.access_token, locationId: SUNRISE })
  t.equal(later.rateLimit?.remaining, 99, 'a new window opens once the interval has passed')
})

t.test('a spent daily quota is rate_limited until the next UTC day', async (t) => {
  const { client, sandbox, connect } = await harness(t, { rateLimit: { daily: 2 } })
  const { access_token: accessToken } = await connect()
  sandbox.control.freezeClock()
  await client.locations.get({ accessToken, locationId: SUNRISE })
  const last = await client.locations.get({ accessToken, locationId: SUNRISE })
  t.equal(last.rateLimit?.dailyRemaining, 0)
  const err = await failure(() => client.locations.get({ accessToken, locationId: SUNRISE }))
  t.equal(err.kind, 'rate_limited')
  // Until the next UTC midnight: longer than a burst interval, at most a day.
  t.ok((err.retryAfterMs ?? 0) > 10_000 && (err.retryAfterMs ?? 0) <= 86_400_000, 'waits for the next UTC day, not one interval')
})

t.test('injected 429s honour Retry-After when HighLevel sends one', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  sandbox.control.setFaults({ rateLimitNext: 2, retryAfterSeconds: 7 }, SUNRISE)
  const err = await failure(() => client.contacts.search({ accessToken, locationId: SUNRISE, query: 'jane' }))
  t.equal(err.kind, 'rate_limited')
  t.equal(err.retryAfterMs, 7_000)
  t.equal((await failure(() => client.contacts.search({ accessToken, locationId: SUNRISE, query: 'jane' }))).kind, 'rate_limited')
  t.ok(await client.contacts.search({ accessToken, locationId: SUNRISE, query: 'jane' }), 'the third request goes through')
  t.equal(sandbox.control.stats().rateLimited, 2)
})

t.test('the limit is configurable through the control API', async (t) => {
  const { client, sandbox, connect } = await harness(t)
  const { access_token: accessToken } = await connect()
  const response = await fetch(`${sandbox.url}/_sandbox/rate-limit`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ max: 2, intervalMs: 60_000 }),
  })
  t.equal(response.status, 200)
  sandbox.control.freezeClock()
  await client.locations.get({ accessToken, locationId: SUNRISE })
  await client.locations.get({ accessToken, locationId: SUNRISE })
  const err = await failure(() => client.locations.get({ accessToken, locationId: SUNRISE }))
  t.equal(err.kind, 'rate_limited')
  t.equal(err.retryAfterMs, 60_000)
  t.equal(err.rateLimit?.max, 2)
})
