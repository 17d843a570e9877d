/**
 * CRM events are durable: recorded in PostgreSQL with the change they report, under an id that
 * names it, and delivered at least once however Redis behaves.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { crmEventOf, smsEventIds } from '@ghl-connect/db'
import { jobIds } from '@ghl-connect/queues'
import { startCrmReceiver } from '@ghl-connect/testing'
import { createWorld, eventually, freePort, JANE, settled, SUNRISE } from './helper.ts'

/** Fast reconciling, as a deployment may configure it. */
const FAST_RECONCILE = { OUTBOX_RECONCILE_EVERY_SECONDS: '1', OUTBOX_RECONCILE_AFTER_SECONDS: '0' }

/** The CRM's webhook (the shared receiver), torn down with the test. */
async function crmWebhook (t: Test) {
  const crm = await startCrmReceiver()
  t.teardown(() => crm.close())
  return crm
}

/** A redis-server of this test's own: it can be made to refuse writes without touching anyone else's. */
async function ownRedis (t: Test) {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  t.teardown(() => { child.kill('SIGKILL') })
  const url = `redis://127.0.0.1:${port}`
  const admin = new Redis(url, { maxRetriesPerRequest: 0 })
  admin.on('error', () => {})
  t.teardown(() => { admin.disconnect() })
  await eventually('redis-server to answer', () => admin.ping().then((pong) => pong === 'PONG', () => false))
  return {
    url,
    // A primary that needs a replica to write refuses every write ("NOREPLICAS") and keeps its data.
    refuseWrites: async () => { await admin.config('SET', 'min-replicas-to-write', '1') },
    acceptWrites: async () => { await admin.config('SET', 'min-replicas-to-write', '0') },
  }
}

t.test('the same event published twice is recorded once and delivered once under its id', async (t) => {
  const crm = await crmWebhook(t)
  const world = await createWorld(t, crm.env)
  const subject = { integrationId: randomUUID(), clientId: 'twice', locationId: SUNRISE }
  const event = crmEventOf.connectionBroken(subject, 'needs_reauth', 3)
  await world.crmEvents.publish(event)
  await world.crmEvents.publish(crmEventOf.connectionBroken(subject, 'needs_reauth', 3))
  const [rows] = await world.db.sql<Array<{ n: number }>>`select count(*)::int as n from crm_events where id = ${event.id}`
  t.equal(rows?.n, 1, 'one row')

  await world.startInProcess()
  await eventually('the event delivered', () => crm.count(event.id) > 0)
  // Published again after its delivery (a retried job, a second worker): still nothing new for the CRM.
  await world.crmEvents.publish(crmEventOf.connectionBroken(subject, 'needs_reauth', 3))
  const later = crmEventOf.connectionRecovered(subject, 3)
  await world.crmEvents.publish(later)
  await eventually('a later event delivered', () => crm.count(later.id) > 0)
  t.equal(crm.count(event.id), 1, 'delivered once')
  t.equal(event.id, `connection.broken-${subject.integrationId}-needs_reauth-3`)
  const [row] = await world.db.sql`select status, attempts, delivered_at is not null as delivered from crm_events where id = ${event.id}`
  t.same({ ...row }, { status: 'delivered', attempts: 1, delivered: true })
})

t.test('a worker killed after markSent but before it queued the event: the events reconciler still delivers sms.sent', async (t) => {
  const crm = await crmWebhook(t)
  const world = await createWorld(t, { ...crm.env, ...FAST_RECONCILE })
  await world.connect('clinic')
  // What a worker leaves behind when it dies right after the commit of `sent`: the row and its
  // event in PostgreSQL, no job in Redis.
  const { message } = await world.messages.insertOnce({ clientId: 'clinic', integrationId: null, idempotencyKey: null, to: { contactId: JANE }, body: 'Killed after commit' })
  const attemptId = randomUUID()
  t.ok(await world.messages.markSending(message.id, { attemptId, contactId: JANE, startedAt: new Date() }))
  const row = await world.messages.markSent(message.id, attemptId, { messageId: 'ghl-msg-1', conversationId: 'ghl-conv-1' })
  t.equal(row?.status, 'sent')
  t.equal(await world.queues.crmEvents.getJobState(jobIds.crmEvent(smsEventIds.sent(message.id))), 'unknown', 'no delivery queued')

  await world.startInProcess()
  const event = await eventually('sms.sent delivered', () => crm.ofType('sms.sent').find((e) => e.id === smsEventIds.sent(message.id)))
  t.match(event, { type: 'sms.sent', data: { messageId: message.id, clientId: 'clinic', ghlMessageId: 'ghl-msg-1', conversationId: 'ghl-conv-1' } })
})

