import t from 'tap'
import { ClientSettingsRepository, type OutboxMessage, type Recipient } from '@ghl-connect/db'
import { createLogger } from '@ghl-connect/logging'
import { OutboxReconciler } from '../src/outbox/outbox-reconciler.ts'
import { createWorld, eventually, JANE, settled, statusCounts, SUNRISE, type World } from './helper.ts'

/** What POST /api/sms does for a message with sendAt / fromNumber: the row, then (when due soon) the delayed job. */
async function schedule (world: World, opts: { sendAt?: Date | null, fromNumber?: string | null, body: string, to?: Recipient, queue?: boolean }): Promise<OutboxMessage> {
  const integration = await world.integrations.findByClient('clinic')
  const { message } = await world.messages.insertOnce({
    clientId: 'clinic', integrationId: integration?.id ?? null, idempotencyKey: null, to: opts.to ?? { contactId: JANE }, body: opts.body,
    sendAt: opts.sendAt ?? null, fromNumber: opts.fromNumber ?? null,
  })
  if (opts.queue !== false) await world.dispatcher.enqueue(message)
  return message
}

const hhmm = (d: Date) => d.toISOString().slice(11, 16)

t.test('1,000 scheduled SMS survive a Redis loss before their time and all go out at their time, exactly once', async (t) => {
  const world = await createWorld(t, { OUTBOX_RECONCILE_EVERY_SECONDS: '1', OUTBOX_RECONCILE_AFTER_SECONDS: '0', GHL_RATE_LIMIT_MAX: '100000', WORKER_CONCURRENCY: '50' })
  world.sandbox.control.setRateLimit({ max: 1_000_000 })
  await world.connect('clinic', { locationId: SUNRISE })
  const inTenMinutes = new Date(Date.now() + 10 * 60_000)
  for (let i = 0; i < 1000; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => schedule(world, { sendAt: inTenMinutes, body: `Scheduled ${i + j}` })))
  }
  t.equal(await world.queues.sms.getDelayedCount(), 1000, 'each waits as a delayed job')

  const deleted = await world.flushRedis()
  t.ok(deleted > 0, `deleted every key of this file's prefix (${deleted}), as a FLUSHALL would`)
  t.equal(await world.queues.sms.count(), 0, 'the jobs are gone; the outbox rows are not')
  // Ten minutes pass: rather than wait, their times come near, spread over ten seconds from 3 s on.
  await world.db.sql`update sms_messages set send_at = now() + interval '3 seconds' + (abs(hashtext(id::text)) % 100) * interval '100 milliseconds'`

  await world.startInProcess()
  await eventually('all 1,000 sent', async () => (await statusCounts(world)).sent === 1000, 120_000)
  const [rows] = await world.db.sql<Array<{ early: number, notOnce: number }>>`
    select count(*) filter (where sent_at < send_at)::int as "early", count(*) filter (where attempts <> 1)::int as "notOnce" from sms_messages`
  t.same(rows, { early: 0, notOnce: 0 }, 'none went before its time, each in one attempt')
  const [late] = await world.db.sql<Array<{ p50: number, max: number }>>`
    select percentile_cont(0.5) within group (order by extract(epoch from sent_at - send_at))::float as p50,
      max(extract(epoch from sent_at - send_at))::float as max from sms_messages`
  t.comment(`sent after their time by ${late?.p50.toFixed(2)} s (median), ${late?.max.toFixed(2)} s at most (1,000 to one location)`)
  const bodies = world.sandbox.control.messages(SUNRISE).map((m) => m.body)
  t.equal(bodies.length, 1000, 'HighLevel got 1,000')
  t.equal(new Set(bodies).size, 1000, 'each exactly once')
})

