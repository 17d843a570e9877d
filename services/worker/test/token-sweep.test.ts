import t from 'tap'
import { sql } from '@ghl-connect/db'
import { createLogger } from '@ghl-connect/logging'
import { createWorkerRuntime } from '../src/runtime.ts'
import { REFRESH_BATCH } from '../src/tokens/token-sweep.ts'
import { createWorld, eventually, HARBOR, SUNRISE } from './helper.ts'

t.test('the sweep queues the tokens expiring within two sweep periods, among 100,000, as a few batched refresh jobs spread with jitter', async (t) => {
  const world = await createWorld(t)
  const { sweepEveryMs, sweepHorizonMs } = world.config.tokens
  t.equal(sweepHorizonMs, 2 * sweepEveryMs, 'the default horizon is two sweep periods')
  // 10,000 expire within the hour, one every 330 ms from 2 minutes on; the rest in 20 hours.
  await world.db.db.execute(sql`
    insert into ghl_integrations (client_id, location_id, access_token, refresh_token, expires_at)
    select 'client-' || g, 'location-' || g, 'sealed', 'sealed',
           -- milliseconds, as every expiry the application writes (a JS Date)
           date_trunc('milliseconds', now() + case when g <= 10000 then interval '2 minutes' + g * interval '330 ms' else interval '20 hours' end)
    from generate_series(1, 100000) g`)
  const due = (await world.db.db.execute<{ n: number }>(sql`
    select count(*)::int as n from ghl_integrations where expires_at < now() + ${sweepHorizonMs / 1000} * interval '1 second'`))[0]!.n
  const runtime = createWorkerRuntime(world.config, createLogger({ level: 'silent' }))
  t.teardown(runtime.close)

  const first = await runtime.tokenSweep.run()
  t.ok(Math.abs(first.scanned - due) <= 5, `queued the ${due} due within the horizon (${first.scanned}), none of the 98,000 expiring later`)
  t.equal(first.jobs, Math.ceil(first.scanned / REFRESH_BATCH), `one job per ${REFRESH_BATCH} clients`)
  const jobs = await world.queues.tokens.getJobs(['delayed', 'waiting'], 0, -1)
  t.equal(jobs.length, first.jobs)
  t.ok(jobs.every((j) => j.name === 'refresh-batch'), 'refresh-batch jobs')
  const clients = jobs.flatMap((j) => (j.data as { clientIds: string[] }).clientIds)
  t.equal(new Set(clients).size, first.scanned, 'each due client in exactly one job')
  t.ok(clients.every((c) => Number(c.slice('client-'.length)) <= 10_000), 'only clients whose token expires within the horizon')
  const delays = jobs.map((j) => j.opts.delay ?? 0)
  t.ok(delays.every((d) => d >= 0 && d <= sweepEveryMs), 'each within the next sweep interval')
  t.ok(Math.max(...delays) - Math.min(...delays) >= 30_000, `spread out: delays from ${Math.min(...delays)} to ${Math.max(...delays)} ms`)
})

t.test('a batch of scheduled refreshes renews each token before it expires, through the one refresh path', async (t) => {
  const world = await createWorld(t, { TOKEN_SWEEP_EVERY_SECONDS: '5' })
  const soon = await world.connect('soon', { locationId: SUNRISE })
  const later = await world.connect('later', { locationId: HARBOR })
  await world.db.db.execute(sql`update ghl_integrations set expires_at = now() + interval '8 minutes' where id in (${soon.id}, ${later.id})`)
  await world.startInProcess()
  for (const [clientId, before] of [['soon', soon], ['later', later]] as const) {
    const renewed = await eventually(`${clientId}'s token renewed`, async () => {
      const current = await world.integrations.findByClient(clientId)
      return current && current.tokenVersion > before.tokenVersion ? current : undefined
    })
    t.ok(renewed.expiresAt.getTime() > Date.now() + 20 * 3600_000, `${clientId}: good for another day`)
  }
  t.equal(world.sandbox.control.stats().refreshes, 2, 'one refresh each')
  t.equal(world.sandbox.control.stats().invalidGrants, 0)
})