t.test('only the outcome write that wins records its event: a stale attempt\'s late outcome records none', async (t) => {
  const crm = await crmWebhook(t)
  const world = await createWorld(t, crm.env)
  const attempt = (id: string) => ({ attemptId: id, contactId: JANE, startedAt: new Date() })
  const eventsOf = async (messageId: string) => (await world.db.sql<Array<{ id: string }>>`
    select id from crm_events where id in (${smsEventIds.sent(messageId)}, ${smsEventIds.failed(messageId)})`).map((r) => r.id)

  // A newer attempt was sent; the stale one's late "failed" neither changes the row nor adds sms.failed.
  const { message: sent } = await world.messages.insertOnce({ clientId: 'clinic', integrationId: null, idempotencyKey: null, to: { contactId: JANE }, body: 'Newer sent' })
  const [stale, newer] = [randomUUID(), randomUUID()]
  t.ok(await world.messages.markSending(sent.id, attempt(stale)))
  t.ok(await world.messages.backToQueued(sent.id, stale, { countAttempt: true }))
  t.ok(await world.messages.markSending(sent.id, attempt(newer)))
  t.ok(await world.messages.markSent(sent.id, newer, { messageId: 'ghl-newer', conversationId: 'conv' }))
  t.equal(await world.messages.markFailed(sent.id, { code: 'ghl_unavailable', message: 'late' }, { attemptId: stale, countAttempt: true }), null)
  t.same(await eventsOf(sent.id), [smsEventIds.sent(sent.id)], 'sms.sent only')

  // Reported failed (delivery_unknown); the late answer of the attempt it was about adds no sms.sent.
  const { message: failed } = await world.messages.insertOnce({ clientId: 'clinic', integrationId: null, idempotencyKey: null, to: { contactId: JANE }, body: 'Failed first' })
  const slow = randomUUID()
  t.ok(await world.messages.markSending(failed.id, attempt(slow)))
  t.ok(await world.messages.markFailed(failed.id, { code: 'delivery_unknown', message: 'unknown' }, { attemptId: slow, countAttempt: true }))
  t.equal(await world.messages.markSent(failed.id, slow, { messageId: 'ghl-late', conversationId: null }), null)
  t.same(await eventsOf(failed.id), [smsEventIds.failed(failed.id)], 'sms.failed only')
  t.match(await world.messages.findById(failed.id), { status: 'failed', errorCode: 'delivery_unknown', ghlMessageId: null })
})

t.test('an SMS sent while Redis refuses the event job still produces its event once Redis takes writes again', async (t) => {
  const crm = await crmWebhook(t)
  const redis = await ownRedis(t)
  const world = await createWorld(t, { ...crm.env, ...FAST_RECONCILE, REDIS_URL: redis.url })
  await world.connect('clinic')
  // HighLevel takes its time to answer, so Redis can start refusing while the POST is in flight.
  world.sandbox.control.setFaults({ latencyMs: 1500 }, SUNRISE)
  await world.startInProcess()
  const message = await world.submit('clinic', { contactId: JANE }, 'Sent while Redis refuses')
  await eventually('the POST in flight', async () => (await world.messages.findById(message.id))?.status === 'sending')
  await redis.refuseWrites()
  t.teardown(() => redis.acceptWrites().catch(() => {}))

  t.equal((await settled(world, message.id)).status, 'sent', 'the outcome is PostgreSQL\'s, whatever Redis does')
  const [stored] = await world.db.sql`select status from crm_events where id = ${smsEventIds.sent(message.id)}`
  t.equal(stored?.status, 'pending', 'and sms.sent was committed with it')
  // Give the worker time to try (and fail) to queue the delivery: nothing reaches the CRM meanwhile.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(crm.count(smsEventIds.sent(message.id)), 0)

  await redis.acceptWrites()
  const event = await eventually('sms.sent delivered after Redis is back', () => crm.ofType('sms.sent').find((e) => e.id === smsEventIds.sent(message.id)), 90_000)
  t.match(event, { type: 'sms.sent', data: { messageId: message.id, clientId: 'clinic' } })
  t.equal(world.sandbox.control.messages(SUNRISE).filter((m) => m.body === 'Sent while Redis refuses').length, 1, 'and the SMS itself went once')
})
