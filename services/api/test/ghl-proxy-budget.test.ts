import t from 'tap'
import { eventually, ghlWorld, JANE, SUNRISE } from './ghl-world.ts'

t.test('40 concurrent proxy calls and 200 SMS for one location share its budget: HighLevel never has to refuse one', async (t) => {
  // HighLevel's 100 per 10 s in the sandbox, our default 90 per 10 s: 240 calls take three windows.
  const world = await ghlWorld(t, { GHL_PROXY_MAX_WAIT_MS: '60000' })
  await world.connect('client-1')
  const { app, auth, sandbox } = world
  for (let i = 0; i < 200; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/sms', headers: auth, payload: { clientId: 'client-1', to: { contactId: JANE }, message: `Reminder ${i}` } })
    t.equal(res.statusCode, 202)
  }
  world.startWorker({ WORKER_CONCURRENCY: '20' })
  const answers = await Promise.all(Array.from({ length: 40 }, () => app.inject({ method: 'GET', url: '/api/ghl/client-1/opportunities/pipelines', headers: auth })))
  t.same(new Set(answers.map((a) => a.statusCode)), new Set([200]), 'every proxy call answered')
  await eventually('200 SMS sent', () => (sandbox.control.messages(SUNRISE).length >= 200 ? true : undefined))
  t.equal(sandbox.control.messages(SUNRISE).length, 200)
  t.equal(sandbox.control.stats().rateLimited, 0, 'the sandbox refused nothing')
})
