import { randomUUID } from 'node:crypto'
import t from 'tap'
import { sql, type OutboxMessage } from '@ghl-connect/db'
import { jobIds } from '@ghl-connect/queues'
import { createWorld, eventually, JANE, settled, statusCounts, SUNRISE, type World } from './helper.ts'

t.test('Redis flushed after intake and before sending: the reconciler re-queues and every SMS is sent once', async (t) => {
  const world = await createWorld(t, { OUTBOX_RECONCILE_EVERY_SECONDS: '1', OUTBOX_RECONCILE_AFTER_SECONDS: '0' })
  await world.connect('clinic', { locationId: SUNRISE })
  const ids: string[] = []
  for (let i = 0; i < 25; i++) ids.push((await world.submit('clinic', { contactId: JANE }, `Before the flush ${i}`)).id)
  t.equal(await world.queues.sms.count(), 25)

  const deleted = await world.flushRedis()
  t.ok(deleted > 0, `deleted this file's ${deleted} Redis keys`)
  t.equal(await world.queues.sms.count(), 0, 'the jobs are gone; the outbox rows are not')

  await world.startInProcess()
  await eventually('all 25 sent', async () => (await statusCounts(world)).sent === 25)
  const bodies = world.sandbox.control.messages(SUNRISE).map((m) => m.body)
  t.equal(bodies.length, 25)
  t.equal(new Set(bodies).size, 25, 'each once')
})

t.test('an SMS whose job ended in an error is re-queued; one left `sending` by a dead worker that never reached HighLevel is asked about, then sent once', async (t) => {
  const world = await createWorld(t, { OUTBOX_RECONCILE_EVERY_SECONDS: '1', OUTBOX_RECONCILE_AFTER_SECONDS: '0', GHL_HTTP_TIMEOUT_MS: '1000', SMS_VERIFY_SETTLE_SECONDS: '1' }, { record: true })
  await world.connect('clinic', { locationId: SUNRISE })

  // A job that failed for a reason of ours (say PostgreSQL was down) while its row stayed queued.
  const { message: stuck } = await world.messages.insertOnce({ clientId: 'clinic', integrationId: null, idempotencyKey: null, to: { contactId: JANE }, body: 'Job failed' })
  await world.queues.sms.add('send', { messageId: stuck.id }, { jobId: jobIds.smsSend(stuck.id) })
  const job = await world.queues.sms.getJob(jobIds.smsSend(stuck.id))
  await world.queues.sms.pause()
  const { Worker } = await import('bullmq')
  const connection = world.redis.duplicate()
  const failing = new Worker('sms', async () => { throw new Error('database unavailable') }, { connection, prefix: world.keys.bullPrefix('sms') })
  await world.queues.sms.resume()
  await eventually('the job to fail', async () => (await job!.getState()) === 'failed')
  await failing.close()
  connection.disconnect()

  // A worker died between marking `sending` and the POST, and Redis lost its job.
  const orphan = await orphanedMidSend(world, 'Orphaned mid-send')

  await world.startInProcess()
  t.match(await settled(world, stuck.id), { status: 'sent' })
  t.match(await settled(world, orphan.id), { status: 'sent', errorCode: null })
  t.equal(world.sandbox.control.messages().filter((m) => m.body === 'Orphaned mid-send').length, 1, 'sent exactly once')
  t.ok(world.sandbox.control.recorded.some((e) => e.url.startsWith(`/conversations/messages/export?locationId=${SUNRISE}&contactId=${JANE}`)), 'HighLevel was asked first')
})

t.test('a row left `sending` by a dead worker whose SMS did reach HighLevel: recorded sent with HighLevel\'s ids, not delivery_unknown, not sent again', async (t) => {
  const world = await createWorld(t, { OUTBOX_RECONCILE_EVERY_SECONDS: '1', OUTBOX_RECONCILE_AFTER_SECONDS: '0', GHL_HTTP_TIMEOUT_MS: '1000' })
  await world.connect('clinic', { locationId: SUNRISE })
  const orphan = await orphanedMidSend(world, 'Delivered, then the worker died')
  // What the dead worker's POST did: HighLevel took it.
  const taken = await sendThroughHighLevel(world, 'Delivered, then the worker died')

  await world.startInProcess()
  t.match(await settled(world, orphan.id), { status: 'sent', ghlMessageId: taken.messageId, ghlConversationId: taken.conversationId, errorCode: null })
  t.equal(world.sandbox.control.messages().filter((m) => m.body === 'Delivered, then the worker died').length, 1, 'never sent a second time')
})

