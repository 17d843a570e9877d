import t from 'tap'
import { sql } from '@ghl-connect/db'
import { createLogger } from '@ghl-connect/logging'
import { createWorkerRuntime } from '../src/runtime.ts'
import { createWorld, eventually, SUNRISE } from './helper.ts'

t.test('the sweep queues one refresh per integration expiring within the horizon, 10,000 among 100,000, spread with jitter', async (t) => {
  const world = await createWorld(t)
  await world.db.db.execute(sql`
    insert into ghl_integrations (client_id, location_id, access_token, refresh_token, expires_at)
    select 'client-' || g, 'location-' || g, 'sealed', 'sealed',
           -- milliseconds, as every expiry the application writes (a JS Date)
           date_trunc('milliseconds', now() + case when g <= 10000 then interval '40 minutes' + g * interval '1 ms' else interval '20 hours' end)
    from generate_series(1, 100000) g`)
  const runtime = createWorkerRuntime(world.config, createLogger({ level: 'silent' }))
  t.teardown(runtime.close)

  const startedAt = Date.now()
  const first = await runtime.tokenSweep.run()
  const tookMs = Date.now() - startedAt
  t.same(first, { scanned: 10_000, pages: 10 })
  t.comment(`swept 100,000 integrations and queued 10,000 refreshes in ${tookMs} ms`)
  const counts = await world.queues.tokens.getJobCounts('delayed', 'waiting')
  t.equal((counts.delayed ?? 0) + (counts.waiting ?? 0), 10_000, 'one refresh job per expiring integration')

  const sample = await world.queues.tokens.getJobs(['delayed'], 0, 999)
  t.ok(sample.every((j) => j.name === 'refresh' && /^refresh-[A-Za-z0-9_-]+$/.test(j.id ?? '')), 'job ids refresh-<client>, no colon')
  const delays = sample.map((j) => j.opts.delay ?? 0)
  t.ok(delays.every((d) => d >= 0 && d <= world.config.tokens.sweepEveryMs), 'each within the next sweep interval')
  t.ok(Math.max(...delays) >= 15_000, `spread out: delays in a sample of 1,000 reach ${Math.max(...delays)} ms`)

  await runtime.tokenSweep.run()
  const again = await world.queues.tokens.getJobCounts('delayed', 'waiting')
  t.equal((again.delayed ?? 0) + (again.waiting ?? 0), 10_000, 'a second sweep queues nothing twice')
})

t.test('a scheduled refresh renews a token before it expires, through the one refresh path', async (t) => {
  const world = await createWorld(t, { TOKEN_SWEEP_EVERY_SECONDS: '5' })
  const integration = await world.connect('soon', { locationId: SUNRISE })
  await world.db.db.execute(sql`update ghl_integrations set expires_at = now() + interval '30 minutes' where id = ${integration.id}`)
  await world.startInProcess()
  const renewed = await eventually('the token renewed', async () => {
    const current = await world.integrations.findByClient('soon')
    return current && current.tokenVersion > integration.tokenVersion ? current : undefined
  })
  t.ok(renewed.expiresAt.getTime() > Date.now() + 20 * 3600_000, 'good for another day')
  t.equal(world.sandbox.control.stats().refreshes, 1)
  t.equal(world.sandbox.control.stats().invalidGrants, 0)
})
