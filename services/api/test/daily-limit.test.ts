import t from 'tap'
import { eventually, ghlWorld, JANE, SUNRISE } from './ghl-world.ts'

t.test('a spent daily budget: the location\'s SMS wait queued (no attempt spent) and go after the reset; the proxy answers 429 daily_limit_reached with Retry-After', async (t) => {
  const world = await ghlWorld(t)
  await world.connect('client-1')
  const { app, auth, sandbox } = world
  // Two seconds before the sandbox's UTC midnight, stopped there: its day ends when the test moves the clock.
  const now = new Date(sandbox.control.now())
  sandbox.control.advanceClock(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - 2000 - now.getTime())
  sandbox.control.freezeClock()
  sandbox.control.exhaustDailyLimit(SUNRISE)

  const first = await app.inject({ method: 'GET', url: '/api/ghl/client-1/opportunities/pipelines', headers: auth })
  t.equal(first.statusCode, 429, 'HighLevel\'s own 429 comes back (not retried: a daily refusal)')
  t.equal(first.headers['x-ratelimit-daily-remaining'], '0')
  const after = await app.inject({ method: 'GET', url: '/api/ghl/client-1/opportunities/pipelines', headers: auth })
  t.equal(after.statusCode, 429)
  t.equal(after.json().error, 'daily_limit_reached', 'then the proxy answers without calling HighLevel')
  t.ok(Number(after.headers['retry-after']) >= 1 && Number(after.headers['retry-after']) <= 2, 'Retry-After runs to the reset')
  const refusedBefore = sandbox.control.stats().rateLimited

  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/sms', headers: auth, payload: { clientId: 'client-1', to: { contactId: JANE }, message: `After the reset ${i}` } })
    ids.push(res.json().id)
  }
  world.startWorker()
  await new Promise((resolve) => setTimeout(resolve, 1500))
  for (const id of ids) t.match((await app.inject({ url: `/api/sms/${id}`, headers: auth })).json(), { status: 'queued', attempts: 0 }, 'parked, queued, no attempt spent')
  t.equal(sandbox.control.stats().rateLimited, refusedBefore, 'the worker did not call HighLevel while the budget was spent')

  sandbox.control.advanceClock(5000) // HighLevel's new day
  for (const id of ids) {
    const view = await eventually(`sms ${id} sent`, async () => {
      const v = (await app.inject({ url: `/api/sms/${id}`, headers: auth })).json()
      return v.status === 'sent' ? v : undefined
    })
    t.match(view, { status: 'sent', attempts: 1, error: null })
  }
  t.equal(sandbox.control.messages(SUNRISE).length, 3)
})