t.test('two messages with the same text to the same contact, both left sending, only one taken by HighLevel: one recorded with its id, the other sent', async (t) => {
  const world = await createWorld(t, { OUTBOX_RECONCILE_EVERY_SECONDS: '1', OUTBOX_RECONCILE_AFTER_SECONDS: '0', GHL_HTTP_TIMEOUT_MS: '1000', SMS_VERIFY_SETTLE_SECONDS: '1' })
  await world.connect('clinic', { locationId: SUNRISE })
  const older = await orphanedMidSend(world, 'Same reminder', { startedSecondsAgo: 61 })
  const younger = await orphanedMidSend(world, 'Same reminder', { startedSecondsAgo: 60 })
  const taken = await sendThroughHighLevel(world, 'Same reminder')

  await world.startInProcess()
  const [a, b] = [await settled(world, older.id), await settled(world, younger.id)]
  t.match(a, { status: 'sent', ghlMessageId: taken.messageId }, 'the older one is judged first and takes the SMS HighLevel has')
  t.match(b, { status: 'sent' })
  t.not(b.ghlMessageId, taken.messageId, 'the younger one does not take the same SMS for its own')
  t.equal(world.sandbox.control.messages().filter((m) => m.body === 'Same reminder').length, 2, 'two asked for, two sent')
})

t.test('HighLevel cannot be asked: asked again and again, and delivery_unknown only after SMS_VERIFY_FOR_SECONDS', async (t) => {
  const world = await createWorld(t, { OUTBOX_RECONCILE_EVERY_SECONDS: '1', OUTBOX_RECONCILE_AFTER_SECONDS: '0', GHL_HTTP_TIMEOUT_MS: '1000', SMS_VERIFY_FOR_SECONDS: '8' }, { record: true })
  await world.connect('clinic', { locationId: SUNRISE })
  world.sandbox.control.setFaults({ errorRate: 1, errorStatus: 503 }, SUNRISE)
  const orphan = await orphanedMidSend(world, 'Nobody can tell', { startedSecondsAgo: 2 })
  const startedAt = (await world.messages.findById(orphan.id))!.attemptStartedAt!.getTime()

  await world.startInProcess()
  const row = await settled(world, orphan.id)
  t.match(row, { status: 'failed', errorCode: 'delivery_unknown', errorMessage: /could not be asked for 8 s.*not sent again to avoid a duplicate/ })
  t.ok(row.updatedAt.getTime() - startedAt >= 8000, `not given up before SMS_VERIFY_FOR_SECONDS (${row.updatedAt.getTime() - startedAt} ms after the attempt began)`)
  const asked = world.sandbox.control.recorded.filter((e) => e.url.startsWith('/conversations/messages/export'))
  // How many times fits in 8 s depends on the backoff and the machine's load; what matters is that it was asked again, not given up on at once.
  t.ok(asked.length >= 2, `asked again later, ${asked.length} times`)
  t.equal(world.sandbox.control.messages().length, 0, 'never sent while it could not be known')
})

t.test('HighLevel unreachable for a while, then answering: the SMS it took is found and recorded sent', async (t) => {
  const world = await createWorld(t, { OUTBOX_RECONCILE_EVERY_SECONDS: '1', OUTBOX_RECONCILE_AFTER_SECONDS: '0', GHL_HTTP_TIMEOUT_MS: '1000' }, { record: true })
  await world.connect('clinic', { locationId: SUNRISE })
  const orphan = await orphanedMidSend(world, 'Found once HighLevel is back')
  const taken = await sendThroughHighLevel(world, 'Found once HighLevel is back')
  world.sandbox.control.setFaults({ errorRate: 1, errorStatus: 502 }, SUNRISE)
  await world.startInProcess()
  await eventually('HighLevel asked twice', () => world.sandbox.control.recorded.filter((e) => e.url.startsWith('/conversations/messages/export')).length >= 2)
  t.equal((await world.messages.findById(orphan.id))?.status, 'sending', 'still sending while nobody can tell')
  world.sandbox.control.clearFaults()
  t.match(await settled(world, orphan.id), { status: 'sent', ghlMessageId: taken.messageId })
  t.equal(world.sandbox.control.messages().length, 1)
})

