/**
 * Many workers sending to one location: HighLevel's per-location limit is one budget in Redis
 * (packages/rate-limits), so it holds across worker processes, not per process.
 * Ours: 6 per 2 s per location; HighLevel (the sandbox): 12 per 2 s. Three workers each keeping
 * 6 of their own could send 18 in a window and meet 429s.
 */
import t from 'tap'
import { createWorld, eventually, JANE, statusCounts, SUNRISE } from './helper.ts'

t.test('3 worker processes sending to one location keep its per-location limit between them: HighLevel answers no 429', async (t) => {
  const world = await createWorld(t, { GHL_RATE_LIMIT_MAX: '6', GHL_RATE_LIMIT_INTERVAL_MS: '2000', WORKER_CONCURRENCY: '5' })
  world.sandbox.control.setRateLimit({ max: 12, intervalMs: 2000 })
  await world.connect('busy-clinic', { locationId: SUNRISE })
  // all three ready before the first SMS, so they send side by side
  const workers = await Promise.all([1, 2, 3].map(() => world.spawnWorkerWithHealth()))
  for (const { port } of workers) await eventually(`the worker on ${port} ready`, () => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false), 90_000)
  for (let i = 0; i < 30; i++) await world.submit('busy-clinic', { contactId: JANE }, `Reminder ${i}`)

  await eventually('all 30 sent', async () => (await statusCounts(world)).sent === 30, 120_000)
  const stats = world.sandbox.control.stats()
  t.equal(stats.rateLimited, 0, 'HighLevel never answered 429')
  t.equal(world.sandbox.control.messages(SUNRISE).length, 30, 'each sent once')
  for (const w of workers) w.child.kill('SIGTERM')
  t.same((await Promise.all(workers.map((w) => w.exited))).map((e) => e.code), [0, 0, 0])
})

t.test('the same with each worker allowed past HighLevel\'s limit: HighLevel answers 429 (what the shared limit prevents; this test\'s measure can fail)', async (t) => {
  const world = await createWorld(t, { GHL_RATE_LIMIT_MAX: '100', GHL_RATE_LIMIT_INTERVAL_MS: '2000', WORKER_CONCURRENCY: '5', SMS_RETRY_BASE_MS: '200' })
  world.sandbox.control.setRateLimit({ max: 12, intervalMs: 2000 })
  await world.connect('busy-clinic', { locationId: SUNRISE })
  for (let i = 0; i < 30; i++) await world.submit('busy-clinic', { contactId: JANE }, `Reminder ${i}`)

  // three workers in this process (each its own runtime and Redis connections), quicker to start than processes
  for (let i = 0; i < 3; i++) await world.startInProcess()
  await eventually('all 30 sent', async () => (await statusCounts(world)).sent === 30, 120_000)
  t.ok(world.sandbox.control.stats().rateLimited > 0, `HighLevel answered 429 ${world.sandbox.control.stats().rateLimited} times`)
})