t.test('the reconciler gives a far-off scheduled SMS no job until its time nears, then a job delayed to its time', async (t) => {
  const world = await createWorld(t)
  await world.connect('clinic', { locationId: SUNRISE })
  const reconciler = new OutboxReconciler(world.messages, world.dispatcher, createLogger({ level: 'silent' }), { queuedForMs: 0, sendingForMs: 60_000, scheduleAheadMs: 15 * 60_000 })
  const twoHours = Date.now() + 2 * 3600_000
  const later = await schedule(world, { sendAt: new Date(twoHours), body: 'In two hours', queue: false })

  t.match(await reconciler.run(), { requeued: 0 }, 'two hours ahead: left in the outbox')
  t.equal(await world.dispatcher.jobState(later.id), 'missing')

  const job = await reconciler.run(twoHours - 10 * 60_000)
  t.match(job, { requeued: 1 }, 'ten minutes before its time: queued')
  const queued = await world.queues.sms.getJob(`sms-${later.id}`)
  t.equal(await queued?.getState(), 'delayed')
  t.ok((queued?.delay ?? 0) > 3600_000, 'delayed to its time, not sent early')
  t.match(await reconciler.run(twoHours - 5 * 60_000), { requeued: 0 }, 'a job already waiting is left alone')
})

t.test('a message cancelled while its job is still queued is never sent, and a cancelled row cannot be marked sending', async (t) => {
  const world = await createWorld(t)
  await world.connect('clinic', { locationId: SUNRISE })
  const cancelled = await schedule(world, { body: 'Cancelled before the worker came' })
  const kept = await schedule(world, { body: 'Sent as usual' })
  t.ok(await world.messages.cancel(cancelled.id), 'cancelled while queued (its job still in Redis)')
  t.equal(await world.messages.cancel(cancelled.id), null, 'cancelling again changes nothing')
  t.equal(await world.messages.markSending(cancelled.id, { attemptId: crypto.randomUUID(), contactId: JANE, startedAt: new Date() }), false, 'the sending transition is only from queued')

  await world.startInProcess()
  await settled(world, kept.id)
  await eventually('the cancelled one\'s job to finish', async () => (await world.dispatcher.jobState(cancelled.id)) === 'completed')
  t.match(await world.messages.findById(cancelled.id), { status: 'cancelled', attempts: 0 })
  t.same(world.sandbox.control.messages(SUNRISE).map((m) => m.body), ['Sent as usual'], 'HighLevel got only the other one')
})

t.test('quiet hours set after intake hold the message at release: its send time moves to their end and nothing is sent', async (t) => {
  const world = await createWorld(t)
  await world.connect('clinic', { locationId: SUNRISE })
  const now = new Date()
  const end = new Date(Math.floor(now.getTime() / 60_000) * 60_000 + 2 * 3600_000)
  await new ClientSettingsRepository(world.db.db).put('clinic', {
    quietHours: { start: hhmm(new Date(now.getTime() - 3600_000)), end: hhmm(end), timeZone: 'UTC' }, defaultFromNumber: null,
  })
  const message = await schedule(world, { body: 'Taken in before the quiet hours were set' })
  t.equal(message.sendAt, null, 'taken in to go at once')

  await world.startInProcess()
  const held = await eventually('the worker to hold it', async () => {
    const row = await world.messages.findById(message.id)
    return row?.sendAt ? row : undefined
  })
  t.match(held, { status: 'queued', attempts: 0 })
  t.equal(held.sendAt?.toISOString(), end.toISOString(), 'to go when the quiet hours end')
  t.equal(await world.queues.sms.getDelayedCount(), 1, 'its job waits until then')
  t.same(world.sandbox.control.messages(), [], 'nothing sent')
})

t.test('fromNumber reaches HighLevel and is recorded; a number the sub-account does not own fails with from_number_invalid naming the setting to fix', async (t) => {
  const world = await createWorld(t)
  await world.connect('clinic', { locationId: SUNRISE })
  world.sandbox.control.updateLocation(SUNRISE, { phoneNumbers: ['+15550100000', '+15550100099'] })
  const good = await schedule(world, { body: 'From the second line', fromNumber: '+15550100099' })
  const refused = await schedule(world, { body: 'From a number not ours', fromNumber: '+15550777777' })

  await world.startInProcess()
  t.match(await settled(world, good.id), { status: 'sent', fromNumber: '+15550100099' })
  const failed = await settled(world, refused.id)
  t.match(failed, { status: 'failed', errorCode: 'from_number_invalid', attempts: 1 })
  t.match(failed.errorMessage, /defaultFromNumber/)
  t.same(world.sandbox.control.messages(SUNRISE).map((m) => [m.body, m.fromNumber]), [['From the second line', '+15550100099']])
})
