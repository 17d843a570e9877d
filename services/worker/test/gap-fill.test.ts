/**
 * Gap filling and the delivery-status timeout, run directly (one run at a time, so each run's
 * effect is seen): HighLevel is the sandbox, whose message webhooks are all dropped here, so
 * what reaches the events outbox came from its message export or the message by id.
 */
import t, { type Test } from 'tap'
import { crmEventOf } from '@ghl-connect/db'
import { createLogger } from '@ghl-connect/logging'
import { startCrmReceiver } from '@ghl-connect/testing'
import { createWorkerRuntime, type WorkerRuntime } from '../src/runtime.ts'
import { createWorld, eventually, HARBOR, JANE, settled, SUNRISE, type World } from './helper.ts'

/** Sends `bodies` to Jane through a real worker, stopped once they are sent. */
async function sendAll (world: World, bodies: string[]) {
  const worker = await world.startInProcess()
  const rows = []
  for (const body of bodies) rows.push(await settled(world, (await world.submit('clinic', { contactId: JANE }, body)).id))
  await worker.stop()
  return rows
}

/** A worker runtime whose gap-fill job the test runs itself (no processors, no schedulers). */
function gapFillRuntime (t: Test, world: World, env: Record<string, string> = {}): WorkerRuntime {
  const runtime = createWorkerRuntime({ ...world.config, worker: { ...world.config.worker, gapFill: { ...world.config.worker.gapFill, ...gapFillOf(env) } } },
    createLogger({ level: 'silent', name: 'gap-fill-test' }))
  t.teardown(() => runtime.close())
  return runtime
}
const gapFillOf = (env: Record<string, string>) => ({
  // The messages here are seconds old: none is left to a webhook still on its way.
  graceMs: 0,
  ...(env.callsPerDay ? { callsPerDay: Number(env.callsPerDay) } : {}),
  ...(env.deliveryTimeoutMs ? { deliveryTimeoutMs: Number(env.deliveryTimeoutMs) } : {}),
})

async function eventIds (world: World): Promise<string[]> {
  return (await world.db.sql<Array<{ id: string }>>`select id from crm_events order by id`).map((r) => r.id)
}

t.test('a reply and delivery statuses no webhook brought are found in the export: the webhook\'s events with its ids, once however often it runs', async (t) => {
  const crm = await startCrmReceiver()
  t.teardown(() => crm.close())
  const world = await createWorld(t, crm.env)
  const { control } = world.sandbox
  // Every message webhook is lost on the way (HighLevel retries none).
  control.configureMessageWebhooks({ webhookUrl: 'http://127.0.0.1:9/unreachable', auto: true, delayMs: 0, failureRatio: 0.5, dropRatio: 1 })
  await world.connect('clinic', { locationId: SUNRISE })
  const [first, second] = await sendAll(world, ['Reminder one', 'Reminder two'])
  await eventually('both delivery reports due', () => control.messageWebhookLog().filter((w) => w.type === 'OutboundMessage').length === 2)
  const { message: reply } = await control.contactReplies({ contactId: JANE, body: 'See you then' })
  t.equal(world.sandbox.control.stats().messageWebhooksDropped, 3, 'the sandbox dropped all three webhooks')
  const statusOf = new Map(control.messages().map((m) => [m.messageId, m.status]))

  const runtime = gapFillRuntime(t, world)
  const run = await runtime.gapFillJob.run()
  // The sending worker's own scheduled run may have found a status already: what counts is what the outbox holds.
  t.match(run, { locations: 1, replies: 1 })
  const expected = [
    `sms.delivery-${first!.id}-${statusOf.get(first!.ghlMessageId!)}`,
    `sms.delivery-${second!.id}-${statusOf.get(second!.ghlMessageId!)}`,
    crmEventOf.smsReceived({ clientId: 'clinic', contactId: JANE, phone: null, body: '', conversationId: null, messageId: reply.messageId, receivedAt: new Date() }).id,
  ]
  t.same(new Set(statusOf.values()), new Set(['delivered', 'failed']), 'one delivered, one failed')
  const ids = await eventIds(world)
  for (const id of expected) t.ok(ids.includes(id), `${id} recorded`)
  const [received] = await world.db.sql<Array<{ payload: Record<string, unknown> }>>`select payload from crm_events where type = 'sms.received'`
  t.match(received!.payload, { clientId: 'clinic', contactId: JANE, messageId: reply.messageId, body: 'See you then', phone: /^\+1/ }, 'the same payload the webhook makes, number included')
  t.same((await world.messages.findById(first!.id))?.deliveryStatus, statusOf.get(first!.ghlMessageId!), 'the outbox row holds the status')

  const again = await runtime.gapFillJob.run()
  t.match(again, { replies: 0, statuses: 0 }, 'a second run finds nothing new')
  t.same(await eventIds(world), ids, 'and records nothing')
  t.equal(world.sandbox.control.stats().contactReads, 1, 'the replying contact was read once')
})

