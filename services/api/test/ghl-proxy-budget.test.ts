import t from 'tap'
import { eventually, ghlWorld, JANE, SUNRISE } from './ghl-world.ts'

// 240 calls at 80 per 10 s take three windows; on a loaded machine the worker's start adds more.
t.setTimeout(360_000)

t.test('40 concurrent proxy calls and 200 SMS for one location share its budget: HighLevel never has to refuse one', async (t) => {
  // HighLevel's 100 per 10 s in the sandbox, ours 80 per 10 s: 240 calls take three windows.
  // Our limiter paces when a call takes its slot; HighLevel counts when it arrives. Between the
  // two lie a PostgreSQL write or two, and on CI's loaded 2 cores (a build and Chromium beside
  // this file) that gap passed the default margin's 1 s once in three runs. 80 leaves 2 s; what
  // the test proves is the sharing: without it, 240 calls in one burst are refused by the dozen.
  const world = await ghlWorld(t, { GHL_PROXY_MAX_WAIT_MS: '60000', GHL_RATE_LIMIT_MAX: '80' })
  await world.connect('client-1')
  const { app, auth, sandbox } = world
  const smsStatuses = await Promise.all(Array.from({ length: 200 }, async (_, i) => (await app.inject({
    method: 'POST', url: '/api/sms', headers: auth, payload: { clientId: 'client-1', to: { contactId: JANE }, message: `Reminder ${i}` },
  })).statusCode))
  t.same(new Set(smsStatuses), new Set([202]), 'every SMS accepted')
  // The worker sends the 200 while the CRM makes 40 calls at once: one budget, whoever comes first.
  world.startWorker({ WORKER_CONCURRENCY: '20' })
  const proxyStatuses = await Promise.all(Array.from({ length: 40 }, async () =>
    (await app.inject({ method: 'GET', url: '/api/ghl/client-1/opportunities/pipelines', headers: auth })).statusCode))
  t.same(new Set(proxyStatuses), new Set([200]), 'every proxy call answered')
  await eventually('200 SMS sent', () => (sandbox.control.messages(SUNRISE).length >= 200 ? true : undefined))
  t.equal(sandbox.control.messages(SUNRISE).length, 200)
  t.equal(sandbox.control.stats().rateLimited, 0, `the sandbox refused nothing (${JSON.stringify(sandbox.control.stats())})`)
})
