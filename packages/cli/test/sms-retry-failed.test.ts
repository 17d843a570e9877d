import t from 'tap'
import { Worker } from 'bullmq'
import { jobIds } from '@ghl-connect/queues'
import { createWorld, type World } from './helper.ts'

async function failedSms (w: World, clientId: string, key: string, code = 'ghl_unavailable') {
  const { message } = await w.messages.insertOnce({ clientId, integrationId: null, idempotencyKey: key, to: { contactId: 'sbxContact0000000001' }, body: 'Your appointment is tomorrow.' })
  await w.messages.recordAttempt(message.id, { code, message: 'HighLevel answered 503' })
  await w.messages.markFailed(message.id, { code, message: 'gave up after retrying for 1h' })
  return message.id
}

t.test('sms retry-failed queues the client\'s failed SMS again with a fresh retry budget; older ones, other clients\' and delivery_unknown ones stay failed', async (t) => {
  const w = await createWorld(t)
  const { queues, dispatcher, database } = w.core
  const recent = await failedSms(w, 'client-1', 'a')
  // Its first job ran and is still kept by BullMQ: its id would make a plain add a no-op.
  await dispatcher.enqueue({ id: recent, clientId: 'client-1' })
  const connection = w.core.redis.duplicate()
  const worker = new Worker('sms', async () => {}, { connection, prefix: w.core.keys.bullPrefix('sms') })
  await new Promise<void>((resolve) => worker.on('completed', () => resolve()))
  await worker.close()
  connection.disconnect()
  t.equal(await queues.sms.getJobState(jobIds.smsSend(recent)), 'completed')
  const unknown = await failedSms(w, 'client-1', 'b', 'delivery_unknown')
  const old = await failedSms(w, 'client-1', 'c')
  await database.sql`update sms_messages set created_at = now() - interval '3 days' where id = ${old}`
  const otherClient = await failedSms(w, 'client-2', 'd')

  const run = await w.ghl(['sms', 'retry-failed', 'client-1'])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /^1 failed SMS of client-1 since \S+ queued again\.\n1 left failed as delivery_unknown: HighLevel may have sent them; check the conversation before sending anew\.\nNote: client-1 is not connected, so these will likely fail again until it connects GoHighLevel again\.\n$/)

  const row = await w.messages.findById(recent)
  t.match(row, { status: 'queued', attempts: 0, retryingSince: null, errorCode: null, errorMessage: null, attemptId: null })
  const job = await queues.sms.getJob(jobIds.smsSend(recent))
  t.equal(await job?.getState(), 'prioritized', 'a new job waits for the worker (BullMQ names a waiting job with a priority "prioritized")')
  t.same(job?.data, { messageId: recent })
  for (const id of [unknown, old, otherClient]) t.equal((await w.messages.findById(id))?.status, 'failed')
  t.equal(await queues.sms.getJobState(jobIds.smsSend(otherClient)), 'unknown')

  const wider = await w.ghl(['sms', 'retry-failed', 'client-1', '--since', '7d', '--json'])
  t.match(JSON.parse(wider.stdout), { clientId: 'client-1', requeued: 1, queued: 1, notQueued: 0, skippedUnknown: 1, messageIds: [old] }, '--since 7d reaches the 3-day-old one')
  t.equal((await w.ghl(['sms', 'retry-failed', 'client-1', '--since', '7d'])).stdout.split('\n')[0]!.startsWith('0 failed SMS'), true, 'nothing left to retry')
})

t.test('two runs of sms retry-failed at once queue each failed SMS exactly once', async (t) => {
  const w = await createWorld(t)
  const ids: string[] = []
  for (let i = 0; i < 30; i++) ids.push(await failedSms(w, 'client-busy', `k${i}`))
  const [a, b] = await Promise.all([
    w.ghl(['sms', 'retry-failed', 'client-busy', '--json']),
    w.ghl(['sms', 'retry-failed', 'client-busy', '--json']),
  ])
  const ra = JSON.parse(a.stdout)
  const rb = JSON.parse(b.stdout)
  t.equal(ra.requeued + rb.requeued, 30, 'the two runs together report each message once')
  t.same([...ra.messageIds, ...rb.messageIds].sort(), [...ids].sort())
  t.equal(await w.core.queues.sms.getJobCountByTypes('wait', 'prioritized'), 30)
  t.equal(await w.core.redis.get(w.core.keys.smsBacklog('client-busy')), '30', 'each message was queued once (the fairness backlog counts every enqueue)')
})

t.test('sms retry-failed refuses a bad --since or a missing client id with exit 2 and a sentence; takes an ISO time', async (t) => {
  const w = await createWorld(t)
  const bad = await w.ghl(['sms', 'retry-failed', 'client-1', '--since', 'yesterday'])
  t.same(bad, { code: 2, stdout: '', stderr: 'ghl: --since "yesterday" is neither an ISO time (2026-11-29T08:00:00Z) nor a duration back from now (90m, 24h, 7d).\n' })
  const missing = await w.ghl(['sms', 'retry-failed'])
  t.same(missing, { code: 2, stdout: '', stderr: 'ghl: sms retry-failed needs a client id: `pnpm ghl sms retry-failed <clientId>`.\n' })
  await w.connect('client-1')
  await failedSms(w, 'client-1', 'e')
  t.match(await w.ghl(['sms', 'retry-failed', 'client-1', '--since', '2026-11-29T08:00:00Z']),
    { code: 0, stdout: /^1 failed SMS of client-1 since 2026-11-29T08:00:00\.000Z queued again\.\n$/ }, 'an ISO time is a --since; a connected client needs no note')
})

t.test('sms retry-failed takes failed email too, says how many of each, and --channel takes one', async (t) => {
  const w = await createWorld(t)
  const sms = await failedSms(w, 'client-mix', 's1')
  const { message } = await w.messages.insertOnce({
    clientId: 'client-mix', integrationId: null, idempotencyKey: 'e1', to: { email: 'jane@example.com' }, body: 'Hello',
    email: { subject: 'Hi', bodyIsHtml: false, options: {} },
  })
  await w.messages.markFailed(message.id, { code: 'ghl_unavailable', message: 'gave up' })
  const onlyEmail = await w.ghl(['sms', 'retry-failed', 'client-mix', '--channel', 'email', '--json'])
  t.match(JSON.parse(onlyEmail.stdout), { requeued: 1, byChannel: { sms: 0, email: 1 }, messageIds: [message.id] })
  t.equal((await w.messages.findById(sms))?.status, 'failed', '--channel email leaves the SMS')
  await w.messages.markFailed(message.id, { code: 'ghl_unavailable', message: 'gave up again' })
  const both = await w.ghl(['sms', 'retry-failed', 'client-mix'])
  t.match(both.stdout, /^2 failed messages \(1 SMS, 1 email\) of client-mix since /)
  const bad = await w.ghl(['sms', 'retry-failed', 'client-mix', '--channel', 'fax'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--channel must be one of sms, email/)
})