t.test('a stale attempt\'s write does not overwrite a newer outcome', async (t) => {
  const world = await createWorld(t)
  const { message } = await world.messages.insertOnce({ clientId: 'clinic', integrationId: null, idempotencyKey: null, to: { contactId: JANE }, body: 'Fenced' })
  const attempt = (id: string) => ({ attemptId: id, contactId: JANE, startedAt: new Date() })
  const [stale, newer] = [randomUUID(), randomUUID()]
  t.ok(await world.messages.markSending(message.id, attempt(stale)))
  // The stale attempt was judged unsent (HighLevel had no such SMS) and a newer one took over and was sent.
  t.ok(await world.messages.backToQueued(message.id, stale, { countAttempt: true }))
  t.ok(await world.messages.markSending(message.id, attempt(newer)))
  t.ok(await world.messages.markSent(message.id, newer, { messageId: 'ghl-newer', conversationId: 'conv' }))

  t.equal(await world.messages.markSent(message.id, stale, { messageId: 'ghl-stale', conversationId: 'conv' }), null, 'a late "sent" of the stale attempt')
  t.equal(await world.messages.markFailed(message.id, { code: 'ghl_unavailable', message: 'late' }, { attemptId: stale, countAttempt: true }), null, 'a late "failed"')
  t.equal(await world.messages.backToQueued(message.id, stale, { countAttempt: true }), null, 'a late "back to queued"')
  t.match(await world.messages.findById(message.id), { status: 'sent', ghlMessageId: 'ghl-newer', attemptId: newer, attempts: 2 })

  // A row reported failed (delivery_unknown) is not flipped by the late answer of the attempt it was about.
  const { message: other } = await world.messages.insertOnce({ clientId: 'clinic', integrationId: null, idempotencyKey: null, to: { contactId: JANE }, body: 'Failed first' })
  const slow = randomUUID()
  t.ok(await world.messages.markSending(other.id, attempt(slow)))
  t.ok(await world.messages.markFailed(other.id, { code: 'delivery_unknown', message: 'unknown' }, { attemptId: slow, countAttempt: true }))
  t.ok(await world.messages.markSending(other.id, attempt(randomUUID())) === false, 'a failed message is not sent again')
  t.equal(await world.messages.markSent(other.id, randomUUID(), { messageId: 'ghl-x', conversationId: null }), null)
  t.match(await world.messages.findById(other.id), { status: 'failed', errorCode: 'delivery_unknown' })
})

/** What a worker that died mid-send leaves: the row `sending` as an attempt that began a while ago, and no job. */
async function orphanedMidSend (world: World, body: string, { startedSecondsAgo = 60 } = {}): Promise<OutboxMessage> {
  const { message } = await world.messages.insertOnce({ clientId: 'clinic', integrationId: null, idempotencyKey: null, to: { contactId: JANE }, body })
  await world.db.db.execute(sql`update sms_messages set status = 'sending', attempt_id = ${randomUUID()}, ghl_contact_id = ${JANE},
    attempt_started_at = now() - make_interval(secs => ${startedSecondsAgo}), updated_at = now() - make_interval(secs => ${startedSecondsAgo})
    where id = ${message.id}`)
  return message
}

/** An SMS HighLevel took (the POST a dead worker made). */
async function sendThroughHighLevel (world: World, body: string): Promise<{ messageId: string, conversationId: string }> {
  const { access_token: token } = world.sandbox.control.issueTokens({ locationId: SUNRISE })
  const response = await fetch(`${world.sandbox.url}/conversations/messages`, {
    method: 'POST',
    headers: { version: '2021-04-15', authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'SMS', contactId: JANE, message: body }),
  })
  return await response.json() as { messageId: string, conversationId: string }
}

t.test('an SMS HighLevel accepted while PostgreSQL was down is recorded as sent from the kept answer, not failed or sent again', async (t) => {
  const world = await createWorld(t, { OUTBOX_RECONCILE_EVERY_SECONDS: '1', OUTBOX_RECONCILE_AFTER_SECONDS: '0', GHL_HTTP_TIMEOUT_MS: '1000' })
  await world.connect('clinic', { locationId: SUNRISE })
  const { message } = await world.messages.insertOnce({ clientId: 'clinic', integrationId: null, idempotencyKey: null, to: { contactId: JANE }, body: 'Sent during the outage' })
  // What the attempt left behind: the row still `sending`, HighLevel's answer kept in Redis.
  const attemptId = randomUUID()
  await world.db.db.execute(sql`update sms_messages set status = 'sending', attempt_id = ${attemptId}, ghl_contact_id = ${JANE},
    attempt_started_at = now() - interval '1 minute', updated_at = now() - interval '1 minute' where id = ${message.id}`)
  const { SentReceipts } = await import('../src/sms/sent-receipts.ts')
  await new SentReceipts(world.redis, world.keys).remember(message.id, { attemptId, messageId: 'ghl-msg-1', conversationId: 'ghl-conv-1' })

  await world.startInProcess()
  t.match(await settled(world, message.id), { status: 'sent', ghlMessageId: 'ghl-msg-1', ghlConversationId: 'ghl-conv-1', errorCode: null })
  t.equal(world.sandbox.control.messages().length, 0, 'nothing was posted again')
})