t.test('a late webhook after gap filling, and gap filling after the webhook: one event', async (t) => {
  const crm = await startCrmReceiver()
  t.teardown(() => crm.close())
  const world = await createWorld(t, crm.env)
  const { control } = world.sandbox
  control.configureMessageWebhooks({ webhookUrl: 'http://127.0.0.1:9/unreachable', dropRatio: 1 })
  await world.connect('clinic', { locationId: SUNRISE })
  const [sms] = await sendAll(world, ['Reminder'])
  await control.contactReplies({ contactId: JANE, body: 'Yes' })
  await control.reportDelivery(sms!.ghlMessageId!, 'delivered')
  const runtime = gapFillRuntime(t, world)
  await runtime.gapFillJob.run()
  const before = await eventIds(world)
  // The webhooks arrive after all, through the path the api takes.
  const [received] = await world.db.sql<Array<{ payload: { messageId: string, receivedAt: string, conversationId: string } }>>`select payload from crm_events where type = 'sms.received'`
  const integration = (await world.integrations.findByClient('clinic'))!
  t.equal(await runtime.messageReports.replySeen(integration, {
    contactId: JANE, messageId: received!.payload.messageId, conversationId: received!.payload.conversationId, body: 'Yes', receivedAt: new Date(received!.payload.receivedAt),
  }), 'already_known', 'the late reply webhook changes nothing')
  t.match(await runtime.messageReports.deliveryStatusSeen(integration, { ghlMessageId: sms!.ghlMessageId!, status: 'delivered', errorCode: null, errorMessage: null, reportedAt: new Date() }),
    { kind: 'unchanged' }, 'the late delivery webhook changes nothing')
  t.same(await eventIds(world), before, 'no second event')
})

t.test('a status still pending past the timeout: asked for by id once, then sms.delivery unknown; a later report of HighLevel\'s replaces it', async (t) => {
  const crm = await startCrmReceiver()
  t.teardown(() => crm.close())
  const world = await createWorld(t, crm.env)
  const { control } = world.sandbox
  control.configureMessageWebhooks({ webhookUrl: 'http://127.0.0.1:9/unreachable' })
  await world.connect('clinic', { locationId: SUNRISE })
  const [quiet, told] = await sendAll(world, ['Never reported', 'Reported, webhook lost'])
  // HighLevel has a status for the second (its webhook was lost), none for the first.
  control.configureMessageWebhooks({ dropRatio: 1 })
  await control.reportDelivery(told!.ghlMessageId!, 'delivered')
  const runtime = gapFillRuntime(t, world, { deliveryTimeoutMs: '1' })
  // The export was read past both already (its pass finds neither): only the timeout can settle them.
  await world.db.sql`insert into gap_fill_cursors (location_id, budget_calls, read_until) values (${SUNRISE}, 100, now() + interval '1 hour')
    on conflict (location_id) do update set read_until = excluded.read_until, pass_from = null, page_cursor = null`
  await eventually('both SMS past the timeout', async () => (await runtime.gapFill.overduePending(new Date(), 10)).length === 2)
  const timedOut = await runtime.gapFillJob.run()
  t.match(timedOut.timedOut, { asked: 2, unknown: 1, reported: 1 })
  t.match(timedOut, { replies: 0, statuses: 0 }, 'the export\'s pass found neither')
  t.equal((await world.messages.findById(quiet!.id))?.deliveryStatus, 'unknown')
  t.equal((await world.messages.findById(told!.id))?.deliveryStatus, 'delivered', 'what HighLevel said when asked is applied')
  t.ok((await eventIds(world)).includes(`sms.delivery-${quiet!.id}-unknown`), 'sms.delivery unknown recorded')
  const lookups = control.stats().messageLookups
  t.equal(lookups, 2, 'one lookup per message')
  await runtime.gapFillJob.run()
  t.equal(control.stats().messageLookups, lookups, 'never asked twice')

  const integration = (await world.integrations.findByClient('clinic'))!
  t.match(await runtime.messageReports.deliveryStatusSeen(integration, { ghlMessageId: quiet!.ghlMessageId!, status: 'delivered', errorCode: null, errorMessage: null, reportedAt: new Date() }),
    { kind: 'applied' }, 'a late report replaces unknown')
  t.ok((await eventIds(world)).includes(`sms.delivery-${quiet!.id}-delivered`))
})

t.test('a quiet location costs nothing; a busy one spends no more than its budget', async (t) => {
  // 0.01% of 200,000: 20 calls a day, a bucket of 2, then one call every 72 minutes (the sending worker's own run spends from it too).
  const world = await createWorld(t, { GAP_FILL_BUDGET_PERCENT: '0.01' })
  const { control } = world.sandbox
  control.configureMessageWebhooks({ webhookUrl: 'http://127.0.0.1:9/unreachable', auto: true, dropRatio: 1 })
  await world.connect('quiet', { locationId: HARBOR })
  await world.connect('clinic', { locationId: SUNRISE })
  const runtime = gapFillRuntime(t, world)
  t.equal(runtime.config.worker.gapFill.callsPerDay, 20)
  for (let i = 0; i < 3; i++) await runtime.gapFillJob.run()
  t.equal(control.stats().messageExports, 0, 'no traffic anywhere: no call')

  await sendAll(world, ['One'])
  for (let i = 0; i < 5; i++) await runtime.gapFillJob.run()
  t.equal(control.stats().messageExports, 2, 'the busy location: its two saved-up calls, then nothing until the bucket refills')
  t.equal(control.stats().contactReads, 0)
})
