/**
 * One SMS can be followed from the CRM's request to HighLevel's answer: the request id the api
 * put in the send job is on the worker's lines about that SMS, beside the job, message and client.
 */
import t from 'tap'
import { Writable } from 'node:stream'
import { loadWorkerConfig } from '@ghl-connect/config'
import { createLogger } from '@ghl-connect/logging'
import { eventually } from '@ghl-connect/testing'
import { jobIds } from '@ghl-connect/queues'
import { startWorker } from '../src/worker.ts'
import { createWorld, JANE, settled, SUNRISE } from './helper.ts'

const world = await createWorld(t)
await world.connect('sunrise', { locationId: SUNRISE })

const lines: Array<Record<string, unknown>> = []
const captured = new Writable({
  write (chunk, _encoding, done) {
    for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>)
    done()
  },
})
const worker = await startWorker(loadWorkerConfig(world.env), createLogger({ level: 'info', name: 'worker-test', destination: captured }))
t.teardown(() => worker.stop())

t.test("the worker's lines about an SMS carry the request id, the job id, the message and the client", async (t) => {
  const text = 'Traced from the CRM'
  const phone = '+15550100002'
  const integration = await world.integrations.findByClient('sunrise')
  const { message } = await world.messages.insertOnce({ clientId: 'sunrise', integrationId: integration?.id ?? null, idempotencyKey: null, to: { phone }, body: text })
  // What POST /api/sms does with `X-Request-Id: crm-req-123` (services/api/test/sms-intake.test.ts checks that part).
  await world.dispatcher.enqueue(message, { requestId: 'crm-req-123' })
  t.equal((await settled(world, message.id)).status, 'sent')

  // The row says sent before the worker's line about it is written: wait for the line.
  const sent = await eventually('the worker\'s sms sent line', async () => lines.find((l) => l.msg === 'sms sent' && l.messageId === message.id))
  t.match(sent, { requestId: 'crm-req-123', jobId: jobIds.smsSend(message.id), messageId: message.id, clientId: 'sunrise' })
  const log = lines.map((l) => JSON.stringify(l)).join('\n')
  t.notOk(log.includes(text), 'no SMS text in the log')
  t.notOk(log.includes(phone), 'no phone number in the log')

  const { message: requeued } = await world.messages.insertOnce({ clientId: 'sunrise', integrationId: integration?.id ?? null, idempotencyKey: null, to: { contactId: JANE }, body: 'Requeued' })
  await world.dispatcher.enqueue(requeued) // as the outbox reconciler does: no request behind it
  t.equal((await settled(world, requeued.id)).status, 'sent')
  const reconciled = await eventually('the worker\'s sms sent line', async () => lines.find((l) => l.msg === 'sms sent' && l.messageId === requeued.id))
  t.match(reconciled, { jobId: jobIds.smsSend(requeued.id), clientId: 'sunrise' })
  t.notOk(reconciled && 'requestId' in reconciled, 'no request id when none was given')
})
