import t from 'tap'
import { sql } from '@ghl-connect/db'
import { jobIds } from '@ghl-connect/queues'
import { createWorld, eventually, JANE, settled, statusCounts, SUNRISE } from './helper.ts'

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

t.test('an SMS whose job ended in an error is re-queued; one left `sending` by a dead worker is failed as delivery_unknown, not sent again', async (t) => {
  const world = await createWorld(t, { OUTBOX_RECONCILE_EVERY_SECONDS: '1', OUTBOX_RECONCILE_AFTER_SECONDS: '0', GHL_HTTP_TIMEOUT_MS: '1000' })
  await world.connect('clinic', { locationId: SUNRISE })

  // A job that failed for a reason of ours (say PostgreSQL was down) while its row stayed queued.
  const { message: stuck } = await world.messages.insertOnce({ clientId: 'clinic', integrationId: null, idempotencyKey: null, to: { contactId: JANE }, body: 'Job failed' })
  await world.queues.sms.add('send', { messageId: stuck.id }, { jobId: jobIds.smsSend(stuck.id) })
  const job = await world.queues.sms.getJob(jobIds.smsSend(stuck.id))
  await world.queues.sms.pause()
  const { Worker } = await import('bullmq')
  const connection = world.redis.duplicate()
  const failing = new Worker('sms', async () => { throw new Error('database unavailable') }, { connection, prefix: world.keys.bullPrefix })
  await world.queues.sms.resume()
  await eventually('the job to fail', async () => (await job!.getState()) === 'failed')
  await failing.close()
  connection.disconnect()

  // A worker died between marking `sending` and HighLevel's answer, and Redis lost its job.
  const { message: orphan } = await world.messages.insertOnce({ clientId: 'clinic', integrationId: null, idempotencyKey: null, to: { contactId: JANE }, body: 'Orphaned mid-send' })
  await world.db.db.execute(sql`update sms_messages set status = 'sending', updated_at = now() - interval '1 minute' where id = ${orphan.id}`)

  await world.startInProcess()
  t.match(await settled(world, stuck.id), { status: 'sent' })
  t.match(await settled(world, orphan.id), { status: 'failed', errorCode: 'delivery_unknown', errorMessage: /not sent again to avoid a duplicate/ })
  t.equal(world.sandbox.control.messages().filter((m) => m.body === 'Orphaned mid-send').length, 0, 'never sent a second time')
})

t.test('an SMS HighLevel accepted while PostgreSQL was down is recorded as sent from the kept answer, not failed or sent again', async (t) => {
  const world = await createWorld(t, { OUTBOX_RECONCILE_EVERY_SECONDS: '1', OUTBOX_RECONCILE_AFTER_SECONDS: '0', GHL_HTTP_TIMEOUT_MS: '1000' })
  await world.connect('clinic', { locationId: SUNRISE })
  const { message } = await world.messages.insertOnce({ clientId: 'clinic', integrationId: null, idempotencyKey: null, to: { contactId: JANE }, body: 'Sent during the outage' })
  // What the attempt left behind: the row still `sending`, HighLevel's answer kept in Redis.
  await world.db.db.execute(sql`update sms_messages set status = 'sending', updated_at = now() - interval '1 minute' where id = ${message.id}`)
  const { SentReceipts } = await import('../src/sms/sent-receipts.ts')
  await new SentReceipts(world.redis, world.keys).remember(message.id, { messageId: 'ghl-msg-1', conversationId: 'ghl-conv-1' })

  await world.startInProcess()
  t.match(await settled(world, message.id), { status: 'sent', ghlMessageId: 'ghl-msg-1', ghlConversationId: 'ghl-conv-1', errorCode: null })
  t.equal(world.sandbox.control.messages().length, 0, 'nothing was posted again')
})
