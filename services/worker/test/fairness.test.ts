import t from 'tap'
import type { World } from './helper.ts'
import { createWorld, eventually, HARBOR, JANE, SUNRISE } from './helper.ts'

/** 2,000 SMS for the busy tenant, then one for the quiet tenant: the order a person would get them in. */
async function busyThenQuiet (world: World) {
  await world.connect('busy', { locationId: SUNRISE })
  await world.connect('quiet', { locationId: HARBOR })
  // The rows in one statement (the intake's per-request insert is not what this measures), then
  // each queued through the dispatcher in order, as the api does.
  const rows = await world.db.sql<Array<{ id: string, clientId: string }>>`
    insert into sms_messages (client_id, contact_id, body)
    select 'busy', ${JANE}, 'busy ' || g from generate_series(0, 1999) g
    returning id, client_id as "clientId"`
  for (let i = 0; i < rows.length; i += 200) await Promise.all(rows.slice(i, i + 200).map((r) => world.dispatcher.enqueue(r)))
  return world.submit('quiet', { contactId: 'sbxContact0000000003' }, 'quiet one')
}

async function quietPosition (world: World) {
  const worker = await world.startInProcess()
  const startedAt = Date.now()
  const quiet = await eventually('the quiet SMS sent', () => world.sandbox.control.messages(HARBOR)[0])
  const latencyMs = Date.now() - startedAt
  const busyBefore = world.sandbox.control.messages(SUNRISE).filter((m) => m.seq < quiet.seq).length
  return { busyBefore, latencyMs, worker }
}

t.test('a busy tenant\'s 2,000 queued SMS do not hold up a quiet tenant\'s single SMS (rate limits out of the way)', async (t) => {
  const world = await createWorld(t, { GHL_RATE_LIMIT_MAX: '100000', WORKER_CONCURRENCY: '10' })
  world.sandbox.control.setRateLimit({ max: 1_000_000 })
  await busyThenQuiet(world)
  const { busyBefore, latencyMs } = await quietPosition(world)
  t.ok(busyBefore < 100, `the quiet SMS reached HighLevel before the busy tenant's 100th (after ${busyBefore} of them, ${latencyMs} ms after the worker started); FIFO would put it after 2,000`)
})

t.test('with the real limit the busy tenant is paced below HighLevel\'s, and the quiet SMS still goes first', async (t) => {
  const world = await createWorld(t, { WORKER_CONCURRENCY: '10' })
  await busyThenQuiet(world)
  const { busyBefore, latencyMs } = await quietPosition(world)
  t.ok(busyBefore < 100, `the quiet SMS went after ${busyBefore} of the busy tenant's (${latencyMs} ms after the worker started)`)
  // The worker goes through the backlog once, parking each job in the slot it reserved
  // (90 go per 10 s, so well over 1,000 are still parked minutes later).
  const parked = await eventually('the backlog parked in reserved slots', async () => {
    const { delayed } = await world.queues.sms.getJobCounts('delayed')
    return (delayed ?? 0) >= 1000 ? delayed : undefined
  })
  t.ok(parked >= 1000, `${parked} jobs wait for their slot instead of retrying in a loop`)
  // How many requests HighLevel saw per 10 s depends on how late each parked job wakes on a loaded
  // machine, so it is not asserted here: location-rate-limiter.test.ts pins the slots themselves,
  // and `pnpm bench` reports 429s under load.
})
